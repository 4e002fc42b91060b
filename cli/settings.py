"""Settings: `OTEL_ERRORS_*` variables (and `serve` flags) resolved into each component's own typed config.

No default is restated here: a setting names the config fields it sets (`SETTINGS`), and its default is the first
field's default in that component's config. Every invalid setting is reported at once (`ConfigError` lists them).
The README's configuration table is this table (tests/test_settings.py checks they agree).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from otel_errors.config import ProcessorConfig
from otel_errors.errors import ConfigError
from otel_errors.exporter import StoreConfig
from otel_errors.exporter.alerts import AlertsConfig
from otel_errors.receiver import ReceiverConfig

from ..api import ApiConfig


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """What `serve` itself decides: where the database is, processes, logging, authentication, safety switches."""

    # None: start the embedded PostgreSQL (data in `data_dir`/postgres).
    database_url: str | None = None
    data_dir: Path = Path(".data")
    workers: int = 1
    log_level: str = "info"
    auth: bool = False
    rules_refresh_seconds: int = 10
    allow_unauthenticated_remote: bool = False
    allow_pure_python_protobuf: bool = False

    def __post_init__(self) -> None:
        if self.rules_refresh_seconds < 1:
            raise ValueError("rules_refresh_seconds must be at least 1")
        if not 1 <= self.workers <= 64:
            raise ValueError("workers must be between 1 and 64")
        if self.log_level.lower() not in ("debug", "info", "warning", "error"):
            raise ValueError("log_level must be one of debug, info, warning, error")


COMPONENTS: dict[str, type[Any]] = {
    "serve": ServeConfig,
    "receiver": ReceiverConfig,
    "processor": ProcessorConfig,
    "store": StoreConfig,
    "api": ApiConfig,
    "alerts": AlertsConfig,
}


def _days_to_seconds(days: Any) -> Any:
    return days * 86400 if isinstance(days, int) else days


@dataclass(frozen=True, slots=True)
class Target:
    """A config field a setting sets, and how its value becomes the field's (days -> seconds, say)."""

    component: str
    field: str
    convert: Callable[[Any], Any] | None = None

    def value(self, setting_value: Any) -> Any:
        return setting_value if self.convert is None else self.convert(setting_value)


@dataclass(frozen=True, slots=True)
class Setting:
    variable: str
    help: str
    targets: tuple[Target, ...]  # the first gives the default
    secret: bool = False  # never printed

    def __init__(
        self,
        variable: str,
        help: str,
        targets: tuple[tuple[str, str] | tuple[str, str, Callable[[Any], Any]], ...],
        secret: bool = False,
    ) -> None:
        object.__setattr__(self, "variable", variable)
        object.__setattr__(self, "help", help)
        object.__setattr__(self, "targets", tuple(Target(*target) for target in targets))
        object.__setattr__(self, "secret", secret)


