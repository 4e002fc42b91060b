"""The `otel-errors` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from otel_errors.errors import ConfigError

from . import access, grouping
from . import settings as settings_module


def _serve(args: argparse.Namespace) -> int:
    from .serve import serve

    overrides = {
        "database_url": args.database_url,
        "data_dir": args.data_dir,
        "host": args.host,
        "grpc_port": args.grpc_port,
        "http_port": args.http_port,
        "api_port": args.api_port,
        "workers": args.workers,
        "log_level": args.log_level,
    }
    return serve(settings_module.load(overrides=overrides))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otel-errors", description="Error tracking on OpenTelemetry.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the OTLP receivers, the store and the API")
    serve.add_argument("--database-url", help="PostgreSQL URL (default: embedded PostgreSQL)")
    serve.add_argument("--data-dir", type=Path, help="embedded PostgreSQL data directory parent")
    serve.add_argument("--host", help="interface every port binds to (default 127.0.0.1)")
    serve.add_argument("--grpc-port", type=int)
    serve.add_argument("--http-port", type=int)
    serve.add_argument("--api-port", type=int)
    serve.add_argument("--workers", type=int, help="processes sharing the ports")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=_serve)

    access.add_commands(commands)
    grouping.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as exc:
        print(f"otel-errors: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
