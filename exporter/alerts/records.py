"""Alerts, incidents, queued webhook deliveries and stream events: written in one transaction per decision, read by
the API. The SQL of these tables lives here only.

Several processes evaluate at once: the partial unique index `alerts_one_firing` decides which one creates an
alert, and a per-workspace advisory lock, taken first by every transaction here, serializes the incident grouping
of one workspace (stream ids take the workspace's `stream_heads` row lock after it, always in that order).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import class_row

from otel_errors.classify import Severity

from . import payloads
from .rules import RuleRow

Conn = psycopg.AsyncConnection[Any]

# The first key of the workspace's advisory lock (the second: hashtext of the workspace id).
_LOCK_CLASS = 0x616C_6572  # "aler"
STREAM_CHANNEL = "otel_errors_stream"


@dataclass(slots=True)
class Firing:
    """A condition found true: what the alert for (rule, subject) says."""

    rule: RuleRow
    subject: str  # the error id, or '' for a workspace-wide rule
    title: str
    severity: int
    error_ids: list[uuid.UUID]
    primary_error_id: uuid.UUID | None
    agent_id: str = ""
    value: float | None = None
    threshold: float | None = None


@dataclass(slots=True)
class AlertRow:
    workspace_id: str
    alert_id: uuid.UUID
    rule_id: uuid.UUID
    rule_name: str | None
    kind: str
    subject: str
    status: str
    title: str
    severity: int
    error_ids: list[uuid.UUID]
    primary_error_id: uuid.UUID | None
    root_error_id: uuid.UUID | None
    agent_id: str
    value: float | None
    threshold: float | None
    incident_id: uuid.UUID | None
    first_fired_at: dt.datetime
    last_fired_at: dt.datetime
    last_notified_at: dt.datetime
    notifications: int
    resolved_at: dt.datetime | None
    resolved_reason: str | None
    deliveries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class IncidentRow:
    workspace_id: str
    incident_id: uuid.UUID
    status: str
    title: str
    severity: int
    root_error_id: uuid.UUID | None
    agent_id: str
    alerts: int
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    alert_ids: list[uuid.UUID]


@dataclass(slots=True)
class EventRow:
    event_id: int
    at: dt.datetime
    kind: str
    data: dict[str, Any]


async def lock_workspace(conn: Conn, workspace_id: str) -> None:
    """Serialize this transaction's alert decisions with every other one of the workspace (any process)."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, workspace_id))


# Retention, run by the store's upkeep (exporter/maintenance.py) with its cutoff: what is over and older than the
# window. A resolved incident's alerts were resolved no later than it (an alert joins only an open incident).
DELETE_OLD = (
    "DELETE FROM alert_delivery_attempts WHERE at < %(cutoff)s",
    "DELETE FROM alert_deliveries WHERE status <> 'pending' AND coalesce(finished_at, created_at) < %(cutoff)s",
    "DELETE FROM alerts WHERE status = 'resolved' AND resolved_at < %(cutoff)s",
    "DELETE FROM incidents WHERE status = 'resolved' AND resolved_at < %(cutoff)s",
)


# -- stream events -------------------------------------------------------------------------------------------------


