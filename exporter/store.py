"""The PostgreSQL exporter: durable, batched, idempotent writes of `ErrorBatch`es (group commit).

A receiver calls `await store.write(batch)` and answers OTLP success only when it returns: by then the batch is
committed. Concurrent requests are committed together (one transaction for many requests), which is where the
throughput comes from. The queue is bounded in bytes; a slow or absent database turns into a retryable error for
the client (`Overloaded`, `StoreUnavailable`), never into unbounded memory. What a failed commit means is one table
(`_failures.FAILURES`).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.string import BytesBinaryDumper

from otel_errors.batch import ErrorBatch
from otel_errors.errors import Overloaded, ShuttingDown, StoreUnavailable

from . import _recovery_sql as rq
from . import _settle_sql as sq
from . import _write_sql as q
from ._citus_write_sql import CITUS, PLAIN
from ._failures import CommitFailure, failure, ingest_error
from ._migrate import migrate
from ._partitions import Partitions, day_date
from ._rows import KnownTexts, StagedBatch, commit_windows, enqueue_params, stage
from .citus import has_citus
from .config import StoreConfig

log = logging.getLogger("otel_errors.exporter")


@dataclass(frozen=True, slots=True)
class ErrorChange:
    """An error a commit added occurrences to, and whether it created or reopened (regressed) it: what alerts and
    the live stream react to."""

    workspace_id: str
    error_id: str
    created: bool
    regressed: bool


@dataclass(frozen=True, slots=True)
class CommitStats:
    """What one commit did, for the listeners that count (self-telemetry)."""

    batches: int
    items: int
    seconds: float
    failed: bool
    copies_settled: int = 0  # records found to be copies of ones another process had stored (_settle_sql.py)


class _Pending:
    __slots__ = ("future", "size", "staged")

    def __init__(self, staged: StagedBatch, future: asyncio.Future[None], size: int) -> None:
        self.staged, self.future, self.size = staged, future, size


class PostgresExporter:
    def __init__(self, config: StoreConfig, *, partitions: Partitions | None = None) -> None:
        if not config.database_url:
            raise ValueError("StoreConfig.database_url is required (start the embedded PostgreSQL first)")
        self.config = config
        self._url: str = config.database_url
        self._queue: collections.deque[_Pending] = collections.deque()
        self._pending_items = 0
        self._pending_bytes = 0
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._state = "new"  # new -> running -> closing -> closed
        self._down_until = 0.0
        self._last_error = ""
        self._partitions = partitions or Partitions()
        # Called after each commit, in the writer task, without I/O: the errors it touched, and the workspaces whose
        # executions it stored (alerts evaluate them beside the write path, cli/_service.py).
        self.listeners: list[Callable[[list[ErrorChange]], None]] = []
        self.execution_listeners: list[Callable[[frozenset[str]], None]] = []
        self.commit_listeners: list[Callable[[CommitStats], None]] = []
        self._texts = KnownTexts()
        # Records another process (or a concurrent export) had already stored for their trace (_settle_sql.py).
        self.copies_settled = 0
        self._unreported_copies = 0
        self._forms = PLAIN  # CITUS when the database has the extension (start)

    # -- lifecycle (idempotent) ---------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._state != "new":
            return
        async with await self._connect() as conn:
            applied = await migrate(conn)
            if await has_citus(conn):
                self._forms = CITUS
            if applied:
                log.info("applied schema migrations %s", applied)
            today = dt.datetime.now(dt.UTC).date()
            await self._partitions.ensure(
                conn, [today + dt.timedelta(days=i) for i in range(-1, self.config.partitions_ahead_days + 1)]
            )
        self._state = "running"
        for i in range(self.config.writers):
            self._tasks.append(asyncio.create_task(self._writer_loop(), name=f"otel-errors-writer-{i}"))

    async def shutdown(self, drain_timeout: float = 10.0) -> None:
        """Stop taking batches, commit what was accepted (up to `drain_timeout`), then close."""
        if self._state in ("closing", "closed"):
            return
        was_running = self._state == "running"
        self._state = "closing"
        self._wakeup.set()
        if was_running and self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=drain_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for item in self._queue:
            if not item.future.done():
                item.future.set_exception(ShuttingDown("shutting down before the batch was committed"))
        self._queue.clear()
        self._state = "closed"

    @property
    def healthy(self) -> bool:
        """Running, the database answered the last commit, and every writer task is alive."""
        return (
            self._state == "running"
            and time.monotonic() >= self._down_until
            and all(not task.done() for task in self._tasks)
        )

    @property
    def pending_items(self) -> int:
        """Items accepted and not yet committed."""
        return self._pending_items

    @property
    def pending_bytes(self) -> int:
        """An estimate of the memory held by batches accepted and not yet committed (bounded by max_pending_bytes)."""
        return self._pending_bytes

    @property
    def last_error(self) -> str:
        return self._last_error

    # -- the write path -----------------------------------------------------------------------------------------

    async def write(self, batch: ErrorBatch) -> None:
        """Return once `batch` is committed; raise a retryable `IngestError` when it cannot be."""
        if self._state != "running":
            raise ShuttingDown("the store is not accepting batches")
        size = len(batch)
        if size == 0:
            return
        if time.monotonic() < self._down_until:
            raise StoreUnavailable(f"database unavailable: {self._last_error}")
        if self._pending_bytes >= self.config.max_pending_bytes:
            raise Overloaded(f"{self._pending_bytes} bytes are waiting for the database; retry later")
        staged = stage(batch, self._texts)
        if self._pending_bytes + staged.nbytes > self.config.max_pending_bytes and self._queue:
            raise Overloaded(f"{self._pending_bytes} bytes are waiting for the database; retry later")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(staged, future, size))
        self._pending_items += size
        self._pending_bytes += staged.nbytes
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(future), self.config.write_timeout_seconds)
        except TimeoutError:
            # It may still commit later; the client's retry is then deduplicated by the occurrence ids.
            raise StoreUnavailable(
                f"the batch was not committed within {self.config.write_timeout_seconds:g}s"
            ) from None

    async def _take(self) -> list[_Pending] | None:
        while not self._queue:
            if self._state != "running":
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        group: list[_Pending] = []
        items = 0
        while self._queue and (not group or items + self._queue[0].size <= self.config.max_items_per_commit):
            item = self._queue.popleft()
            group.append(item)
            items += item.size
        return group

    async def _writer_loop(self) -> None:
        conn: psycopg.AsyncConnection[Any] | None = None
        try:
            while (group := await self._take()) is not None:
                started = time.perf_counter()
                try:
                    if conn is None or conn.closed:
                        conn = await self._connect_writer()
                    changes = await self._commit_with_retry(conn, group)
                except Exception as exc:  # noqa: BLE001 - every failure has a row in _failures.FAILURES
                    found = failure(exc)
                    if found.per_batch and len(group) > 1 and conn is not None and not conn.closed:
                        await self._isolate(conn, group)
                    else:
                        self._failed(group, exc, found)
                    if found.reconnect and conn is not None:
                        await conn.close()
                        conn = None
                    continue
                self._finish(group, None, time.perf_counter() - started)
                self._notify(changes, group)
        finally:
            if conn is not None:
                await conn.close()

    async def _isolate(self, conn: psycopg.AsyncConnection[Any], group: list[_Pending]) -> None:
        """The database refused something in `group`: commit its batches one by one, refusing only the bad one."""
        for item in group:
            started = time.perf_counter()
            try:
                changes = await self._commit_with_retry(conn, [item])
            except Exception as exc:  # noqa: BLE001 - every failure has a row in _failures.FAILURES
                self._failed([item], exc, failure(exc))
            else:
                self._finish([item], None, time.perf_counter() - started)
                self._notify(changes, [item])

    def _failed(self, group: list[_Pending], exc: BaseException, found: CommitFailure) -> None:
        if found.error is None:
            log.error("commit failed", exc_info=exc)
        elif found.per_batch:
            log.warning("batch refused by the database: %s", exc)
        if found.marks_down:
            self._mark_down(exc)
        self._finish(group, ingest_error(exc, found), 0.0)

    def _finish(self, group: list[_Pending], error: Exception | None, seconds: float) -> None:
        for item in group:
            self._pending_items -= item.size
            self._pending_bytes -= item.staged.nbytes
            if not item.future.done():
                if error is None:
                    item.future.set_result(None)
                else:
                    item.future.set_exception(error)
        copies, self._unreported_copies = self._unreported_copies, 0
        stats = CommitStats(len(group), sum(item.size for item in group), seconds, error is not None, copies)
        for listener in self.commit_listeners:
            listener(stats)

    def _mark_down(self, exc: BaseException) -> None:
        self._last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self._down_until = time.monotonic() + 1.0
        log.warning("database unavailable: %s", self._last_error)

    def _notify(self, changes: list[ErrorChange], group: list[_Pending]) -> None:
        if changes:
            for listener in self.listeners:
                try:
                    listener(changes)
                except Exception:  # a listener's bug must not fail ingest
                    log.exception("error-change listener failed")
        if self.execution_listeners:
            workspaces = frozenset(ws for item in group for ws in item.staged.execution_workspaces())
            if workspaces:
                for execution_listener in self.execution_listeners:
                    try:
                        execution_listener(workspaces)
                    except Exception:
                        log.exception("execution listener failed")

    async def _commit_with_retry(self, conn: psycopg.AsyncConnection[Any], group: list[_Pending]) -> list[ErrorChange]:
        # A deadlock is still possible in the first commits of a new hot error, before its row exists to lock
        # (_settle_sql.LOCK_ERRORS); a few jittered attempts settle it without the client's retry.
        attempts = 5
        for attempt in range(attempts):
            try:
                return await self._commit(conn, group)
            except Exception as exc:
                if not failure(exc).retry_in_place or attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    async def _commit(self, conn: psycopg.AsyncConnection[Any], group: list[_Pending]) -> list[ErrorChange]:
        staged = [item.staged for item in group]
        days = frozenset().union(*(s.days for s in staged))
        await self._partitions.ensure(conn, [day_date(d) for d in days])
        for_events, for_executions = commit_windows(staged)
        changes: list[ErrorChange] = []
        has_events, has_spans, has_executions, has_recoveries = (
            any(s.events for s in staged),
            any(s.spans for s in staged),
            any(s.executions for s in staged),
            any(s.recoveries for s in staged),
        )
        # The rows first (COPY into the staging tables), then every statement in one pipeline: one wait for the
        # database instead of three (each wait lasts a turn of the event loop the writer shares with the
        # receivers, and PostgreSQL idles until the writer gets it).
        # Statement order: the per-error work first, the rows every commit touches (workspace and execution
        # rollups) last, so two writers hold those hot rows only briefly before their commits; credits of
        # executions stored before come before this commit's executions are inserted.
        async with conn.transaction():
            cur, errors_cur = conn.cursor(), conn.cursor()
            if has_events:
                await _copy(cur, q.COPY_EVENTS, q.EVENT_TYPES, (r for s in staged for r in s.events))
            if has_spans:
                await _copy(cur, q.COPY_SPANS, q.SPAN_TYPES, (r for s in staged for r in s.spans))
            if has_executions:
                await _copy(cur, q.COPY_EXECUTIONS, q.EXECUTION_TYPES, (r for s in staged for r in s.executions))
            if has_recoveries:
                await _copy(cur, rq.COPY_RECOVERIES, rq.RECOVERY_TYPES, (r for s in staged for r in s.recoveries))
            copies_cur = conn.cursor()
            async with conn.pipeline():
                await cur.execute(sq.LOCK_TRACES)  # first: a concurrent commit of one of these traces waits here
                if has_events or has_spans or has_recoveries:
                    await cur.execute(self._forms.enqueue_chains, enqueue_params(staged))
                if has_events:
                    *marking, count_copies = self._forms.mark_copies
                    for statement in marking:
                        await cur.execute(statement, for_events)
                    await copies_cur.execute(count_copies, for_events)
                    await cur.execute(self._forms.enrich_staged, for_events)
                    for statement in (q.RESOLVE_ERRORS, self._forms.insert_aliases, q.INSERT_OCCURRENCES):
                        await cur.execute(statement)
                    await cur.execute(self._forms.credits_from_known_executions, for_events)
                    await cur.execute(q.INSERT_STACKTRACES)
                if has_executions:  # records of earlier commits this commit's executions name
                    await cur.execute(self._forms.reattribute_find, for_executions)
                if has_events or has_executions:  # from here on, one commit per error at a time
                    await cur.execute(self._forms.lock_errors)
                if has_events:
                    for statement in (q.UPSERT_ERROR_USERS, q.UPSERT_ERROR_AGENTS):
                        await cur.execute(statement)
                    await errors_cur.execute(self._forms.upsert_errors, for_events)
                    for statement in (
                        q.CLEAR_CREDITS,
                        q.ROLLUP_MINUTE,
                        q.ROLLUP_HOURLY,
                        q.ROLLUP_DAILY,
                        q.ROLLUP_PEOPLE,
                    ):
                        await cur.execute(statement)
                if has_spans:
                    await cur.execute(q.INSERT_ERROR_SPANS)
                if has_recoveries:
                    await cur.execute(rq.INSERT_RECOVERIES)
                if has_executions:
                    await cur.execute(self._forms.insert_executions, for_executions)
                    await cur.execute(q.UPSERT_WORKSPACE_USERS)
                    await cur.execute(q.UPSERT_WORKSPACE_AGENTS)
                    if any(s.late_credits for s in staged):
                        await cur.execute(q.APPLY_LATE_CREDITS)
                    for statement in (sq.REATTRIBUTE_OCCURRENCES, *sq.REATTRIBUTE_GAINED, *sq.REATTRIBUTE_LEFT):
                        await cur.execute(statement)
                await cur.execute(sq.UNLOCK_TRACES)
            copies = 0
            if has_events:
                copies = int((await copies_cur.fetchone() or (0,))[0])
                for workspace_id, error_id, created, regressed in await errors_cur.fetchall():
                    changes.append(ErrorChange(workspace_id, str(error_id), bool(created), bool(regressed)))
        self.copies_settled += copies
        self._unreported_copies += copies
        for s in staged:  # committed: batches staged from now on need not carry these texts again
            self._texts.remember(s.texts)
        return changes

    # -- connections --------------------------------------------------------------------------------------------

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._url, connect_timeout=max(1, int(self.config.connect_timeout_seconds)), autocommit=True
            )
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        await conn.execute("SET TIME ZONE 'UTC'")
        await conn.set_autocommit(False)
        return conn

    async def _connect_writer(self) -> psycopg.AsyncConnection[Any]:
        # No prepared statements: the write statements take no parameters, so a prepared plan made for an early
        # staging size and old statistics would stay (commits slowed to seconds as partitions grew).
        conn = await psycopg.AsyncConnection.connect(
            self._url,
            connect_timeout=max(1, int(self.config.connect_timeout_seconds)),
            autocommit=True,
            prepare_threshold=None,
        )
        # psycopg's default dumper for bytea is dbapi20's Python wrapper (two Python calls per id we COPY).
        conn.adapters.register_dumper(bytes, BytesBinaryDumper)
        timeout_ms = int(self.config.write_timeout_seconds * 1000)
        await conn.execute(f"SET statement_timeout = {timeout_ms}")
        await conn.execute("SET TIME ZONE 'UTC'")
        await conn.execute(q.CREATE_STAGING.encode())
        await conn.execute(rq.CREATE_STAGING.encode())
        await conn.execute(sq.CREATE_STAGING.encode())
        if self._forms.create_staging:
            await conn.execute(self._forms.create_staging.encode())
        await conn.set_autocommit(False)
        return conn


async def _copy(
    cur: psycopg.AsyncCursor[Any], statement: str, types: list[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Binary COPY of `rows` into a staging table."""
    async with cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            await copy.write_row(row)
