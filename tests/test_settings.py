"""Settings: OTEL_ERRORS_* variables and flags resolved into each component's own config; safe by default; every
invalid setting reported at once; every setting reaches the component that uses it; the README agrees."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from otel_errors.cli.settings import COMPONENTS, SETTINGS, default_of, load
from otel_errors.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_defaults_are_the_documented_quick_start() -> None:
    s = load(environ={})
    assert s.serve.database_url is None and s.receiver.host == s.api.host == "127.0.0.1"
    assert (s.receiver.grpc_port, s.receiver.http_port, s.api.port) == (4317, 4318, 8000)
    assert s.serve.workers == 1 and s.store.retention_days == 90 and s.processor.max_age_seconds == 90 * 86400


def test_environment_then_flags() -> None:
    env = {"OTEL_ERRORS_GRPC_PORT": "5317", "OTEL_ERRORS_WORKERS": "3", "OTEL_ERRORS_DATABASE_URL": "postgresql:///x"}
    s = load(environ=env, overrides={"workers": 2, "api_port": None})
    assert (s.receiver.grpc_port, s.serve.workers, s.api.port, s.serve.database_url) == (
        5317,
        2,
        8000,
        "postgresql:///x",
    )
    assert s.with_database("postgresql:///y").store.database_url == "postgresql:///y"


# A valid value other than the default, per setting: the variable's text and what its fields must become.
_NON_DEFAULT: dict[str, tuple[str, Any]] = {
    "database_url": ("postgresql://db.example/otel", "postgresql://db.example/otel"),
    "data_dir": ("/var/lib/otel-errors", Path("/var/lib/otel-errors")),
    "host": ("::1", "::1"),
    "grpc_port": ("14317", 14317),
    "http_port": ("14318", 14318),
    "api_port": ("18000", 18000),
    "workers": ("3", 3),
    "max_message_bytes": ("2097152", 2097152),
    "max_inflight_bytes": ("536870912", 536870912),
    "max_pending_bytes": ("67108864", 67108864),
    "trace_state_max_bytes": ("1048576", 1048576),
    "retention_days": ("30", 30),
    "credits_attribute": ("agent.credits", "agent.credits"),
    "price_per_credit": ("0.25", 0.25),
    "default_workspace": ("acme", "acme"),
    "hash_user_ids": ("true", True),
    "user_id_hash_key": ("s3cret", "s3cret"),
    "log_level": ("debug", "debug"),
    "auth": ("true", True),
    "viewer_stacktraces": ("full", "full"),
    "rules_refresh_seconds": ("30", 30),
    "allow_unauthenticated_remote": ("true", True),
    "alerts": ("false", False),
    "alert_allow_private_webhooks": ("true", True),
    "alert_webhook_timeout_seconds": ("2.5", 2.5),
    "alert_webhook_attempts": ("3", 3),
    "alert_correlation_minutes": ("30", 30),
    "alert_sweep_seconds": ("2", 2.0),
    "alert_stream_retention_seconds": ("600", 600),
    "stream_heartbeat_seconds": ("5", 5.0),
    "public_url": ("https://errors.example.com", "https://errors.example.com"),
    "allow_pure_python_protobuf": ("true", True),
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_setting_reaches_the_component_that_uses_it(name: str) -> None:
    """Found: OTEL_ERRORS_PRICE_PER_CREDIT was parsed but never reached the API. Each setting's variable must set
    every field it names, in that component's config, and nothing else."""
    raw, expected = _NON_DEFAULT[name]
    assert expected != default_of(name)
    settings = load(environ={SETTINGS[name].variable: raw})
    defaults = load(environ={})
    for target in SETTINGS[name].targets:
        got = getattr(getattr(settings, target.component), target.field)
        assert got == target.value(expected), (name, target)
    changed = {
        (component, f.name)
        for component in COMPONENTS
        for f in dataclasses.fields(COMPONENTS[component])
        if getattr(getattr(settings, component), f.name) != getattr(getattr(defaults, component), f.name)
    }
    assert changed == {(t.component, t.field) for t in SETTINGS[name].targets}


def test_the_table_of_non_default_values_covers_every_setting() -> None:
    assert set(_NON_DEFAULT) == set(SETTINGS)


def _attribute_reads(path: Path) -> set[str]:
    return {node.attr for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Attribute)}


def test_every_config_field_is_read_by_the_code() -> None:
    """A config field nothing reads is a setting that does nothing: each must be read outside its config module."""
    sources = [
        p for folder in ("otel_errors", "receiver", "exporter", "api", "cli") for p in (ROOT / folder).rglob("*.py")
    ]
    reads: set[str] = set()
    for path in sources:
        if path.name != "config.py":
            reads |= _attribute_reads(path)
    unread = [
        f"{component}.{f.name}"
        for component, cls in COMPONENTS.items()
        for f in dataclasses.fields(cls)
        if f.name not in reads
    ]
    assert unread == []


def test_every_invalid_setting_is_reported_at_once() -> None:
    env = {
        "OTEL_ERRORS_GRPC_PORT": "abc",
        "OTEL_ERRORS_HTTP_PORT": "70000",
        "OTEL_ERRORS_WORKERS": "0",
        "OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE": "maybe",
        "OTEL_ERRORS_RETENTION_DAYS": "0",
        "OTEL_ERRORS_DEFAULT_WORKSPACE": "a b",
        "OTEL_ERRORS_PRICE_PER_CREDIT": "-1",
    }
    with pytest.raises(ConfigError) as info:
        load(environ=env)
    message = str(info.value)
    for variable in env:
        assert variable in message, (variable, message)


@pytest.mark.parametrize(
    "env,needle",
    [
        ({"OTEL_ERRORS_GRPC_PORT": "abc"}, "integer"),
        ({"OTEL_ERRORS_HTTP_PORT": "70000"}, "port"),
        ({"OTEL_ERRORS_WORKERS": "0"}, "workers"),
        ({"OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE": "maybe"}, "true or false"),
        ({"OTEL_ERRORS_RETENTION_DAYS": "0"}, "retention_days"),
        ({"OTEL_ERRORS_DEFAULT_WORKSPACE": "a b"}, "default_workspace"),
        ({"OTEL_ERRORS_DEFAULT_WORKSPACE": "acme\n"}, "default_workspace"),
    ],
)
def test_invalid_settings_fail_at_start_with_a_clear_message(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load(environ=env)


def test_listening_beyond_loopback_without_auth_needs_the_loud_opt_out() -> None:
    with pytest.raises(ConfigError, match="without authentication"):
        load(environ={"OTEL_ERRORS_HOST": "0.0.0.0"})
    opted_out = load(environ={"OTEL_ERRORS_HOST": "0.0.0.0", "OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE": "true"})
    assert opted_out.receiver.host == opted_out.api.host == "0.0.0.0"
    assert load(environ={"OTEL_ERRORS_HOST": "::1"}).receiver.host == "::1"


def test_readme_documents_every_setting_with_its_default() -> None:
    for name, setting in SETTINGS.items():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{setting.variable}`")), None)
        assert row is not None, f"README lacks {setting.variable}"
        default = default_of(name)
        shown = (
            "unset" if default in (None, "") else str(default).lower() if isinstance(default, bool) else str(default)
        )
        assert f"`{shown}`" in row, f"README row for {setting.variable} should show its default `{shown}`"
