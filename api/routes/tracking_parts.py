"""Sections of the error-tracking object built from rollup rows (the rules live in otel_errors.analytics)."""

from __future__ import annotations

import datetime as dt
import heapq
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from operator import attrgetter

from otel_errors import analytics as a

from .. import labels
from ..queries import tracking as q
from ..tracking_models import (
    AgentCorrelation,
    ByImpact,
    ByOccurrence,
    ByType,
    Correlations,
    PatternOut,
    TopErrors,
    TypeSample,
    Unresolved,
    UserCorrelation,
)

TYPES_LISTED = 20
SAMPLES_PER_TYPE = 3
TOP_LISTED = 10
UNRESOLVED = ("new", "acknowledged", "investigating")


async def by_type(
    conn: q.AConn, ws: str, w: a.Window, counts: list[q.ErrorCount], previous: dict[str, int]
) -> list[ByType]:
    """Occurrences per exception type; category of its busiest error, severity the highest of its errors."""
    grouped: dict[str, list[q.ErrorCount]] = defaultdict(list)
    for c in counts:  # busiest first, so grouped[type][0] is the type's busiest error
        grouped[c.type].append(c)
    before = previous
    total = sum(c.n for c in counts)
    ranked = sorted(grouped.items(), key=lambda kv: (-sum(c.n for c in kv[1]), kv[0]))[:TYPES_LISTED]
    top_ids = [errors[0].error_id for _, errors in ranked]
    found = await q.samples(conn, ws, top_ids, w.start, SAMPLES_PER_TYPE) if top_ids else []
    by_error: dict[str, list[TypeSample]] = defaultdict(list)
    for s in found:
        by_error[str(s.error_id)].append(
            TypeSample(error_id=str(s.error_id), message=s.message, stack_trace=s.stacktrace, occurred_at=s.occurred_at)
        )
    out = []
    for type_, errors in ranked:
        count = sum(c.n for c in errors)
        out.append(
            ByType(
                type=type_,
                category=labels.CATEGORY.get(errors[0].category, "unknown"),  # type: ignore[arg-type]
                count=count,
                percentage=a.percent(count, total),
                trend=a.trend(count, before.get(type_, 0)),
                severity=labels.SEVERITY.get(max(c.severity for c in errors), "medium"),  # type: ignore[arg-type]
                samples=by_error.get(str(errors[0].error_id), []),
            )
        )
    return out


def patterns(
    hourly: list[tuple[dt.datetime, int]],
    versions: list[tuple[str, int, dt.datetime]],
    users: list[q.PersonRow],
    agents: list[q.PersonRow],
    counts: list[q.ErrorCount],
) -> list[PatternOut]:
    out = []
    for r in a.recurring_hours(hourly)[:3]:
        out.append(
            PatternOut(
                pattern=f"errors recur daily at {r.hour:02d}:00 UTC",
                frequency=r.days,
                last_occurrence=r.last,
                correlation=f"hour of day {r.hour:02d}:00 UTC",
            )
        )
    for version, n, last in versions:
        out.append(
            PatternOut(
                pattern=f"{n} new error(s) began right after service.version {version} appeared",
                frequency=n,
                last_occurrence=last,
                correlation=f"service.version {version}",
            )
        )
    for kind, rows in (("agent", agents), ("user", users)):
        hit = a.concentration({r.key: r.frequency for r in rows})
        if hit is not None:
            last = next(r.last_seen for r in rows if r.key == hit[0])
            out.append(
                PatternOut(
                    pattern=f"errors concentrated on {kind} {hit[0]}",
                    frequency=int(hit[1]),
                    last_occurrence=last,
                    correlation=f"{kind} {hit[0]}",
                )
            )
    environments: dict[str, int] = defaultdict(int)
    for c in counts:
        if c.environment:
            environments[c.environment] += c.n
    env = a.concentration(environments)
    if env is not None:
        last = max(c.last_seen for c in counts if c.environment == env[0])
        out.append(
            PatternOut(
                pattern=f"errors concentrated on environment {env[0]}",
                frequency=int(env[1]),
                last_occurrence=last,
                correlation=f"environment {env[0]}",
            )
        )
    return out


