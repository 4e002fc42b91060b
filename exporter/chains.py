"""The chain linker: links the errors of recently changed traces into cascading-failure chains, from what is
committed, so spans that reach different processes or arrive in any order end in the same chains.

Each commit queues the traces it may give a chain to (`chain_pending`, _recovery_sql.ENQUEUE_CHAINS). A linker in
every process claims queued traces (FOR UPDATE SKIP LOCKED: no two claim one), locks each trace (an advisory lock:
a trace queued again and claimed elsewhere waits), reads the trace's committed occurrences and, for a trace with
two errors or more, its error spans, links them with the pure `otel_errors.chains.link`, and replaces what the
trace held: its chains (`trace_chains`, counted per hour in `chain_hourly` and per shape in `error_chains`) and
the errors that caused another (`trace_causes`, counted in `errors.cascading_failures`). Replacing, not adding,
makes linking a trace again harmless.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg

from otel_errors.chains import ErrorAt, SpanNode, TraceLinks, link
from otel_errors.errors import StoreUnavailable

from . import _chains_sql as q
from .citus import has_citus
from .config import StoreConfig

log = logging.getLogger("otel_errors.exporter.chains")

TraceKey = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class TraceResult:
    """What one trace holds after linking: chain id -> (root, cascade, hour), and the causes."""

    chains: dict[uuid.UUID, tuple[uuid.UUID, tuple[uuid.UUID, ...], dt.datetime]]
    causes: dict[uuid.UUID, dt.datetime]


class ChainLinker:
    """Runs `link_pending` when woken (after a commit) and every `interval_seconds`; idempotent start/shutdown."""

    def __init__(self, config: StoreConfig, *, interval_seconds: float = 0.5, batch_traces: int = 500) -> None:
        if not config.database_url:
            raise ValueError("StoreConfig.database_url is required")
        self.config = config
        self._interval = interval_seconds
        self._batch = batch_traces
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._citus: bool | None = None  # known at the first claim

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="otel-errors-chain-linker")

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def wake(self, *_args: object) -> None:
        """A commit listener: something may be queued."""
        self._wakeup.set()

    async def _loop(self) -> None:
        conn: psycopg.AsyncConnection[Any] | None = None
        last_run = 0.0
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._interval)
            except TimeoutError:
                pass
            # A busy store commits many times a second; a batch costs about ten statements whatever its size, so
            # the traces of all commits within an interval are linked together.
            await asyncio.sleep(max(0.0, last_run + self._interval - time.monotonic()))
            self._wakeup.clear()
            last_run = time.monotonic()
            try:
                if conn is None or conn.closed:
                    conn = await _connect(self.config)
                while await self.link_pending(conn) == self._batch:
                    await asyncio.sleep(0)  # more queued: go on, letting the event loop serve requests between
            except (psycopg.Error, OSError, StoreUnavailable) as exc:
                log.warning("chain linking deferred: %s", exc)
                if conn is not None:
                    await conn.close()
                conn = None
                await asyncio.sleep(self._interval)

    async def link_pending(self, conn: psycopg.AsyncConnection[Any]) -> int:
        """Claim up to `batch_traces` queued traces and link them; returns how many were claimed."""
        async with conn.transaction():
            claimed = await self._claim(conn)
            if not claimed:
                return 0
            keys = sorted({(ws, trace) for ws, trace, _first, _last in claimed})
            workspaces, traces = [k[0] for k in keys], [k[1] for k in keys]
            await conn.execute(q.LOCK_TRACES, {"workspaces": workspaces, "traces": traces})
            window = {
                "from": min(first for *_k, first, _last in claimed) - dt.timedelta(days=1),
                "to": max(last for *_k, _first, last in claimed) + dt.timedelta(days=1),
                "workspaces": workspaces,
                "traces": traces,
            }
            errors, first_seen = await self._occurrences(conn, window)
            # Chains join different errors: a trace with one error has none, now or before (a trace never loses an
            # error; the settle step removes only copies of one it keeps). Most traces have one: they cost the
            # statements above and nothing more.
            keys = [key for key in keys if len({e.error_id for e in errors.get(key, ())}) > 1]
            if keys:
                window |= {"workspaces": [k[0] for k in keys], "traces": [k[1] for k in keys]}
                results = await self._link(conn, keys, window, errors, first_seen)
                await self._replace(conn, keys, results, window)
        return len(claimed)

    async def _claim(self, conn: psycopg.AsyncConnection[Any]) -> list[tuple[str, bytes, dt.datetime, dt.datetime]]:
        if self._citus is None:
            self._citus = await has_citus(conn)
        if not self._citus:
            rows = await (await conn.execute(q.CLAIM, {"limit": self._batch})).fetchall()
        else:
            rows = []
            candidates = await (await conn.execute(q.CANDIDATES, {"limit": self._batch})).fetchall()
            for workspace, traces in candidates:
                claim = {"workspace": workspace, "traces": traces}
                rows += await (await conn.execute(q.CLAIM_WORKSPACE, claim)).fetchall()
        return [(str(ws), bytes(trace), first, last) for ws, trace, first, last in rows]

    async def _occurrences(
        self, conn: psycopg.AsyncConnection[Any], window: dict[str, Any]
    ) -> tuple[dict[TraceKey, list[ErrorAt]], dict[tuple[TraceKey, str], dt.datetime]]:
        """The claimed traces' occurrences (span, error) and when each error was first seen in each."""
        errors: dict[TraceKey, list[ErrorAt]] = {}
        first_seen: dict[tuple[TraceKey, str], dt.datetime] = {}
        for ws, trace, span_id, error_id, at in await (
            await conn.execute(q.CITUS_OCCURRENCES if self._citus else q.OCCURRENCES, window)
        ).fetchall():
            key = (ws, bytes(trace))  # error ids as text (the query's cast): what link() compares
            errors.setdefault(key, []).append(ErrorAt(bytes(span_id), error_id))
            seen = first_seen.get((key, error_id))
            if seen is None or at < seen:
                first_seen[(key, error_id)] = at
        return errors, first_seen

    async def _link(
        self,
        conn: psycopg.AsyncConnection[Any],
        keys: list[TraceKey],
        window: dict[str, Any],
        errors: dict[TraceKey, list[ErrorAt]],
        first_seen: dict[tuple[TraceKey, str], dt.datetime],
    ) -> dict[TraceKey, TraceResult]:
        citus = bool(self._citus)  # known: the claim came first
        spans: dict[TraceKey, list[SpanNode]] = {}
        started: dict[tuple[TraceKey, bytes], dt.datetime] = {}
        for ws, trace, span_id, parent, at in await (
            await conn.execute(q.CITUS_SPANS if citus else q.SPANS, window)
        ).fetchall():
            key = (ws, bytes(trace))
            spans.setdefault(key, []).append(SpanNode(bytes(span_id), bytes(parent)))
            started[(key, bytes(span_id))] = at
        contained = _contained(
            spans, started, await (await conn.execute(q.CITUS_RECOVERED if citus else q.RECOVERED, window)).fetchall()
        )
        results: dict[TraceKey, TraceResult] = {}
        for key in keys:
            links: TraceLinks = link(spans.get(key, ()), errors.get(key, ()), contained.get(key, ()))
            chains = {}
            for chain in links.chains:
                root = uuid.UUID(chain.root)
                cascade = tuple(uuid.UUID(e) for e in chain.cascading)
                hour = first_seen[(key, chain.root)].replace(minute=0, second=0, microsecond=0)
                chains[chain_id(root, cascade)] = (root, cascade, hour)
            causes = {
                uuid.UUID(e): first_seen[(key, e)].replace(minute=0, second=0, microsecond=0) for e in links.causes
            }
            results[key] = TraceResult(chains, causes)
        return results

    async def _replace(
        self,
        conn: psycopg.AsyncConnection[Any],
        keys: list[TraceKey],
        results: dict[TraceKey, TraceResult],
        window: dict[str, Any],
    ) -> None:
        old_chains: dict[TraceKey, dict[uuid.UUID, dt.datetime]] = {}
        for ws, trace, chain, hour in await (await conn.execute(q.OLD_CHAINS, window)).fetchall():
            old_chains.setdefault((ws, bytes(trace)), {})[chain] = hour
        old_causes: dict[TraceKey, set[uuid.UUID]] = {}
        for ws, trace, error_id in await (await conn.execute(q.OLD_CAUSES, window)).fetchall():
            old_causes.setdefault((ws, bytes(trace)), set()).add(error_id)
        hourly: Counter[tuple[str, dt.datetime, uuid.UUID]] = Counter()
        added: dict[tuple[str, uuid.UUID], tuple[uuid.UUID, tuple[uuid.UUID, ...], dt.datetime, dt.datetime, int]] = {}
        removed: Counter[tuple[str, uuid.UUID]] = Counter()
        cascades: Counter[tuple[str, uuid.UUID]] = Counter()
        rows_chains: list[tuple[str, bytes, uuid.UUID, dt.datetime]] = []
        rows_causes: list[tuple[str, bytes, uuid.UUID, dt.datetime]] = []
        for key in keys:
            ws, trace = key
            new, old = results[key], old_chains.get(key, {})
            for chain, (root, cascade, hour) in new.chains.items():
                rows_chains.append((ws, trace, chain, hour))
                if chain not in old:
                    hourly[(ws, hour, chain)] += 1
                    _, _, first, last, count = added.get((ws, chain), (root, cascade, hour, hour, 0))
                    added[(ws, chain)] = (root, cascade, min(first, hour), max(last, hour), count + 1)
            for chain, hour in old.items():
                if chain not in new.chains:
                    hourly[(ws, hour, chain)] -= 1
                    removed[(ws, chain)] += 1
            for error_id, hour in new.causes.items():
                rows_causes.append((ws, trace, error_id, hour))
            for error_id in set(new.causes) ^ old_causes.get(key, set()):
                cascades[(ws, error_id)] += 1 if error_id in new.causes else -1
        await conn.execute(q.DELETE_TRACE_CHAINS, window)
        await conn.execute(q.DELETE_TRACE_CAUSES, window)
        async with conn.cursor() as cur:
            # Sorted: two linkers update shared rows (hours, shapes, errors) in one order.
            if rows_chains:
                await cur.executemany(q.INSERT_TRACE_CHAIN, rows_chains)
            if rows_causes:
                await cur.executemany(q.INSERT_TRACE_CAUSE, rows_causes)
            changes = sorted((k, v) for k, v in hourly.items() if v)
            if changes:
                await cur.executemany(q.ADD_CHAIN_HOURLY, [(ws, hour, chain, n) for (ws, hour, chain), n in changes])
            if added:
                await cur.executemany(
                    q.UPSERT_ERROR_CHAIN,
                    [
                        (ws, chain, root, list(cascade), first, last, n)
                        for (ws, chain), (root, cascade, first, last, n) in sorted(added.items())
                    ],
                )
            if removed:
                await cur.executemany(q.SUB_ERROR_CHAIN, [(n, ws, chain) for (ws, chain), n in sorted(removed.items())])
            moved = sorted((k, v) for k, v in cascades.items() if v)
            if moved:
                await cur.executemany(q.ADD_CASCADING_FAILURES, [(n, ws, error_id) for (ws, error_id), n in moved])


