"""topErrors: the busiest errors, those hurting the most users, and the unresolved ones by priority."""

from __future__ import annotations

import datetime as dt
import heapq
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from operator import attrgetter

from otel_errors import analytics
from otel_errors.analytics import Window

from ..labels import Status
from ..queries.tracking import ErrorCount
from ._models import ByImpact, ByOccurrence, TopErrors, Unresolved

TOP_LISTED = 10
UNRESOLVED = frozenset({Status.NEW, Status.ACKNOWLEDGED, Status.INVESTIGATING})


@dataclass(frozen=True, slots=True)
class _Ranking:
    """What an error's place in the rankings depends on besides the error."""

    start: dt.datetime  # of the window
    now: dt.datetime
    all_severities: bool  # the errors' occurrences count every severity (no severity filter)


class _Ranked:
    """An error in the top-errors rankings. Its keys are computed when its users change, not at every comparison
    (the rankings are taken several times over up to 5,000 errors). One is built for each error of the window,
    so it takes two positional arguments: keyword arguments are slower to pass."""

    __slots__ = ("error", "fresh", "age", "users", "exact", "priority", "impact_key", "priority_key")

    def __init__(self, error: ErrorCount, ranking: _Ranking) -> None:
        start = ranking.start
        self.error = error
        self.fresh = error.first_seen >= start or (error.regressed_at is not None and error.regressed_at >= start)
        self.age = round((ranking.now - error.first_seen).total_seconds() / 3600.0, 1)
        # Users in the window are at most the error's lifetime users and, when `occurrences` counts all its
        # occurrences in the window (no severity filter), at most that (each such user had one there); an error
        # first seen in the window has had all its users in it (exact).
        users = min(error.users, error.occurrences) if ranking.all_severities else error.users
        self.set_users(users, error.first_seen >= start or error.users <= 0)

    def set_users(self, users: int, exact: bool) -> None:
        """`users`: exact, or an upper bound. The uuid breaks ties like its text."""
        self.users, self.exact = users, exact
        self.priority = analytics.priority(self.error.severity, self.error.occurrences, users, self.fresh)
        self.impact_key = (-users, -self.error.credits_lost, self.error.error_id)
        self.priority_key = (-self.priority, -self.age, self.error.error_id)


_impact_key = attrgetter("impact_key")
_priority_key = attrgetter("priority_key")


# Counts each error's users in the window: [(error id, count as lifetime minus earlier users)] -> {id: users}.
WindowUserCounter = Callable[[list[tuple[uuid.UUID, bool]]], Awaitable[dict[uuid.UUID, int]]]


async def _count_users_that_rank(count_window_users: WindowUserCounter, ranked: list[_Ranked]) -> None:
    """Users in the window of the errors that byImpact and unresolved rank, exact, without counting them for every
    error: an error's lifetime users bound its users in the window, so errors are read in rounds, best bound first,
    until the 10 first of both rankings are all exact (an error not read can only rank lower than its bound)."""
    unresolved = [entry for entry in ranked if entry.error.status in UNRESOLVED]
    batch = TOP_LISTED
    while True:
        missing: dict[uuid.UUID, _Ranked] = {}
        for candidates, key in ((ranked, _impact_key), (unresolved, _priority_key)):
            if not all(entry.exact for entry in heapq.nsmallest(TOP_LISTED, candidates, key=key)):
                for entry in heapq.nsmallest(batch, (other for other in candidates if not other.exact), key=key):
                    missing[entry.error.error_id] = entry
        if not missing:
            return
        # Counted from the smaller side: more occurrences in the window than lifetime users suggests most of the
        # users are recent (a cheaper complement); either way the count is exact.
        asked = [(error_id, entry.error.occurrences > entry.error.users) for error_id, entry in missing.items()]
        for error_id, users in (await count_window_users(asked)).items():
            missing[error_id].set_users(users, exact=True)
        batch *= 2


async def top_errors(
    count_window_users: WindowUserCounter,
    *,
    counts: list[ErrorCount],
    window: Window,
    now: dt.datetime,
    all_severities: bool,
) -> TopErrors:
    by_occurrence = [
        ByOccurrence(error_id=str(error.error_id), type=error.type, count=error.occurrences, last_seen=error.last_seen)
        for error in counts[:TOP_LISTED]
    ]
    ranking = _Ranking(start=window.start, now=now, all_severities=all_severities)
    ranked = [_Ranked(error, ranking) for error in counts]
    await _count_users_that_rank(count_window_users, ranked)  # exact for every error that can rank in the first 10
    by_impact = [
        ByImpact(
            error_id=str(entry.error.error_id),
            type=entry.error.type,
            users_affected=entry.users,
            credits_lost=round(entry.error.credits_lost, 2),
        )
        for entry in heapq.nsmallest(TOP_LISTED, ranked, key=_impact_key)
    ]
    open_errors = (entry for entry in ranked if entry.error.status in UNRESOLVED)
    unresolved = [
        Unresolved(error_id=str(entry.error.error_id), type=entry.error.type, age=entry.age, priority=entry.priority)
        for entry in heapq.nsmallest(TOP_LISTED, open_errors, key=_priority_key)
    ]
    return TopErrors(by_occurrence=by_occurrence, by_impact=by_impact, unresolved=unresolved)