async def append_events(conn: Conn, workspace_id: str, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Append events with the workspace's next ids; listeners hear of them when the transaction commits."""
    if not events:
        return
    cur = await conn.execute(
        "INSERT INTO stream_heads AS h (workspace_id, last_event_id) VALUES (%s, %s)"
        " ON CONFLICT (workspace_id) DO UPDATE SET last_event_id = h.last_event_id + EXCLUDED.last_event_id"
        " RETURNING last_event_id",
        (workspace_id, len(events)),
    )
    row = await cur.fetchone()
    assert row is not None
    first = int(row[0]) - len(events) + 1
    async with conn.cursor() as c:
        await c.executemany(
            "INSERT INTO stream_events (workspace_id, event_id, kind, data) VALUES (%s, %s, %s, %s::jsonb)",
            [(workspace_id, first + i, kind, json.dumps(data, default=str)) for i, (kind, data) in enumerate(events)],
        )
    await conn.execute("SELECT pg_notify(%s, %s)", (STREAM_CHANNEL, workspace_id))


async def events_after(
    conn: Conn, workspace_id: str, after: int, *, limit: int, before: int | None = None
) -> list[EventRow]:
    async with conn.cursor(row_factory=class_row(EventRow)) as cur:
        await cur.execute(
            "SELECT event_id, at, kind, data FROM stream_events WHERE workspace_id = %s AND event_id > %s"
            " AND (%s::bigint IS NULL OR event_id < %s::bigint) ORDER BY event_id LIMIT %s",
            (workspace_id, after, before, before, limit),
        )
        return await cur.fetchall()


async def head(conn: Conn, workspace_id: str) -> int:
    cur = await conn.execute("SELECT last_event_id FROM stream_heads WHERE workspace_id = %s", (workspace_id,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def prune_events(conn: Conn, *, older_than_seconds: int) -> int:
    cur = await conn.execute(
        "DELETE FROM stream_events WHERE at < now() - make_interval(secs => %s)", (older_than_seconds,)
    )
    return cur.rowcount


# -- firing ----------------------------------------------------------------------------------------------------------


def alert_event(alert: AlertRow, event: str) -> dict[str, Any]:
    """The stream's and the webhooks' view of an alert (texts are the stored, scrubbed ones)."""
    return {
        "event": event,
        "alertId": str(alert.alert_id),
        "ruleId": str(alert.rule_id),
        "ruleName": alert.rule_name,
        "kind": alert.kind,
        "status": alert.status,
        "title": alert.title,
        "severity": Severity(max(1, min(4, alert.severity))).label,
        "errorIds": [str(e) for e in alert.error_ids],
        "primaryErrorId": str(alert.primary_error_id) if alert.primary_error_id else None,
        "agentId": alert.agent_id or None,
        "value": alert.value,
        "threshold": alert.threshold,
        "incidentId": str(alert.incident_id) if alert.incident_id else None,
        "firstFiredAt": alert.first_fired_at.isoformat(),
        "lastFiredAt": alert.last_fired_at.isoformat(),
        "resolvedAt": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "resolvedReason": alert.resolved_reason,
    }


_ALERT_COLUMNS = (
    "a.workspace_id, a.alert_id, a.rule_id, r.name AS rule_name, a.kind, a.subject, a.status, a.title, a.severity,"
    " a.error_ids, a.primary_error_id, a.root_error_id, a.agent_id, a.value, a.threshold, a.incident_id,"
    " a.first_fired_at, a.last_fired_at, a.last_notified_at, a.notifications, a.resolved_at, a.resolved_reason"
)
_ALERT_FROM = " FROM alerts a LEFT JOIN alert_rules r ON r.workspace_id = a.workspace_id AND r.rule_id = a.rule_id"


async def _alerts(conn: Conn, where: str, params: Sequence[Any], tail: str = "") -> list[AlertRow]:
    async with conn.cursor(row_factory=class_row(AlertRow)) as cur:
        await cur.execute(f"SELECT {_ALERT_COLUMNS}{_ALERT_FROM} WHERE {where}{tail}".encode(), params)
        return await cur.fetchall()


async def _root_of(conn: Conn, workspace_id: str, error_id: uuid.UUID | None) -> uuid.UUID | None:
    """The root of the most frequent chain the error is part of (docs/metrics.md, chains), else the error."""
    if error_id is None:
        return None
    cur = await conn.execute(
        "SELECT root_error_id FROM error_chains WHERE workspace_id = %s"
        " AND (root_error_id = %s OR %s = ANY(cascade_error_ids)) ORDER BY executions DESC, chain_id LIMIT 1",
        (workspace_id, error_id, error_id),
    )
    row = await cur.fetchone()
    return row[0] if row else error_id


async def fire(
    conn: Conn, workspace_id: str, firings: Sequence[Firing], *, correlation_minutes: int, link_base: str
) -> list[tuple[str, dict[str, Any]]]:
    """Create or refresh the alerts of `firings`; call inside a transaction after `lock_workspace`. Returns the
    stream events to append (alerts fired or re-notified, incidents opened or updated); deliveries are queued.

    A condition that stays true is found again by every rollup pass: its alert is refreshed for all of them in
    three statements (which are firing, refresh, re-notify when due), not per alert; only new alerts take the
    per-alert path (root, insert, incident)."""
    events: list[tuple[str, dict[str, Any]]] = []
    firing_now = await _firing_ids(conn, workspace_id, firings)
    refresh = [
        (firing_now[(f.rule.rule_id, f.subject)], f) for f in firings if (f.rule.rule_id, f.subject) in firing_now
    ]
    if refresh:
        await conn.execute(
            "UPDATE alerts a SET last_fired_at = now(), value = u.value,"
            " error_ids = string_to_array(u.error_ids, ',')::uuid[]"
            " FROM unnest(%s::uuid[], %s::float8[], %s::text[]) AS u(alert_id, value, error_ids)"
            " WHERE a.workspace_id = %s AND a.alert_id = u.alert_id AND a.status = 'firing'",
            (
                [alert_id for alert_id, _f in refresh],
                [f.value for _id, f in refresh],
                [",".join(str(e) for e in f.error_ids) for _id, f in refresh],
                workspace_id,
            ),
        )
        events += await renotify(
            conn, workspace_id, [(alert_id, f.rule.renotify_minutes) for alert_id, f in refresh], link_base=link_base
        )
    for f in firings:
        if (f.rule.rule_id, f.subject) in firing_now:
            continue
        root = await _root_of(conn, workspace_id, f.primary_error_id)
        cur = await conn.execute(
            "INSERT INTO alerts AS a (workspace_id, alert_id, rule_id, kind, subject, status, title, severity,"
            " error_ids, primary_error_id, root_error_id, agent_id, value, threshold)"
            " VALUES (%s, %s, %s, %s, %s, 'firing', %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (workspace_id, rule_id, subject) WHERE status = 'firing' DO UPDATE SET"
            " last_fired_at = EXCLUDED.last_fired_at, value = EXCLUDED.value, error_ids = EXCLUDED.error_ids"
            " RETURNING alert_id, (xmax = 0) AS created",
            (
                workspace_id,
                uuid.uuid4(),
                f.rule.rule_id,
                f.rule.kind,
                f.subject,
                f.title,
                f.severity,
                f.error_ids,
                f.primary_error_id,
                root,
                f.agent_id,
                f.value,
                f.threshold,
            ),
        )
        row = await cur.fetchone()
        assert row is not None
        alert_id, created = row[0], bool(row[1])
        if created:
            incident = await _join_incident(
                conn, workspace_id, alert_id, f, root, correlation_minutes=correlation_minutes
            )
            alert = (await _alerts(conn, "a.workspace_id = %s AND a.alert_id = %s", (workspace_id, alert_id)))[0]
            events.append(("alert.fired", alert_event(alert, "fired")))
            events += incident
            await queue_deliveries(conn, alert, "fired", link_base=link_base)
        else:  # the same (rule, subject) twice in `firings`: the first created it
            events += await renotify(conn, workspace_id, [(alert_id, f.rule.renotify_minutes)], link_base=link_base)
    return events


async def _firing_ids(
    conn: Conn, workspace_id: str, firings: Sequence[Firing]
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """The firing alert of each (rule, subject) of `firings` that has one."""
    if not firings:
        return {}
    cur = await conn.execute(
        "SELECT a.rule_id, a.subject, a.alert_id FROM alerts a"
        " JOIN unnest(%s::uuid[], %s::text[]) AS k(rule_id, subject) USING (rule_id, subject)"
        " WHERE a.workspace_id = %s AND a.status = 'firing'",
        ([f.rule.rule_id for f in firings], [f.subject for f in firings], workspace_id),
    )
    return {(rule_id, subject): alert_id for rule_id, subject, alert_id in await cur.fetchall()}


async def renotify(
    conn: Conn, workspace_id: str, due: Sequence[tuple[uuid.UUID, int]], *, link_base: str
) -> list[tuple[str, dict[str, Any]]]:
    """Notify again about firing alerts whose last notification is `minutes` old (0: never), given as
    (alert id, minutes). The rows' update decides: of two processes, the second finds them already notified."""
    due = [(alert_id, minutes) for alert_id, minutes in due if minutes > 0]
    if not due:
        return []
    cur = await conn.execute(
        "UPDATE alerts a SET last_notified_at = now(), notifications = a.notifications + 1"
        " FROM unnest(%s::uuid[], %s::int4[]) AS u(alert_id, minutes)"
        " WHERE a.workspace_id = %s AND a.alert_id = u.alert_id AND a.status = 'firing'"
        " AND a.last_notified_at <= now() - make_interval(mins => u.minutes) RETURNING a.alert_id",
        ([alert_id for alert_id, _m in due], [minutes for _a, minutes in due], workspace_id),
    )
    notified = [row[0] for row in await cur.fetchall()]
    if not notified:
        return []
    events: list[tuple[str, dict[str, Any]]] = []
    fresh = await _alerts(
        conn, "a.workspace_id = %s AND a.alert_id = ANY(%s)", (workspace_id, notified), " ORDER BY a.alert_id"
    )
    for alert in fresh:
        await queue_deliveries(conn, alert, "renotified", link_base=link_base)
        events.append(("alert.renotified", alert_event(alert, "renotified")))
    return events


async def _join_incident(
    conn: Conn, workspace_id: str, alert_id: uuid.UUID, f: Firing, root: uuid.UUID | None, *, correlation_minutes: int
) -> list[tuple[str, dict[str, Any]]]:
    """Put a new alert into the open incident it shares a root cause or (recently) an agent with, else a new one."""
    cur = await conn.execute(
        "SELECT i.incident_id FROM incidents i WHERE i.workspace_id = %(ws)s AND i.status = 'open' AND EXISTS ("
        " SELECT 1 FROM alerts a WHERE a.workspace_id = %(ws)s AND a.incident_id = i.incident_id AND ("
        "  (%(root)s::uuid IS NOT NULL AND (a.root_error_id = %(root)s OR a.primary_error_id = %(root)s))"
        "  OR (%(primary)s::uuid IS NOT NULL AND (a.primary_error_id = %(primary)s OR a.root_error_id = %(primary)s))"
        "  OR (%(agent)s <> '' AND a.agent_id = %(agent)s"
        "      AND a.last_fired_at >= now() - make_interval(mins => %(minutes)s))))"
        " ORDER BY i.opened_at, i.incident_id LIMIT 1",
        {
            "ws": workspace_id,
            "root": root,
            "primary": f.primary_error_id,
            "agent": f.agent_id,
            "minutes": correlation_minutes,
        },
    )
    row = await cur.fetchone()
    if row is None:
        incident_id, kind = uuid.uuid4(), "incident.opened"
        await conn.execute(
            "INSERT INTO incidents (workspace_id, incident_id, status, title, severity, root_error_id, agent_id,"
            " alerts) VALUES (%s, %s, 'open', %s, %s, %s, %s, 1)",
            (workspace_id, incident_id, f.title, f.severity, root, f.agent_id),
        )
    else:
        incident_id, kind = row[0], "incident.updated"
        await conn.execute(
            "UPDATE incidents SET alerts = alerts + 1, severity = greatest(severity, %s), updated_at = now()"
            " WHERE workspace_id = %s AND incident_id = %s",
            (f.severity, workspace_id, incident_id),
        )
    await conn.execute(
        "UPDATE alerts SET incident_id = %s WHERE workspace_id = %s AND alert_id = %s",
        (incident_id, workspace_id, alert_id),
    )
    incident = await get_incident(conn, workspace_id, incident_id)
    assert incident is not None
    return [(kind, incident_event(incident))]


def incident_event(incident: IncidentRow) -> dict[str, Any]:
    return {
        "incidentId": str(incident.incident_id),
        "status": incident.status,
        "title": incident.title,
        "severity": Severity(max(1, min(4, incident.severity))).label,
        "alerts": incident.alerts,
        "alertIds": [str(a) for a in incident.alert_ids],
        "rootErrorId": str(incident.root_error_id) if incident.root_error_id else None,
        "agentId": incident.agent_id or None,
        "openedAt": incident.opened_at.isoformat(),
        "updatedAt": incident.updated_at.isoformat(),
        "resolvedAt": incident.resolved_at.isoformat() if incident.resolved_at else None,
    }


# -- resolving -------------------------------------------------------------------------------------------------------


async def resolve(
    conn: Conn, workspace_id: str, alert_ids: Sequence[uuid.UUID], *, reason: str, link_base: str
) -> list[tuple[str, dict[str, Any]]]:
    """Resolve firing alerts (and incidents left with none firing); call inside a transaction after
    `lock_workspace`. Returns the stream events; deliveries are queued."""
    if not alert_ids:
        return []
    cur = await conn.execute(
        "UPDATE alerts SET status = 'resolved', resolved_at = now(), resolved_reason = %s"
        " WHERE workspace_id = %s AND alert_id = ANY(%s) AND status = 'firing' RETURNING alert_id",
        (reason, workspace_id, list(alert_ids)),
    )
    resolved = [row[0] for row in await cur.fetchall()]
    if not resolved:
        return []
    events: list[tuple[str, dict[str, Any]]] = []
    alerts = await _alerts(conn, "a.workspace_id = %s AND a.alert_id = ANY(%s)", (workspace_id, resolved))
    for alert in alerts:
        events.append(("alert.resolved", alert_event(alert, "resolved")))
        await queue_deliveries(conn, alert, "resolved", link_base=link_base)
    incidents = sorted({a.incident_id for a in alerts if a.incident_id is not None})
    cur = await conn.execute(
        "UPDATE incidents i SET status = 'resolved', resolved_at = now(), updated_at = now()"
        " WHERE i.workspace_id = %s AND i.incident_id = ANY(%s) AND i.status = 'open' AND NOT EXISTS ("
        " SELECT 1 FROM alerts a WHERE a.workspace_id = i.workspace_id AND a.incident_id = i.incident_id"
        " AND a.status = 'firing') RETURNING incident_id",
        (workspace_id, incidents),
    )
    for (incident_id,) in await cur.fetchall():
        incident = await get_incident(conn, workspace_id, incident_id)
        assert incident is not None
        events.append(("incident.resolved", incident_event(incident)))
    return events


async def firing_for_error(conn: Conn, workspace_id: str, error_id: uuid.UUID) -> list[uuid.UUID]:
    """Firing alerts about one error (new error, regression, frequency): resolved with it."""
    cur = await conn.execute(
        "SELECT alert_id FROM alerts WHERE workspace_id = %s AND primary_error_id = %s AND status = 'firing'"
        " AND subject <> ''",
        (workspace_id, error_id),
    )
    return [row[0] for row in await cur.fetchall()]


async def firing_for_rule(conn: Conn, workspace_id: str, rule_id: uuid.UUID) -> list[uuid.UUID]:
    cur = await conn.execute(
        "SELECT alert_id FROM alerts WHERE workspace_id = %s AND rule_id = %s AND status = 'firing'",
        (workspace_id, rule_id),
    )
    return [row[0] for row in await cur.fetchall()]


async def firing(conn: Conn, *, limit: int) -> list[AlertRow]:
    """Firing alerts of every workspace, the least recently checked first (the sweep)."""
    # By the last check, not the last firing: an alert that stays true (a long-window rule) goes to the back once
    # checked, so a tenant with thousands of them cannot hold the front of every sweep.
    return await _alerts(conn, "a.status = 'firing'", (), f" ORDER BY a.last_checked_at LIMIT {int(limit)}")


async def checked(conn: Conn, workspace_id: str, alert_ids: list[uuid.UUID]) -> None:
    await conn.execute(
        "UPDATE alerts SET last_checked_at = now() WHERE workspace_id = %s AND alert_id = ANY(%s)",
        (workspace_id, alert_ids),
    )


# -- deliveries ------------------------------------------------------------------------------------------------------


async def queue_deliveries(conn: Conn, alert: AlertRow, event: str, *, link_base: str) -> int:
    """One pending delivery per enabled destination of the workspace, its body fixed now."""
    cur = await conn.execute(
        "SELECT destination_id, format FROM alert_destinations WHERE workspace_id = %s AND enabled",
        (alert.workspace_id,),
    )
    rows = await cur.fetchall()
    if not rows:
        return 0
    view = alert_event(alert, event)
    link = payloads.error_link(link_base, alert.workspace_id, alert.primary_error_id)
    async with conn.cursor() as c:
        await c.executemany(
            "INSERT INTO alert_deliveries (workspace_id, delivery_id, alert_id, destination_id, event, body, status)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'pending')",
            [
                (
                    alert.workspace_id,
                    uuid.uuid4(),
                    alert.alert_id,
                    destination_id,
                    event,
                    payloads.body(fmt, view, workspace_id=alert.workspace_id, link=link),
                )
                for destination_id, fmt in rows
            ],
        )
    return len(rows)


# -- reads (API) -----------------------------------------------------------------------------------------------------


async def list_alerts(
    conn: Conn, workspace_id: str, *, status: str | None, limit: int, before: tuple[dt.datetime, uuid.UUID] | None
) -> list[AlertRow]:
    where, params = "a.workspace_id = %s", list[Any]([workspace_id])
    if status is not None:
        where += " AND a.status = %s"
        params.append(status)
    if before is not None:
        where += " AND (a.last_fired_at, a.alert_id) < (%s, %s)"
        params += [before[0], before[1]]
    alerts = await _alerts(conn, where, params, f" ORDER BY a.last_fired_at DESC, a.alert_id DESC LIMIT {int(limit)}")
    if alerts:
        cur = await conn.execute(
            "SELECT d.alert_id, d.destination_id, d.event, d.status, d.attempts, d.last_error, d.created_at,"
            " d.finished_at FROM alert_deliveries d WHERE d.workspace_id = %s AND d.alert_id = ANY(%s)"
            " ORDER BY d.created_at, d.delivery_id",
            (workspace_id, [a.alert_id for a in alerts]),
        )
        by_alert = {a.alert_id: a for a in alerts}
        for alert_id, destination_id, event, status_, attempts, error, created, finished in await cur.fetchall():
            by_alert[alert_id].deliveries.append(
                {
                    "destinationId": str(destination_id),
                    "event": event,
                    "status": status_,
                    "attempts": attempts,
                    "lastError": error,
                    "createdAt": created,
                    "finishedAt": finished,
                }
            )
    return alerts


_INCIDENT_SELECT = (
    "SELECT i.workspace_id, i.incident_id, i.status, i.title, i.severity, i.root_error_id, i.agent_id, i.alerts,"
    " i.opened_at, i.updated_at, i.resolved_at, coalesce((SELECT array_agg(a.alert_id ORDER BY a.first_fired_at)"
    " FROM alerts a WHERE a.workspace_id = i.workspace_id AND a.incident_id = i.incident_id), '{}') AS alert_ids"
    " FROM incidents i"
)


async def get_incident(conn: Conn, workspace_id: str, incident_id: uuid.UUID) -> IncidentRow | None:
    async with conn.cursor(row_factory=class_row(IncidentRow)) as cur:
        await cur.execute(
            f"{_INCIDENT_SELECT} WHERE i.workspace_id = %s AND i.incident_id = %s".encode(),
            (workspace_id, incident_id),
        )
        return await cur.fetchone()


async def list_incidents(conn: Conn, workspace_id: str, *, status: str | None, limit: int) -> list[IncidentRow]:
    where, params = "i.workspace_id = %s", list[Any]([workspace_id])
    if status is not None:
        where += " AND i.status = %s"
        params.append(status)
    async with conn.cursor(row_factory=class_row(IncidentRow)) as cur:
        await cur.execute(
            f"{_INCIDENT_SELECT} WHERE {where}"
            f" ORDER BY i.updated_at DESC, i.incident_id DESC LIMIT {int(limit)}".encode(),
            params,
        )
        return await cur.fetchall()
