"""`otel-errors workspace|key|token ...`: manage workspaces, API keys and ingest tokens from the shell."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import psycopg

from otel_errors.exporter import accounts
from otel_errors.exporter._migrate import migrate
from otel_errors.exporter.embedded import EmbeddedPostgres

from .settings import load


def add_commands(commands: Any) -> None:
    workspace = commands.add_parser("workspace", help="create or list workspaces")
    ws = workspace.add_subparsers(dest="action", required=True)
    create = ws.add_parser("create")
    create.add_argument("workspace_id", type=_workspace_id)
    create.add_argument("--name", default="")
    ws.add_parser("list")
    workspace.set_defaults(func=_run, resource="workspace")

    for resource, help_text in (("key", "API keys (viewer, member, admin)"), ("token", "ingest tokens")):
        parser = commands.add_parser(resource, help=f"create, list or revoke {help_text}")
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create")
        create.add_argument("--workspace", required=True, type=_workspace_id)
        create.add_argument("--name", default="")
        if resource == "key":
            create.add_argument("--role", choices=["viewer", "member", "admin"], required=True)
        listing = actions.add_parser("list")
        listing.add_argument("--workspace", required=True, type=_workspace_id)
        revoke = actions.add_parser("revoke")
        revoke.add_argument("--workspace", required=True, type=_workspace_id)
        revoke.add_argument("id")
        parser.set_defaults(func=_run, resource=resource)


def _workspace_id(value: str) -> str:
    try:
        return accounts.check_workspace_id(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    settings = load()
    embedded = None
    url = settings.serve.database_url
    if url is None:
        embedded = EmbeddedPostgres(settings.serve.data_dir / "postgres")
        url = embedded.start()
    try:
        return asyncio.run(_act(url, args))
    finally:
        if embedded is not None:
            embedded.stop()


async def _act(url: str, args: argparse.Namespace) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await migrate(conn)
        if args.resource == "workspace":
            if args.action == "create":
                created = await accounts.ensure_workspace(conn, args.workspace_id, args.name)
                print(f"workspace {args.workspace_id} {'created' if created else 'already exists'}")
            else:
                for workspace_id, name in await accounts.list_workspaces(conn):
                    print(f"{workspace_id}\t{name}")
            return 0
        kind: accounts.CredentialKind = "api_key" if args.resource == "key" else "ingest_token"
        if args.action == "create":
            if kind == "api_key":
                new = await accounts.create_api_key(conn, args.workspace, role=args.role, name=args.name, actor="cli")
            else:
                new = await accounts.create_ingest_token(conn, args.workspace, name=args.name, actor="cli")
            print(
                json.dumps(
                    {
                        "id": new.credential.id,
                        "workspace": args.workspace,
                        "role": new.credential.role,
                        "secret": new.secret,
                    }
                )
            )
            return 0
        if args.action == "list":
            for c in await accounts.list_credentials(conn, args.workspace):
                if c.kind == kind:
                    state = "revoked" if c.revoked_at else "active"
                    print(f"{c.id}\t{c.role or '-'}\t{state}\t{c.name}")
            return 0
        if await accounts.revoke(conn, args.workspace, kind=kind, credential_id=args.id, actor="cli"):
            print(f"revoked {args.id}")
            return 0
        print(f"no active {args.resource} {args.id} in workspace {args.workspace}")
        return 1
