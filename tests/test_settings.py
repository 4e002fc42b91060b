"""Settings: one typed object from OTEL_ERRORS_* variables and flags; safe by default; README agrees."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_errors.cli.settings import SETTINGS, Settings, load
from otel_errors.errors import ConfigError

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_defaults_are_the_documented_quick_start() -> None:
    s = load(environ={})
    assert (s.database_url, s.host, s.grpc_port, s.http_port, s.api_port) == (None, "127.0.0.1", 4317, 4318, 8000)
    assert s.workers == 1 and s.retention_days == 90


def test_environment_then_flags() -> None:
    env = {"OTEL_ERRORS_GRPC_PORT": "5317", "OTEL_ERRORS_WORKERS": "3", "OTEL_ERRORS_DATABASE_URL": "postgresql:///x"}
    s = load(environ=env, overrides={"workers": 2, "api_port": None})
    assert (s.grpc_port, s.workers, s.api_port, s.database_url) == (5317, 2, 8000, "postgresql:///x")


@pytest.mark.parametrize(
    "env,needle",
    [
        ({"OTEL_ERRORS_GRPC_PORT": "abc"}, "integer"),
        ({"OTEL_ERRORS_HTTP_PORT": "70000"}, "port"),
        ({"OTEL_ERRORS_WORKERS": "0"}, "workers"),
        ({"OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE": "maybe"}, "true or false"),
        ({"OTEL_ERRORS_RETENTION_DAYS": "0"}, "retention_days"),
        ({"OTEL_ERRORS_DEFAULT_WORKSPACE": "a b"}, "default_workspace"),
    ],
)
def test_invalid_settings_fail_at_start_with_a_clear_message(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load(environ=env)


def test_listening_beyond_loopback_without_auth_needs_the_loud_opt_out() -> None:
    with pytest.raises(ConfigError, match="without authentication"):
        load(environ={"OTEL_ERRORS_HOST": "0.0.0.0"})
    assert (
        load(environ={"OTEL_ERRORS_HOST": "0.0.0.0", "OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE": "true"}).host
        == "0.0.0.0"
    )
    assert load(environ={"OTEL_ERRORS_HOST": "::1"}).host == "::1"


def test_readme_documents_every_setting_with_its_default() -> None:
    defaults = Settings()
    for name, (variable, _help) in SETTINGS.items():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{variable}`")), None)
        assert row is not None, f"README lacks {variable}"
        default = getattr(defaults, name)
        shown = "unset" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        assert f"`{shown}`" in row, f"README row for {variable} should show its default `{shown}`"