# name -> setting. Order is the README table's order.
SETTINGS: dict[str, Setting] = {
    "database_url": Setting(
        "OTEL_ERRORS_DATABASE_URL", "PostgreSQL URL; unset starts the embedded PostgreSQL", (("serve", "database_url"),)
    ),
    "data_dir": Setting(
        "OTEL_ERRORS_DATA_DIR", "embedded PostgreSQL data (`<dir>/postgres`) and local state", (("serve", "data_dir"),)
    ),
    "host": Setting("OTEL_ERRORS_HOST", "interface every port binds to", (("receiver", "host"), ("api", "host"))),
    "grpc_port": Setting("OTEL_ERRORS_GRPC_PORT", "OTLP/gRPC receiver port", (("receiver", "grpc_port"),)),
    "http_port": Setting("OTEL_ERRORS_HTTP_PORT", "OTLP/HTTP receiver port", (("receiver", "http_port"),)),
    "api_port": Setting("OTEL_ERRORS_API_PORT", "JSON API and dashboard port", (("api", "port"),)),
    "workers": Setting("OTEL_ERRORS_WORKERS", "processes sharing the ports (SO_REUSEPORT)", (("serve", "workers"),)),
    "max_message_bytes": Setting(
        "OTEL_ERRORS_MAX_MESSAGE_BYTES",
        "largest export request, after decompression",
        (("receiver", "max_message_bytes"),),
    ),
    "max_inflight_bytes": Setting(
        "OTEL_ERRORS_MAX_INFLIGHT_BYTES",
        "request bytes in flight per process; beyond it, retryable refusals",
        (("receiver", "max_inflight_bytes"),),
    ),
    "max_pending_bytes": Setting(
        "OTEL_ERRORS_MAX_PENDING_BYTES",
        "bytes of rows waiting for the database per process; beyond it, retryable refusals",
        (("store", "max_pending_bytes"),),
    ),
    "trace_state_max_bytes": Setting(
        "OTEL_ERRORS_TRACE_STATE_MAX_BYTES",
        "memory of recent traces per process (propagation, enrichment)",
        (("processor", "trace_state_max_bytes"),),
    ),
    "retention_days": Setting(
        "OTEL_ERRORS_RETENTION_DAYS",
        "days of occurrences kept (whole daily partitions are dropped); older records are refused",
        (("store", "retention_days"), ("processor", "max_age_seconds", _days_to_seconds)),
    ),
    "credits_attribute": Setting(
        "OTEL_ERRORS_CREDITS_ATTRIBUTE", "numeric attribute summed as credits", (("processor", "credits_attribute"),)
    ),
    "price_per_credit": Setting(
        "OTEL_ERRORS_PRICE_PER_CREDIT",
        "price of one credit: `estimatedRevenueLoss` = credits lost × price",
        (("api", "price_per_credit"),),
    ),
    "default_workspace": Setting(
        "OTEL_ERRORS_DEFAULT_WORKSPACE",
        "workspace of data without `workspace.id` (and the dashboard's first page)",
        (("processor", "default_workspace"), ("api", "default_workspace")),
    ),
    "hash_user_ids": Setting(
        "OTEL_ERRORS_HASH_USER_IDS",
        "store user ids as a keyed hash (docs/pii.md)",
        (("processor", "hash_user_ids"),),
    ),
    "user_id_hash_key": Setting(
        "OTEL_ERRORS_USER_ID_HASH_KEY",
        "secret key of that hash",
        (("processor", "user_id_hash_key"),),
        secret=True,
    ),
    "log_level": Setting("OTEL_ERRORS_LOG_LEVEL", "`debug`, `info`, `warning` or `error`", (("serve", "log_level"),)),
    "auth": Setting(
        "OTEL_ERRORS_AUTH",
        "require ingest tokens (OTLP `authorization: Bearer`) and API keys",
        (("serve", "auth"), ("api", "auth")),
    ),
    "viewer_stacktraces": Setting(
        "OTEL_ERRORS_VIEWER_STACKTRACES",
        "what viewers see of stack traces and paths: `in_app` (in-app frames, no directories) or `full`",
        (("api", "viewer_stacktraces"),),
    ),
    "rules_refresh_seconds": Setting(
        "OTEL_ERRORS_RULES_REFRESH_SECONDS",
        "how often per-workspace rules (PII, in-app) are reloaded",
        (("serve", "rules_refresh_seconds"),),
    ),
    "allow_unauthenticated_remote": Setting(
        "OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE",
        "allow a non-loopback host with authentication off",
        (("serve", "allow_unauthenticated_remote"),),
    ),
    "alerts": Setting(
        "OTEL_ERRORS_ALERTS",
        "evaluate alert rules after commits (docs/alerts.md); off: no alerts and no stream events of new errors",
        (("alerts", "enabled"),),
    ),
    "alert_allow_private_webhooks": Setting(
        "OTEL_ERRORS_ALERT_ALLOW_PRIVATE_WEBHOOKS",
        "allow webhooks to loopback, private and link-local addresses",
        (("alerts", "allow_private_webhooks"), ("api", "allow_private_webhooks")),
    ),
    "alert_webhook_timeout_seconds": Setting(
        "OTEL_ERRORS_ALERT_WEBHOOK_TIMEOUT_SECONDS",
        "timeout of one webhook attempt (and of a test notification)",
        (("alerts", "webhook_timeout_seconds"), ("api", "webhook_timeout_seconds")),
    ),
    "alert_webhook_attempts": Setting(
        "OTEL_ERRORS_ALERT_WEBHOOK_ATTEMPTS",
        "attempts per webhook delivery (backoff 1 s, doubling) before it is marked failed",
        (("alerts", "webhook_attempts"),),
    ),
    "alert_correlation_minutes": Setting(
        "OTEL_ERRORS_ALERT_CORRELATION_MINUTES",
        "alerts of one agent this close together join one incident",
        (("alerts", "correlation_minutes"),),
    ),
    "alert_sweep_seconds": Setting(
        "OTEL_ERRORS_ALERT_SWEEP_SECONDS",
        "how often firing alerts are checked for resolution and re-notification",
        (("alerts", "sweep_seconds"),),
    ),
    "alert_stream_retention_seconds": Setting(
        "OTEL_ERRORS_ALERT_STREAM_RETENTION_SECONDS",
        "how long stream events are kept for resuming (Last-Event-ID)",
        (("alerts", "stream_retention_seconds"),),
    ),
    "stream_heartbeat_seconds": Setting(
        "OTEL_ERRORS_STREAM_HEARTBEAT_SECONDS",
        "interval of the stream's heartbeat comments",
        (("api", "stream_heartbeat_seconds"),),
    ),
    "public_url": Setting(
        "OTEL_ERRORS_PUBLIC_URL",
        "the dashboard's address in webhook links; empty: `http://<host>:<api port>`",
        (("alerts", "public_url"), ("api", "public_url")),
    ),
    "allow_pure_python_protobuf": Setting(
        "OTEL_ERRORS_ALLOW_PURE_PYTHON_PROTOBUF",
        "start even on the pure-Python protobuf backend (160x slower)",
        (("serve", "allow_pure_python_protobuf"),),
    ),
}


