"""The exporter: the PostgreSQL store (schema migrations, batched durable writes) and the embedded server."""

from .config import StoreConfig
from .store import ErrorChange, PostgresExporter

__all__ = ["ErrorChange", "PostgresExporter", "StoreConfig"]