def _contained(
    spans: dict[TraceKey, list[SpanNode]],
    started: dict[tuple[TraceKey, bytes], dt.datetime],
    episodes: list[tuple[Any, ...]],
) -> dict[TraceKey, set[bytes]]:
    """The failed attempts of each recovered episode: siblings under its parent from its first attempt's start to
    its last's (an episode names only those two)."""
    found: dict[TraceKey, set[bytes]] = {}
    for ws, trace, parent, first, last in episodes:
        key = (ws, bytes(trace))
        begin, end = started.get((key, bytes(first))), started.get((key, bytes(last)))
        if begin is None or end is None:
            continue
        found.setdefault(key, set()).update(
            span.span_id
            for span in spans.get(key, ())
            if span.parent_id == bytes(parent) and begin <= started[(key, span.span_id)] <= end
        )
    return found


def chain_id(root: uuid.UUID, cascade: tuple[uuid.UUID, ...]) -> uuid.UUID:
    """One id per chain shape: the root and its cascade, in order."""
    digest = hashlib.md5(b"".join(e.bytes for e in (root, *cascade)), usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest)


async def _connect(config: StoreConfig) -> psycopg.AsyncConnection[Any]:
    try:
        return await psycopg.AsyncConnection.connect(
            config.database_url or "",
            connect_timeout=max(1, int(config.connect_timeout_seconds)),
            autocommit=True,
            options="-c timezone=UTC",
        )
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