def _field(component: str, name: str) -> dataclasses.Field[Any]:
    return next(f for f in fields(COMPONENTS[component]) if f.name == name)


def default_of(setting: str) -> Any:
    target = SETTINGS[setting].targets[0]
    f = _field(target.component, target.field)
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


@dataclass(frozen=True, slots=True)
class Settings:
    """Every component's typed config, as the settings made them."""

    serve: ServeConfig = field(default_factory=ServeConfig)
    receiver: ReceiverConfig = field(default_factory=ReceiverConfig)
    processor: ProcessorConfig = field(default_factory=ProcessorConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)

    def with_database(self, database_url: str) -> Settings:
        """The store's and the API's configs pointed at `database_url` (the embedded server's, once started)."""
        return dataclasses.replace(
            self,
            store=dataclasses.replace(self.store, database_url=database_url),
            api=dataclasses.replace(self.api, database_url=database_url),
            alerts=dataclasses.replace(self.alerts, database_url=database_url),
        )


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Resolve settings: component defaults, then `OTEL_ERRORS_*` variables, then explicit overrides (CLI flags).
    Raises `ConfigError` naming every invalid setting."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, setting in SETTINGS.items():
        if setting.variable in env:
            try:
                values[name] = _convert(name, env[setting.variable])
            except ValueError as exc:
                problems.append(str(exc))
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    kwargs: dict[str, dict[str, Any]] = {component: {} for component in COMPONENTS}
    for name, value in values.items():
        for target in SETTINGS[name].targets:
            kwargs[target.component][target.field] = target.value(value)
    # Each component with all its settings; when one refuses them, each setting alone names the invalid ones
    # (a setting valid only with another, like a smaller message limit, passes when the two come together).
    configs: dict[str, Any] = {}
    for component, cls in COMPONENTS.items():
        try:
            configs[component] = cls(**kwargs[component])
        except (ValueError, TypeError) as exc:
            alone = _invalid_alone(component, kwargs[component], values)
            problems += alone or [str(exc)]
    if not problems:
        problems += _cross_checks(configs)
    if problems:
        raise ConfigError("; ".join(problems))
    return Settings(**configs)


def _invalid_alone(component: str, fields_set: dict[str, Any], values: dict[str, Any]) -> list[str]:
    problems = []
    for name in values:
        for target in SETTINGS[name].targets:
            if target.component == component:
                try:
                    COMPONENTS[component](**{target.field: fields_set[target.field]})
                except (ValueError, TypeError) as exc:
                    problems.append(f"{SETTINGS[name].variable}: {exc}")
    return problems


def _cross_checks(configs: dict[str, Any]) -> list[str]:
    serve: ServeConfig = configs["serve"]
    receiver: ReceiverConfig = configs["receiver"]
    problems = []
    if not _is_loopback(receiver.host) and not serve.auth and not serve.allow_unauthenticated_remote:
        problems.append(
            f"refusing to listen on {receiver.host} without authentication: every port would accept data and "
            "serve it to anyone who can reach it. Turn authentication on (OTEL_ERRORS_AUTH=true), listen on "
            "127.0.0.1, or set OTEL_ERRORS_ALLOW_UNAUTHENTICATED_REMOTE=true if you really mean it."
        )
    return problems


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _convert(name: str, raw: str) -> Any:
    """The text of a variable as the type of the setting's first field."""
    target = SETTINGS[name].targets[0]
    kind = str(_field(target.component, target.field).type)
    variable = SETTINGS[name].variable
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{variable} must be an integer, got {raw!r}") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{variable} must be a number, got {raw!r}") from None
    if kind == "bool":
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{variable} must be true or false, got {raw!r}")
    if kind == "Path":
        return Path(raw)
    if kind == "str | None":
        return raw or None
    return raw
