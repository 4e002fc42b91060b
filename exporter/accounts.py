"""Workspaces, API keys, ingest tokens and workspace rules: stored, looked up, audited. The one place that
hashes a secret or reads these tables; the API, the command line, the receivers and `serve` all come here.

Secrets are shown once and stored as their SHA-256. Looking one up (`Credentials`) never takes a connection from
anyone's pool: it has one connection of its own, asks the database one question at a time (concurrent requests for
the same secret share the answer), and remembers answers briefly, misses included, so a flood of bad secrets costs
at most one query each and a bounded amount of memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from otel_errors.config import WORKSPACE_ID_REGEX, WorkspaceRules, is_workspace_id
from otel_errors.errors import StoreUnavailable

from . import audit

log = logging.getLogger("otel_errors.exporter.accounts")

KEY_PREFIX, TOKEN_PREFIX = "oek_", "oet_"
Role = Literal["viewer", "member", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "member", "admin")
CredentialKind = Literal["api_key", "ingest_token"]


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def check_workspace_id(workspace_id: str) -> str:
    if not is_workspace_id(workspace_id):
        raise ValueError(f"workspace id {workspace_id!r} must match {WORKSPACE_ID_REGEX}")
    return workspace_id


# -- workspaces ------------------------------------------------------------------------------------------------


async def ensure_workspace(conn: psycopg.AsyncConnection[Any], workspace_id: str, name: str = "") -> bool:
    cur = await conn.execute(
        "INSERT INTO workspaces (workspace_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (check_workspace_id(workspace_id), name),
    )
    return cur.rowcount == 1


async def list_workspaces(conn: psycopg.AsyncConnection[Any]) -> list[tuple[str, str]]:
    cur = await conn.execute("SELECT workspace_id, name FROM workspaces ORDER BY workspace_id")
    return [(str(r[0]), str(r[1])) for r in await cur.fetchall()]


# -- credentials -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Credential:
    kind: CredentialKind
    id: str
    workspace_id: str
    name: str
    role: Role | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class NewCredential:
    credential: Credential
    secret: str  # returned once, never stored


# kind -> (table, id column, hash column)
_TABLES: dict[CredentialKind, tuple[str, str, str]] = {
    "api_key": ("api_keys", "key_id", "key_hash"),
    "ingest_token": ("ingest_tokens", "token_id", "token_hash"),
}


async def create_api_key(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, *, role: Role, name: str, actor: str
) -> NewCredential:
    if role not in ROLES:
        raise ValueError("role must be viewer, member or admin")
    secret, key_id = KEY_PREFIX + secrets.token_urlsafe(32), secrets.token_hex(6)
    async with conn.transaction():
        await ensure_workspace(conn, workspace_id)
        cur = await conn.execute(
            "INSERT INTO api_keys (key_hash, workspace_id, key_id, name, role) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING created_at",
            (hash_secret(secret), workspace_id, key_id, name, role),
        )
        created = (await cur.fetchone())[0]  # type: ignore[index]
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="api_key.create",
            target=f"api_key:{key_id}",
            before=None,
            after={"name": name, "role": role},
        )
    return NewCredential(Credential("api_key", key_id, workspace_id, name, role, created, None), secret)


async def create_ingest_token(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, *, name: str, actor: str
) -> NewCredential:
    secret, token_id = TOKEN_PREFIX + secrets.token_urlsafe(32), secrets.token_hex(6)
    async with conn.transaction():
        await ensure_workspace(conn, workspace_id)
        cur = await conn.execute(
            "INSERT INTO ingest_tokens (token_hash, workspace_id, token_id, name) VALUES (%s, %s, %s, %s)"
            " RETURNING created_at",
            (hash_secret(secret), workspace_id, token_id, name),
        )
        created = (await cur.fetchone())[0]  # type: ignore[index]
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="ingest_token.create",
            target=f"ingest_token:{token_id}",
            before=None,
            after={"name": name},
        )
    return NewCredential(Credential("ingest_token", token_id, workspace_id, name, None, created, None), secret)


async def list_credentials(conn: psycopg.AsyncConnection[Any], workspace_id: str) -> list[Credential]:
    async with conn.cursor(row_factory=class_row(Credential)) as cur:
        await cur.execute(
            "SELECT 'api_key' AS kind, key_id AS id, workspace_id, name, role, created_at, revoked_at"
            " FROM api_keys WHERE workspace_id = %s"
            " UNION ALL SELECT 'ingest_token', token_id, workspace_id, name, NULL, created_at, revoked_at"
            " FROM ingest_tokens WHERE workspace_id = %s ORDER BY created_at, id",
            (workspace_id, workspace_id),
        )
        return await cur.fetchall()


async def revoke(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, *, kind: CredentialKind, credential_id: str, actor: str
) -> bytes | None:
    """Revoke an active credential; returns its hash (to forget it in caches), None when there is none."""
    table, id_column, hash_column = _TABLES[kind]
    async with conn.transaction():
        cur = await conn.execute(
            sql.SQL(
                "UPDATE {} SET revoked_at = now() WHERE workspace_id = %s AND {} = %s AND revoked_at IS NULL"
                " RETURNING {}"
            ).format(sql.Identifier(table), sql.Identifier(id_column), sql.Identifier(hash_column)),
            (workspace_id, credential_id),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action=f"{kind}.revoke",
            target=f"{kind}:{credential_id}",
            before={"revoked": False},
            after={"revoked": True},
        )
    return bytes(row[0])


@dataclass(frozen=True, slots=True)
class Found:
    """What a secret names: its workspace, and for an API key its role and id."""

    workspace_id: str
    role: Role | None
    credential_id: str


class Credentials:
    """Looks secrets up, without a pooled connection, one query at a time, with bounded caches of answers.

    Positive answers are kept `ttl_seconds` (a revoked secret works that long on other processes; this one forgets
    it at once through `forget`), misses `negative_ttl_seconds`. At most `max_waiting` lookups wait for the
    database; beyond that a lookup fails with `StoreUnavailable` (retryable) rather than queueing without bound."""

    def __init__(
        self,
        database_url: str,
        *,
        ttl_seconds: float = 30.0,
        negative_ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        max_misses: int = 100_000,
        max_waiting: int = 1024,
        connect_timeout_seconds: float = 5.0,
    ) -> None:
        self._url = database_url
        self._ttl, self._negative_ttl = ttl_seconds, negative_ttl_seconds
        self._max_entries, self._max_misses, self._max_waiting = max_entries, max_misses, max_waiting
        self._connect_timeout = connect_timeout_seconds
        self._found: OrderedDict[tuple[CredentialKind, bytes], tuple[Found, float]] = OrderedDict()
        self._misses: OrderedDict[tuple[CredentialKind, bytes], float] = OrderedDict()
        self._inflight: dict[tuple[CredentialKind, bytes], asyncio.Future[Found | None]] = {}
        self._lock = asyncio.Lock()
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def forget(self, kind: CredentialKind, secret_hash: bytes) -> None:
        self._found.pop((kind, secret_hash), None)

    async def api_key(self, secret: str) -> Found | None:
        return await self._lookup("api_key", secret, KEY_PREFIX)

    async def ingest_token(self, secret: str) -> Found | None:
        return await self._lookup("ingest_token", secret, TOKEN_PREFIX)

    async def _lookup(self, kind: CredentialKind, secret: str, prefix: str) -> Found | None:
        if not secret.startswith(prefix) or len(secret) > 256:
            return None  # not a secret we issue: refused without a lookup
        key = (kind, hash_secret(secret))
        now = time.monotonic()
        cached = self._found.get(key)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._found[key]
        missed = self._misses.get(key)
        if missed is not None:
            if missed > now:
                return None
            del self._misses[key]
        waiting = self._inflight.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        if len(self._inflight) >= self._max_waiting:
            raise StoreUnavailable("too many credential lookups waiting; retry later")
        future: asyncio.Future[Found | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            found = await self._query(kind, key[1])
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            future.set_result(found)
        finally:
            del self._inflight[key]
        self._remember(key, found)
        return found

    def _remember(self, key: tuple[CredentialKind, bytes], found: Found | None) -> None:
        now = time.monotonic()
        if found is not None:
            self._found[key] = (found, now + self._ttl)
            self._found.move_to_end(key)
            while len(self._found) > self._max_entries:
                self._found.popitem(last=False)
        else:
            self._misses[key] = now + self._negative_ttl
            self._misses.move_to_end(key)
            while len(self._misses) > self._max_misses:
                self._misses.popitem(last=False)

    async def _query(self, kind: CredentialKind, secret_hash: bytes) -> Found | None:
        table, id_column, hash_column = _TABLES[kind]
        role = sql.SQL("role") if kind == "api_key" else sql.SQL("NULL::text")
        query = sql.SQL("SELECT workspace_id, {}, {} FROM {} WHERE {} = %s AND revoked_at IS NULL").format(
            role, sql.Identifier(id_column), sql.Identifier(table), sql.Identifier(hash_column)
        )
        async with self._lock:
            try:
                conn = await self._connection()
                cur = await conn.execute(query, (secret_hash,))
                row = await cur.fetchone()
            except psycopg.OperationalError as exc:
                await self.close()
                raise StoreUnavailable(f"database unavailable: {exc}") from exc
        return Found(str(row[0]), row[1], str(row[2])) if row is not None else None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=max(1, int(self._connect_timeout))
            )
        return self._conn


# -- workspace rules -------------------------------------------------------------------------------------------


async def get_rules(conn: psycopg.AsyncConnection[Any], workspace_id: str) -> WorkspaceRules:
    cur = await conn.execute("SELECT settings FROM workspaces WHERE workspace_id = %s", (workspace_id,))
    row = await cur.fetchone()
    return WorkspaceRules.from_dict(row[0]) if row and row[0] else WorkspaceRules()


async def put_rules(
    conn: psycopg.AsyncConnection[Any], workspace_id: str, rules: WorkspaceRules, *, actor: str
) -> WorkspaceRules:
    async with conn.transaction():
        await ensure_workspace(conn, workspace_id)
        before = await get_rules(conn, workspace_id)
        await conn.execute(
            "UPDATE workspaces SET settings = %s::jsonb WHERE workspace_id = %s",
            (json.dumps(rules.to_dict()), workspace_id),
        )
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="rules.update",
            target="rules",
            before=before.to_dict(),
            after=rules.to_dict(),
        )
    return rules


async def load_all_rules(conn: psycopg.AsyncConnection[Any]) -> dict[str, WorkspaceRules]:
    """Every workspace with non-default rules (the processor's cache). Stored rules a newer version refuses (an
    extra pattern RE2 cannot run, say) give way to the defaults, which still scrub everything built in; logged."""
    cur = await conn.execute("SELECT workspace_id, settings FROM workspaces WHERE settings <> '{}'::jsonb")
    rules = {}
    for workspace_id, settings in await cur.fetchall():
        try:
            rules[str(workspace_id)] = WorkspaceRules.from_dict(settings)
        except ValueError as exc:
            log.warning("workspace %s: stored rules are no longer valid, defaults apply: %s", workspace_id, exc)
    return rules
