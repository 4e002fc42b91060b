"""The alert evaluator: runs beside the write path, never on it.

The store calls `errors_changed` and `executions_changed` after each commit (in-memory, no I/O: an OTLP
acknowledgment never waits for alerts). The evaluator's own task then reads the rollups for what changed, decides
with the pure rules (`otel_errors.alerting`), and writes alerts, incidents, queued webhook deliveries and stream
events in one transaction per workspace. Commits arriving while it works are evaluated together next.

Every `sweep_seconds` one process (a session advisory lock) checks the firing alerts: conditions that cleared
resolve their alerts, those still true re-notify once their rule's interval has passed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from otel_errors import alerting
from otel_errors.classify import Severity

from ..store import ErrorChange
from . import conditions, records, rules
from .config import AlertsConfig
from .records import Firing

log = logging.getLogger("otel_errors.exporter.alerts")

_SWEEP_LOCK = 0x6F74_6572_7273_02
_SWEEP_LIMIT = 5000
_KNOWN_WORKSPACES = 100_000


class AlertEvaluator:
    """`start()`/`shutdown()` idempotent; `evaluate()` and `sweep()` run one pass (tests call them directly).

    Two tasks: new errors and regressions (what users wait for, cheap: the commit said which errors) are decided
    as soon as a commit reports them; rules over rollups (spike, error rate, frequency) run over everything touched
    since their last pass, at most every `rollup_interval_seconds`, so their reads do not delay the first kind
    and their cost does not grow with the commit rate."""

    def __init__(self, config: AlertsConfig, *, link_base: str, queued: Callable[[], None] | None = None) -> None:
        if not config.database_url:
            raise ValueError("AlertsConfig.database_url is required")
        self.config = config
        self.link_base = config.public_url or link_base
        self._queued = queued
        self._fresh: dict[tuple[str, str], tuple[bool, bool]] = {}
        self._touched: dict[str, set[str]] = {}
        self._touched_count = 0
        self._execution_workspaces: set[str] = set()
        self._known: set[str] = set()
        self._dropped = 0
        self._fresh_wakeup = asyncio.Event()
        self._rollup_wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._conns: dict[str, psycopg.AsyncConnection[Any]] = {}
        self.evaluations = 0

    # -- the store's listeners (no I/O) ------------------------------------------------------------------------------

    def errors_changed(self, changes: list[ErrorChange]) -> None:
        # Called once per commit on the writer's event loop: ids stay strings here (parsed once per pass).
        fresh = False
        for change in changes:
            if change.created or change.regressed:
                key = (change.workspace_id, change.error_id)
                created, regressed = self._fresh.get(key, (False, False))
                self._fresh[key] = (created or change.created, regressed or change.regressed)
                fresh = True
            touched = self._touched.get(change.workspace_id)
            if touched is None:
                touched = self._touched[change.workspace_id] = set()
            if change.error_id not in touched:
                if self._touched_count >= self.config.max_pending_errors:
                    self._dropped += 1
                    continue
                touched.add(change.error_id)
                self._touched_count += 1
        if fresh:
            self._fresh_wakeup.set()
        self._rollup_wakeup.set()

    def executions_changed(self, workspaces: Iterable[str]) -> None:
        self._execution_workspaces.update(workspaces)
        self._rollup_wakeup.set()

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._loop("fresh"), name="otel-errors-alerts-fresh"),
                asyncio.create_task(self._loop("rollups"), name="otel-errors-alerts-rollups"),
            ]

    async def shutdown(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for conn in self._conns.values():
            await conn.close()
        self._conns.clear()

    async def _connection(self, name: str = "main") -> psycopg.AsyncConnection[Any]:
        conn = self._conns.get(name)
        if conn is None or conn.closed:
            conn = self._conns[name] = await psycopg.AsyncConnection.connect(
                self.config.database_url or "", autocommit=True, options="-c timezone=UTC"
            )
        return conn

    async def _loop(self, name: str) -> None:
        wakeup = self._fresh_wakeup if name == "fresh" else self._rollup_wakeup
        pause = self.config.min_interval_seconds if name == "fresh" else self.config.rollup_interval_seconds
        next_sweep = time.monotonic() + self.config.sweep_seconds
        while True:
            timeout = max(0.0, next_sweep - time.monotonic()) if name == "rollups" else None
            try:
                await asyncio.wait_for(wakeup.wait(), timeout)
            except TimeoutError:
                pass
            wakeup.clear()
            try:
                if name == "fresh":
                    await self.evaluate_fresh()
                else:
                    await self.evaluate_rollups()
                    if time.monotonic() >= next_sweep:
                        next_sweep = time.monotonic() + self.config.sweep_seconds
                        await self.sweep()
            except (psycopg.Error, OSError) as exc:
                log.warning("alert evaluation deferred: %s", exc)
                conn = self._conns.pop(name, None)
                if conn is not None:
                    await conn.close()
                await asyncio.sleep(0.5)
            except Exception:
                log.exception("alert evaluation failed")
                await asyncio.sleep(0.5)
            await asyncio.sleep(pause)

    # -- evaluation --------------------------------------------------------------------------------------------------

    async def evaluate(self) -> None:
        """One pass of both kinds (tests)."""
        await self.evaluate_fresh()
        await self.evaluate_rollups()

    async def _rules_for(
        self, conn: psycopg.AsyncConnection[Any], workspaces: list[str]
    ) -> dict[str, list[rules.RuleRow]]:
        for ws in workspaces:
            if ws not in self._known:
                await rules.ensure_defaults(conn, ws)
                if len(self._known) >= _KNOWN_WORKSPACES:
                    self._known.clear()
                self._known.add(ws)
        return await rules.enabled_rules(conn, workspaces)

    async def evaluate_fresh(self) -> None:
        """New errors and regressions reported since the last pass: stream events, new-error and regression rules.
        On a database failure what was not done is kept for the next pass."""
        fresh, self._fresh = self._fresh, {}
        if not fresh:
            return
        by_ws: dict[str, dict[uuid.UUID, tuple[bool, bool]]] = {}
        for (ws, error_id), flags in fresh.items():
            by_ws.setdefault(ws, {})[uuid.UUID(error_id)] = flags
        done: set[str] = set()
        try:
            conn = await self._connection("fresh")
            found = await self._rules_for(conn, sorted(by_ws))
            for ws, flagged in sorted(by_ws.items()):
                await self._fresh_workspace(conn, ws, found.get(ws, []), flagged)
                done.add(ws)
            self.evaluations += 1
        except BaseException:
            for (ws, error_id), (created, regressed) in fresh.items():
                if ws not in done:
                    old = self._fresh.get((ws, error_id), (False, False))
                    self._fresh[(ws, error_id)] = (old[0] or created, old[1] or regressed)
            raise

    async def _fresh_workspace(
        self,
        conn: psycopg.AsyncConnection[Any],
        ws: str,
        ws_rules: list[rules.RuleRow],
        flagged: dict[uuid.UUID, tuple[bool, bool]],
    ) -> None:
        infos = await conditions.errors(conn, ws, list(flagged))
        events: list[tuple[str, dict[str, Any]]] = []
        for eid, (created, _regressed) in sorted(flagged.items()):
            info = infos.get(eid)
            if info is None or info.facts.status == "ignored":
                continue
            events.append(
                (
                    "error.new" if created else "error.regressed",
                    {
                        "errorId": str(eid),
                        "title": info.title,
                        "severity": Severity(max(1, min(4, info.facts.severity))).label,
                        "agentId": info.facts.agent_id or None,
                        "environment": info.facts.environment or None,
                    },
                )
            )
        firings: list[Firing] = []
        for rule in ws_rules:
            spec = rule.spec()
            if spec.kind not in ("new_error", "regression"):
                continue
            index = 0 if spec.kind == "new_error" else 1
            for eid, flags in sorted(flagged.items()):
                info = infos.get(eid)
                if flags[index] and info is not None and alerting.matches(spec, info.facts):
                    label = "New error" if spec.kind == "new_error" else "Regression"
                    firings.append(_about(rule, info, f"{label}: {info.title}"))
        await self._write(conn, ws, firings, events)

    async def _write(
        self,
        conn: psycopg.AsyncConnection[Any],
        ws: str,
        firings: list[Firing],
        events: list[tuple[str, dict[str, Any]]],
    ) -> None:
        if not events and not firings:
            return
        async with conn.transaction():
            await records.lock_workspace(conn, ws)
            fired = await records.fire(
                conn, ws, firings, correlation_minutes=self.config.correlation_minutes, link_base=self.link_base
            )
            await records.append_events(conn, ws, events + fired)
        if fired and self._queued is not None:
            self._queued()

    async def evaluate_rollups(self) -> None:
        """Spike, error-rate and frequency rules over what commits touched since the last pass."""
        touched, self._touched, self._touched_count = self._touched, {}, 0
        execution_ws, self._execution_workspaces = self._execution_workspaces, set()
        if self._dropped:
            log.warning("%d changed errors were not evaluated by frequency rules (pending bound)", self._dropped)
            self._dropped = 0
        workspaces = sorted(set(touched) | execution_ws)
        if not workspaces:
            return
        done: set[str] = set()
        try:
            conn = await self._connection("rollups")
            found = await self._rules_for(conn, workspaces)
            for ws in workspaces:
                ws_rules = [r for r in found.get(ws, []) if r.kind in ("spike", "error_rate", "frequency")]
                if ws_rules:
                    ids = {uuid.UUID(e) for e in touched.get(ws, ())}
                    await self._rollup_workspace(conn, ws, ws_rules, ids, executions=ws in execution_ws)
                done.add(ws)
        except BaseException:
            for ws in workspaces:
                if ws not in done:
                    self._touched.setdefault(ws, set()).update(touched.get(ws, set()))
                    if ws in execution_ws:
                        self._execution_workspaces.add(ws)
            raise

    async def _rollup_workspace(
        self,
        conn: psycopg.AsyncConnection[Any],
        ws: str,
        ws_rules: list[rules.RuleRow],
        touched: set[uuid.UUID],
        *,
        executions: bool,
    ) -> None:
        frequency = [rule for rule in ws_rules if rule.kind == "frequency"]
        infos = await conditions.errors(conn, ws, sorted(touched)) if touched and frequency else {}
        firings: list[Firing] = []
        for rule in ws_rules:
            spec = rule.spec()
            if spec.kind == "frequency" and infos:
                firings += await self._frequency(conn, ws, rule, spec, infos)
            elif spec.kind == "spike" and touched:
                firing = await self._spike(conn, ws, rule, spec)
                if firing is not None:
                    firings.append(firing)
            elif spec.kind == "error_rate" and executions:
                firing = await self._rate(conn, ws, rule, spec)
                if firing is not None:
                    firings.append(firing)
        await self._write(conn, ws, firings, [])

    async def _frequency(
        self,
        conn: psycopg.AsyncConnection[Any],
        ws: str,
        rule: rules.RuleRow,
        spec: alerting.RuleSpec,
        infos: dict[uuid.UUID, conditions.ErrorInfo],
    ) -> list[Firing]:
        candidates = [eid for eid, info in infos.items() if alerting.matches(spec, info.facts)]
        if not candidates:
            return []
        found = await conditions.frequency(conn, ws, spec, candidates)
        out = []
        for eid in sorted(candidates):
            occurrences, users = found.get(eid, (0, 0))
            if alerting.frequency_firing(spec, occurrences, users):
                info = infos[eid]
                over_users = spec.users is not None and users > spec.users
                what = f"{users} users" if over_users else f"{occurrences} occurrences"
                firing = _about(rule, info, f"Frequent: {info.title} ({what} in {spec.window_minutes} min)")
                firing.value = float(users if over_users else occurrences)
                firing.threshold = float(spec.users if over_users and spec.users is not None else spec.threshold)
                out.append(firing)
        return out

    async def _spike(
        self, conn: psycopg.AsyncConnection[Any], ws: str, rule: rules.RuleRow, spec: alerting.RuleSpec
    ) -> Firing | None:
        counts = await conditions.spike_counts(conn, ws, spec)
        now = alerting.spike_now(spec, counts)
        if now is None:
            return None
        minutes = (len(counts) - now.first) * spec.window_minutes
        top = await conditions.top_errors(conn, ws, spec, minutes=minutes)
        infos = await conditions.errors(conn, ws, top[:1]) if top else {}
        primary = infos.get(top[0]) if top else None
        title = f"Spike: {now.current} errors in {spec.window_minutes} min"
        if primary is not None:
            title += f", mostly {primary.title}"
        return Firing(
            rule=rule,
            subject="",
            title=title,
            severity=primary.facts.severity if primary is not None else int(Severity.MEDIUM),
            error_ids=top,
            primary_error_id=top[0] if top else None,
            agent_id=primary.facts.agent_id if primary is not None else "",
            value=float(now.current),
            threshold=spec.threshold,
        )

    async def _rate(
        self, conn: psycopg.AsyncConnection[Any], ws: str, rule: rules.RuleRow, spec: alerting.RuleSpec
    ) -> Firing | None:
        executions, failed = await conditions.executions(conn, ws, spec)
        if not alerting.rate_firing(spec, executions, failed):
            return None
        rate = 100.0 * failed / executions
        scope = f" of agent {spec.agent_id}" if spec.agent_id is not None else ""
        return Firing(
            rule=rule,
            subject="",
            title=f"Error rate{scope} {rate:.1f}% over {spec.window_minutes} min ({failed} of {executions} executions)",
            severity=int(Severity.CRITICAL if rate >= 25.0 else Severity.HIGH),
            error_ids=[],
            primary_error_id=None,
            agent_id=spec.agent_id or "",
            value=round(rate, 2),
            threshold=spec.threshold,
        )

    # -- the sweep ---------------------------------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Resolve firing alerts whose condition cleared, re-notify the others when due; prune old stream events."""
        conn = await self._connection("rollups")
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_SWEEP_LOCK,))
        row = await cur.fetchone()
        if not (row and row[0]):
            return  # another process sweeps now
        try:
            firing = await records.firing(conn, limit=_SWEEP_LIMIT)
            by_ws: dict[str, list[records.AlertRow]] = {}
            for alert in firing:
                by_ws.setdefault(alert.workspace_id, []).append(alert)
            for ws, alerts in sorted(by_ws.items()):
                await self._sweep_workspace(conn, ws, alerts)
                await records.checked(conn, ws, [alert.alert_id for alert in alerts])
            await records.prune_events(conn, older_than_seconds=self.config.stream_retention_seconds)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_SWEEP_LOCK,))

    async def _sweep_workspace(
        self, conn: psycopg.AsyncConnection[Any], ws: str, alerts: list[records.AlertRow]
    ) -> None:
        by_id = {rule.rule_id: rule for rule in await rules.list_rules(conn, ws)}
        resolve: dict[str, list[uuid.UUID]] = {}
        still: list[Firing] = []
        remind: list[records.AlertRow] = []
        for alert in alerts:
            rule = by_id.get(alert.rule_id)
            if rule is None or not rule.enabled:
                resolve.setdefault("rule deleted" if rule is None else "rule disabled", []).append(alert.alert_id)
                continue
            spec = rule.spec()
            if spec.kind in ("new_error", "regression"):
                active = await conditions.last_seen_within(
                    conn, ws, [alert.primary_error_id] if alert.primary_error_id else [], spec.window_minutes
                )
                if alert.primary_error_id is None or not active.get(alert.primary_error_id, False):
                    resolve.setdefault(f"no occurrence for {spec.window_minutes} min", []).append(alert.alert_id)
                else:
                    remind.append(alert)
                continue
            if spec.kind == "frequency" and alert.primary_error_id is not None:
                infos = await conditions.errors(conn, ws, [alert.primary_error_id])
                info = infos.get(alert.primary_error_id)
                found = await self._frequency(conn, ws, rule, spec, infos) if info is not None else []
            elif spec.kind == "spike":
                firing = await self._spike(conn, ws, rule, spec)
                found = [firing] if firing is not None else []
            elif spec.kind == "error_rate":
                firing = await self._rate(conn, ws, rule, spec)
                found = [firing] if firing is not None else []
            else:
                found = []
            if found:
                still += found
            else:
                resolve.setdefault("condition cleared", []).append(alert.alert_id)
        if not resolve and not still and not remind:
            return
        async with conn.transaction():
            await records.lock_workspace(conn, ws)
            events = await records.fire(
                conn, ws, still, correlation_minutes=self.config.correlation_minutes, link_base=self.link_base
            )
            events += await records.renotify(
                conn, ws, [(a.alert_id, by_id[a.rule_id].renotify_minutes) for a in remind], link_base=self.link_base
            )
            for reason, ids in sorted(resolve.items()):
                events += await records.resolve(conn, ws, ids, reason=reason, link_base=self.link_base)
            await records.append_events(conn, ws, events)
        if events and self._queued is not None:
            self._queued()


def _about(rule: rules.RuleRow, info: conditions.ErrorInfo, title: str) -> Firing:
    return Firing(
        rule=rule,
        subject=str(info.error_id),
        title=title,
        severity=info.facts.severity,
        error_ids=[info.error_id],
        primary_error_id=info.error_id,
        agent_id=info.facts.agent_id,
    )
