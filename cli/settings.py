"""Settings, resolved once into a typed object: environment variables `OTEL_ERRORS_*`, CLI flags override.

Every setting, its variable and its default are listed in the README's configuration table; `SETTINGS` below is
the single source of that table (tests/test_settings.py checks they agree).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from otel_errors.config import WORKSPACE_ID_PATTERN, ProcessorConfig
from otel_errors.errors import ConfigError
from otel_errors.exporter import StoreConfig
from otel_errors.receiver import ReceiverConfig

from ..api import ApiConfig


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    api_port: int = 8000
    workers: int = 1
    max_message_bytes: int = 16 * 1024 * 1024
    retention_days: int = 90
    credits_attribute: str = "credits.used"
    price_per_credit: float = 0.01
    default_workspace: str = "default"
    log_level: str = "info"
    auth: bool = False
    viewer_stacktraces: str = "in_app"
    rules_refresh_seconds: int = 10
    allow_unauthenticated_remote: bool = False
    allow_pure_python_protobuf: bool = False

    def __post_init__(self) -> None:
        if self.rules_refresh_seconds < 1:
            raise ConfigError("rules_refresh_seconds must be at least 1")
        if self.workers < 1 or self.workers > 64:
            raise ConfigError("workers must be between 1 and 64")
        if self.log_level.lower() not in ("debug", "info", "warning", "error"):
            raise ConfigError("log_level must be one of debug, info, warning, error")
        if not WORKSPACE_ID_PATTERN.match(self.default_workspace):
            raise ConfigError(f"default_workspace must match {WORKSPACE_ID_PATTERN.pattern}")
        if not _is_loopback(self.host) and not self.auth and not self.allow_unauthenticated_remote:
            raise ConfigError(
                f"refusing to listen on {self.host} without authentication: every port would accept data and "
                "serve it to anyone who can reach it. Turn authentication on (OTEL_ERRORS_AUTH=true), listen on "
                "127.0.0.1, or set OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE=true if you really mean it."
            )
        try:
            self.receiver_config()
            self.store_config()
            self.processor_config()
            self.api_config()
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    # The components' own typed configs, derived from the one settings object.
    def receiver_config(self) -> ReceiverConfig:
        return ReceiverConfig(
            grpc_host=self.host,
            grpc_port=self.grpc_port,
            http_host=self.host,
            http_port=self.http_port,
            max_message_bytes=self.max_message_bytes,
        )

    def store_config(self, database_url: str | None = None) -> StoreConfig:
        return StoreConfig(database_url=database_url or self.database_url, retention_days=self.retention_days)

    def processor_config(self) -> ProcessorConfig:
        return ProcessorConfig(
            default_workspace=self.default_workspace,
            credits_attribute=self.credits_attribute,
            max_age_seconds=self.retention_days * 86400,
        )

    def api_config(self, database_url: str | None = None) -> ApiConfig:
        return ApiConfig(
            host=self.host,
            port=self.api_port,
            database_url=database_url or self.database_url,
            auth=self.auth,
            viewer_stacktraces=self.viewer_stacktraces,
        )


# name -> (environment variable, help). Order is the README table's order.
SETTINGS: dict[str, tuple[str, str]] = {
    "database_url": ("OTEL_ERRORS_DATABASE_URL", "PostgreSQL URL; unset starts the embedded PostgreSQL"),
    "data_dir": ("OTEL_ERRORS_DATA_DIR", "embedded PostgreSQL data and local state"),
    "host": ("OTEL_ERRORS_HOST", "interface every port binds to"),
    "grpc_port": ("OTEL_ERRORS_GRPC_PORT", "OTLP/gRPC receiver port"),
    "http_port": ("OTEL_ERRORS_HTTP_PORT", "OTLP/HTTP receiver port"),
    "api_port": ("OTEL_ERRORS_API_PORT", "JSON API and dashboard port"),
    "workers": ("OTEL_ERRORS_WORKERS", "processes sharing the ports (SO_REUSEPORT)"),
    "max_message_bytes": ("OTEL_ERRORS_MAX_MESSAGE_BYTES", "largest export request, after decompression"),
    "retention_days": ("OTEL_ERRORS_RETENTION_DAYS", "days of occurrences kept (older partitions dropped)"),
    "credits_attribute": ("OTEL_ERRORS_CREDITS_ATTRIBUTE", "numeric attribute summed as credits"),
    "price_per_credit": (
        "OTEL_ERRORS_PRICE_PER_CREDIT",
        "price of one credit: estimatedRevenueLoss = credits lost x price",
    ),
    "default_workspace": ("OTEL_ERRORS_DEFAULT_WORKSPACE", "workspace of data without `workspace.id`"),
    "log_level": ("OTEL_ERRORS_LOG_LEVEL", "debug, info, warning or error"),
    "auth": ("OTEL_ERRORS_AUTH", "require ingest tokens and API keys"),
    "viewer_stacktraces": (
        "OTEL_ERRORS_VIEWER_STACKTRACES",
        "what viewers see of stack traces: in_app (no local paths) or full",
    ),
    "rules_refresh_seconds": ("OTEL_ERRORS_RULES_REFRESH_SECONDS", "how often workspace rules are reloaded"),
    "allow_unauthenticated_remote": (
        "OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE",
        "allow a non-loopback host with authentication off",
    ),
    "allow_pure_python_protobuf": (
        "OTEL_ERRORS_ALLOW_PURE_PYTHON_PROTOBUF",
        "start even on the slow pure-Python protobuf backend",
    ),
}


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _convert(name: str, raw: str) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind in ("int",):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{SETTINGS[name][0]} must be an integer, got {raw!r}") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{SETTINGS[name][0]} must be a number, got {raw!r}") from None
    if kind == "bool":
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{SETTINGS[name][0]} must be true or false, got {raw!r}")
    if kind == "Path":
        return Path(raw)
    if kind == "str | None":
        return raw or None
    return raw


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Resolve settings: defaults, then `OTEL_ERRORS_*` variables, then explicit overrides (CLI flags)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (variable, _help) in SETTINGS.items():
        if variable in env:
            values[name] = _convert(name, env[variable])
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    return Settings(**values)