class _Ranked:
    """An error in the top-errors rankings. Its keys are computed when its users change, not at every comparison
    (the rankings are taken several times over up to 5,000 errors: 80 ms of priority() per 7d request)."""

    __slots__ = ("c", "fresh", "age", "users", "known", "priority", "impact_key", "priority_key")

    def __init__(self, c: q.ErrorCount, fresh: bool, age: float, users: int, known: bool) -> None:
        self.c, self.fresh, self.age = c, fresh, age
        self.set_users(users, known)

    def set_users(self, users: int, known: bool) -> None:
        """`users`: exact when `known`, else an upper bound (see top_errors). The uuid breaks ties like its text."""
        self.users, self.known = users, known
        self.priority = a.priority(self.c.severity, self.c.n, users, self.fresh)
        self.impact_key = (-users, -self.c.credits_lost, self.c.error_id)
        self.priority_key = (-self.priority, -self.age, self.c.error_id)


_impact_key = attrgetter("impact_key")
_priority_key = attrgetter("priority_key")


# Counts each error's users in the window: [(error id, count as lifetime minus earlier users)] -> {id: users}.
UserCounter = Callable[[list[tuple[uuid.UUID, bool]]], Awaitable[dict[uuid.UUID, int]]]


async def _window_users(count: UserCounter, rows: list[_Ranked]) -> None:
    """Users in the window of the errors that byImpact and unresolved rank, exact, without counting them for every
    error: an error's lifetime users bound its users in the window, so errors are read in rounds, best bound first,
    until the 10 first of both rankings are all exact (an error not read can only rank lower than its bound)."""
    unresolved = [r for r in rows if r.c.status in UNRESOLVED]
    batch = TOP_LISTED
    while True:
        missing: dict[uuid.UUID, _Ranked] = {}
        for pool, key in ((rows, _impact_key), (unresolved, _priority_key)):
            if not all(r.known for r in heapq.nsmallest(TOP_LISTED, pool, key=key)):
                for r in heapq.nsmallest(batch, (r for r in pool if not r.known), key=key):
                    missing[r.c.error_id] = r
        if not missing:
            return
        # Counted from the smaller side: more occurrences in the window than lifetime users suggests most of the
        # users are recent (a cheaper complement); either way the count is exact.
        asked = [(error_id, r.c.n > r.c.users) for error_id, r in missing.items()]
        for error_id, n in (await count(asked)).items():
            missing[error_id].set_users(n, True)
        batch *= 2


async def top_errors(
    count: UserCounter, counts: list[q.ErrorCount], w: a.Window, now: dt.datetime, all_severities: bool
) -> TopErrors:
    by_occurrence = [
        ByOccurrence(error_id=str(c.error_id), type=c.type, count=c.n, last_seen=c.last_seen)
        for c in counts[:TOP_LISTED]
    ]
    # Users in the window are at most the error's lifetime users and, when `n` counts all its occurrences in the
    # window (no severity filter), at most `n` (each such user had one there); an error first seen in the window
    # has had all its users in it (exact).
    start = w.start
    rows = [
        _Ranked(
            c,
            c.first_seen >= start or (c.regressed_at is not None and c.regressed_at >= start),
            round((now - c.first_seen).total_seconds() / 3600.0, 1),
            min(c.users, c.n) if all_severities else c.users,
            c.first_seen >= start or c.users <= 0,
        )
        for c in counts
    ]
    await _window_users(count, rows)  # exact for every error that can rank in the first 10
    by_impact = [
        ByImpact(
            error_id=str(r.c.error_id), type=r.c.type, users_affected=r.users, credits_lost=round(r.c.credits_lost, 2)
        )
        for r in heapq.nsmallest(TOP_LISTED, rows, key=_impact_key)
    ]
    unresolved = heapq.nsmallest(TOP_LISTED, (r for r in rows if r.c.status in UNRESOLVED), key=_priority_key)
    ranked = [Unresolved(error_id=str(r.c.error_id), type=r.c.type, age=r.age, priority=r.priority) for r in unresolved]
    return TopErrors(by_occurrence=by_occurrence, by_impact=by_impact, unresolved=ranked)


def correlations(users: list[q.PersonRow], agents: list[q.PersonRow], executions: list[q.ExecutionRow]) -> Correlations:
    runs = {x.agent_id: x for x in executions}
    agent_rows = []
    for r in agents[:TOP_LISTED]:
        x = runs.get(r.key)
        agent_rows.append(
            AgentCorrelation(
                agent_id=r.key,
                agent_name=(x.agent_name if x and x.agent_name else r.key),
                error_types=sorted(r.error_types)[:5],
                error_rate=a.percent(x.failed, x.executions) if x else 0.0,
                common_cause=r.top_error,
            )
        )
    user_rows = [
        UserCorrelation(
            user_id=r.key, error_types=sorted(r.error_types)[:5], frequency=r.frequency, possible_cause=r.top_error
        )
        for r in users[:TOP_LISTED]
    ]
    return Correlations(agent_correlation=agent_rows, user_correlation=user_rows, error_chains=[])
