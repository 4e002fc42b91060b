"""Alert rules and webhook destinations of a workspace: stored, listed, changed (audited), and the defaults a new
workspace receives. SQL of these two tables lives here only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from otel_errors.alerting import DEFAULT_RULES, KINDS, RuleSpec
from otel_errors.classify import Category, Severity

from .. import audit

Conn = psycopg.AsyncConnection[Any]

_RULE_COLUMNS = (
    "name",
    "kind",
    "enabled",
    "environment",
    "agent_id",
    "category",
    "min_severity",
    "window_minutes",
    "baseline_minutes",
    "threshold",
    "min_count",
    "users",
    "renotify_minutes",
)


@dataclass(slots=True)
class RuleRow:
    workspace_id: str
    rule_id: uuid.UUID
    name: str
    kind: str
    enabled: bool
    environment: str | None
    agent_id: str | None
    category: int | None
    min_severity: int | None
    window_minutes: int
    baseline_minutes: int
    threshold: float
    min_count: int
    users: int | None
    renotify_minutes: int
    created_at: dt.datetime
    updated_at: dt.datetime

    def spec(self) -> RuleSpec:
        return RuleSpec(
            self.kind,  # type: ignore[arg-type]
            name=self.name,
            enabled=self.enabled,
            environment=self.environment,
            agent_id=self.agent_id,
            category=Category(self.category) if self.category is not None else None,
            min_severity=Severity(self.min_severity) if self.min_severity is not None else None,
            window_minutes=self.window_minutes,
            baseline_minutes=self.baseline_minutes,
            threshold=self.threshold,
            min_count=self.min_count,
            users=self.users,
            renotify_minutes=self.renotify_minutes,
        )


def _values(spec: RuleSpec) -> list[Any]:
    return [
        spec.name,
        spec.kind,
        spec.enabled,
        spec.environment,
        spec.agent_id,
        int(spec.category) if spec.category is not None else None,
        int(spec.min_severity) if spec.min_severity is not None else None,
        spec.window_minutes,
        spec.baseline_minutes,
        spec.threshold,
        spec.min_count,
        spec.users,
        spec.renotify_minutes,
    ]


def _audit_view(spec: RuleSpec) -> dict[str, Any]:
    return {k: (v.label if isinstance(v, (Category, Severity)) else v) for k, v in dataclasses.asdict(spec).items()}


_SELECT_RULES = sql.SQL("SELECT workspace_id, rule_id, {cols}, created_at, updated_at FROM alert_rules").format(
    cols=sql.SQL(", ").join(map(sql.Identifier, _RULE_COLUMNS))
)


async def _rules(conn: Conn, query: sql.Composed) -> list[RuleRow]:
    async with conn.cursor(row_factory=class_row(RuleRow)) as cur:
        await cur.execute(query)
        return await cur.fetchall()


async def ensure_defaults(conn: Conn, workspace_id: str) -> bool:
    """Give a workspace the default rules once (a default deleted later stays deleted); True when it did now."""
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO alert_setup (workspace_id) VALUES (%s) ON CONFLICT DO NOTHING", (workspace_id,)
        )
        if cur.rowcount != 1:
            return False
        for spec in DEFAULT_RULES:
            await _insert(conn, workspace_id, uuid.uuid4(), spec)
    return True


async def _insert(conn: Conn, workspace_id: str, rule_id: uuid.UUID, spec: RuleSpec) -> None:
    await conn.execute(
        sql.SQL("INSERT INTO alert_rules (workspace_id, rule_id, {cols}) VALUES ({ws}, {id}, {values})").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, _RULE_COLUMNS)),
            ws=workspace_id,
            id=rule_id,
            values=sql.SQL(", ").join(map(sql.Literal, _values(spec))),
        )
    )


async def list_rules(conn: Conn, workspace_id: str) -> list[RuleRow]:
    return await _rules(
        conn,
        sql.SQL("{q} WHERE workspace_id = {ws} ORDER BY created_at, array_position({kinds}, kind), rule_id").format(
            kinds=list(KINDS), q=_SELECT_RULES, ws=workspace_id
        ),
    )


async def enabled_rules(conn: Conn, workspaces: list[str]) -> dict[str, list[RuleRow]]:
    found: dict[str, list[RuleRow]] = {ws: [] for ws in workspaces}
    rows = await _rules(
        conn,
        sql.SQL("{q} WHERE workspace_id = ANY({ws}) AND enabled ORDER BY workspace_id, rule_id").format(
            q=_SELECT_RULES, ws=workspaces
        ),
    )
    for row in rows:
        found[row.workspace_id].append(row)
    return found


async def get_rule(conn: Conn, workspace_id: str, rule_id: uuid.UUID) -> RuleRow | None:
    rows = await _rules(
        conn,
        sql.SQL("{q} WHERE workspace_id = {ws} AND rule_id = {id}").format(
            q=_SELECT_RULES, ws=workspace_id, id=rule_id
        ),
    )
    return rows[0] if rows else None


# Per workspace, so one tenant's rules and webhooks cannot crowd the evaluator and the sender all tenants share.
MAX_RULES = 100
MAX_DESTINATIONS = 20


class LimitReached(ValueError):
    """A workspace already has as many rules (or destinations) as it may."""


async def _below_limit(conn: Conn, workspace_id: str, table: str, limit: int) -> None:
    # Serialized per workspace for the transaction, so two concurrent creations cannot both pass the count.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 17))", (f"{table}/{workspace_id}",))
    query = sql.SQL("SELECT count(*) FROM {} WHERE workspace_id = %s").format(sql.Identifier(table))
    row = await (await conn.execute(query, (workspace_id,))).fetchone()
    if row is not None and row[0] >= limit:
        raise LimitReached(f"a workspace has at most {limit} {table.replace('_', ' ')}")


async def create_rule(conn: Conn, workspace_id: str, spec: RuleSpec, *, actor: str) -> RuleRow:
    rule_id = uuid.uuid4()
    async with conn.transaction():
        await _below_limit(conn, workspace_id, "alert_rules", MAX_RULES)
        await _insert(conn, workspace_id, rule_id, spec)
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="alert_rule.create",
            target=f"alert-rule/{rule_id}",
            before=None,
            after=_audit_view(spec),
        )
    found = await get_rule(conn, workspace_id, rule_id)
    assert found is not None
    return found


async def update_rule(
    conn: Conn, workspace_id: str, rule_id: uuid.UUID, changes: dict[str, Any], *, actor: str
) -> RuleRow | None:
    """Apply `changes` (RuleSpec fields) to the rule; ValueError when the result is not a valid rule."""
    async with conn.transaction():
        rows = await _rules(
            conn,
            sql.SQL("{q} WHERE workspace_id = {ws} AND rule_id = {id} FOR UPDATE").format(
                q=_SELECT_RULES, ws=workspace_id, id=rule_id
            ),
        )
        if not rows:
            return None
        before = rows[0].spec()
        after = dataclasses.replace(before, **changes)
        await conn.execute(
            sql.SQL(
                "UPDATE alert_rules SET ({cols}) = ROW({values}), updated_at = now()"
                " WHERE workspace_id = {ws} AND rule_id = {id}"
            ).format(
                cols=sql.SQL(", ").join(map(sql.Identifier, _RULE_COLUMNS)),
                values=sql.SQL(", ").join(map(sql.Literal, _values(after))),
                ws=workspace_id,
                id=rule_id,
            )
        )
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="alert_rule.update",
            target=f"alert-rule/{rule_id}",
            before=_audit_view(before),
            after=_audit_view(after),
        )
    return await get_rule(conn, workspace_id, rule_id)


async def delete_rule(conn: Conn, workspace_id: str, rule_id: uuid.UUID, *, actor: str) -> bool:
    async with conn.transaction():
        rows = await _rules(
            conn,
            sql.SQL(
                "DELETE FROM alert_rules WHERE workspace_id = {ws} AND rule_id = {id}"
                " RETURNING workspace_id, rule_id, {cols}, created_at, updated_at"
            ).format(cols=sql.SQL(", ").join(map(sql.Identifier, _RULE_COLUMNS)), ws=workspace_id, id=rule_id),
        )
        if not rows:
            return False
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="alert_rule.delete",
            target=f"alert-rule/{rule_id}",
            before=_audit_view(rows[0].spec()),
            after=None,
        )
    return True


# -- destinations ------------------------------------------------------------------------------------------------

SECRET_PREFIX = "whsec_"


@dataclass(slots=True)
class DestinationRow:
    workspace_id: str
    destination_id: uuid.UUID
    name: str
    url: str
    format: str
    secret: str
    enabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def secret_hint(self) -> str:
        """What the API shows of the secret after creation: its prefix and last four characters."""
        return f"{SECRET_PREFIX}…{self.secret[-4:]}"

    def audit_view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "format": self.format,
            "enabled": self.enabled,
            "secret": self.secret_hint,
        }


_SELECT_DESTINATIONS = (
    "SELECT workspace_id, destination_id, name, url, format, secret, enabled, created_at, updated_at"
    " FROM alert_destinations"
)


async def _destinations(conn: Conn, where: str, params: tuple[Any, ...], *, lock: bool = False) -> list[DestinationRow]:
    query = f"{_SELECT_DESTINATIONS} WHERE {where} ORDER BY created_at, destination_id{' FOR UPDATE' if lock else ''}"
    async with conn.cursor(row_factory=class_row(DestinationRow)) as cur:
        await cur.execute(query.encode(), params)
        return await cur.fetchall()


async def list_destinations(conn: Conn, workspace_id: str, *, enabled_only: bool = False) -> list[DestinationRow]:
    where = "workspace_id = %s" + (" AND enabled" if enabled_only else "")
    return await _destinations(conn, where, (workspace_id,))


async def create_destination(
    conn: Conn, workspace_id: str, *, name: str, url: str, format: str, actor: str
) -> DestinationRow:
    destination_id, secret = uuid.uuid4(), SECRET_PREFIX + secrets.token_urlsafe(32)
    async with conn.transaction():
        await _below_limit(conn, workspace_id, "alert_destinations", MAX_DESTINATIONS)
        await conn.execute(
            "INSERT INTO alert_destinations (workspace_id, destination_id, name, url, format, secret)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (workspace_id, destination_id, name, url, format, secret),
        )
        row = (await _destinations(conn, "workspace_id = %s AND destination_id = %s", (workspace_id, destination_id)))[
            0
        ]
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="alert_destination.create",
            target=f"alert-destination/{destination_id}",
            before=None,
            after=row.audit_view(),
        )
    return row


async def update_destination(
    conn: Conn, workspace_id: str, destination_id: uuid.UUID, changes: dict[str, Any], *, actor: str
) -> DestinationRow | None:
    """`changes`: name, url, format, enabled, and rotate_secret (a new secret, returned once)."""
    async with conn.transaction():
        rows = await _destinations(
            conn, "workspace_id = %s AND destination_id = %s", (workspace_id, destination_id), lock=True
        )
        if not rows:
            return None
        before = rows[0]
        secret = SECRET_PREFIX + secrets.token_urlsafe(32) if changes.get("rotate_secret") else before.secret
        await conn.execute(
            "UPDATE alert_destinations SET name = %s, url = %s, format = %s, enabled = %s, secret = %s,"
            " updated_at = now() WHERE workspace_id = %s AND destination_id = %s",
            (
                changes.get("name", before.name),
                changes.get("url", before.url),
                changes.get("format", before.format),
                changes.get("enabled", before.enabled),
                secret,
                workspace_id,
                destination_id,
            ),
        )
        if before.enabled and changes.get("enabled") is False:  # as when deleted: pending ones fail, visibly
            await conn.execute(
                "UPDATE alert_deliveries SET status = 'failed', last_error = 'destination disabled',"
                " finished_at = now() WHERE workspace_id = %s AND destination_id = %s AND status = 'pending'",
                (workspace_id, destination_id),
            )
        after = (
            await _destinations(conn, "workspace_id = %s AND destination_id = %s", (workspace_id, destination_id))
        )[0]
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="alert_destination.update",
            target=f"alert-destination/{destination_id}",
            before=before.audit_view(),
            after=after.audit_view(),
        )
    return after


async def delete_destination(conn: Conn, workspace_id: str, destination_id: uuid.UUID, *, actor: str) -> bool:
    async with conn.transaction():
        rows = await _destinations(
            conn, "workspace_id = %s AND destination_id = %s", (workspace_id, destination_id), lock=True
        )
        if not rows:
            return False
        await conn.execute(
            "DELETE FROM alert_destinations WHERE workspace_id = %s AND destination_id = %s",
            (workspace_id, destination_id),
        )
        # Deliveries not yet made to it have nowhere to go: they fail, visibly, instead of waiting forever.
        await conn.execute(
            "UPDATE alert_deliveries SET status = 'failed', last_error = 'destination deleted', finished_at = now()"
            " WHERE workspace_id = %s AND destination_id = %s AND status = 'pending'",
            (workspace_id, destination_id),
        )
        await audit.record(
            conn,
            workspace_id,
            actor=actor,
            action="alert_destination.delete",
            target=f"alert-destination/{destination_id}",
            before=rows[0].audit_view(),
            after=None,
        )
    return True
