"""The live stream's fan-out in one process: stream events (`stream_events`, written by any process) reach this
process's subscribers through LISTEN/NOTIFY on one connection, read once per workspace on another, and are offered
to each subscriber's bounded queue.

A subscriber that falls behind (its queue full) is marked overflowed and dropped from the fan-out: its stream ends
and the client resumes with Last-Event-ID from the table. Memory per subscriber is therefore its queue at most.
Event ids of a workspace are consecutive, so a subscriber that sees a gap reads the missing ones from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg

from . import records
from .records import EventRow

log = logging.getLogger("otel_errors.exporter.alerts.stream")


class TooManySubscribers(Exception):
    pass


class Subscription:
    __slots__ = ("closed", "overflowed", "queue", "workspace_id")

    def __init__(self, workspace_id: str, size: int) -> None:
        self.workspace_id = workspace_id
        self.queue: asyncio.Queue[EventRow] = asyncio.Queue(maxsize=size)
        self.overflowed = False
        self.closed = asyncio.Event()

    def offer(self, event: EventRow) -> bool:
        try:
            self.queue.put_nowait(event)
            return True
        except asyncio.QueueFull:
            self.overflowed = True
            self.closed.set()
            return False


class StreamHub:
    """`start()`/`shutdown()` idempotent. `subscribe()`/`unsubscribe()`; `subscribers` counts them."""

    def __init__(
        self,
        database_url: str,
        *,
        queue_events: int = 256,
        max_subscribers: int = 1000,
        max_per_workspace: int = 100,
        poll_seconds: float = 5.0,
    ) -> None:
        self._url = database_url
        self._queue_events = queue_events
        self._max, self._max_per_workspace = max_subscribers, max_per_workspace
        self._poll = poll_seconds
        self._subs: dict[str, set[Subscription]] = {}
        # Dropped from the fan-out (fell behind) but with their response still open: they still count against the
        # limits until it ends, or a client that never reads could open streams without bound.
        self._draining: set[Subscription] = set()
        self._cursor: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._read: psycopg.AsyncConnection[Any] | None = None
        self._read_lock = asyncio.Lock()
        self.dropped = 0

    @property
    def subscribers(self) -> int:
        return sum(len(s) for s in self._subs.values()) + len(self._draining)

    def _of_workspace(self, workspace_id: str) -> int:
        return len(self._subs.get(workspace_id, ())) + sum(1 for s in self._draining if s.workspace_id == workspace_id)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="otel-errors-stream")

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._read is not None:
            await self._read.close()
            self._read = None
        for subs in self._subs.values():
            for sub in subs:
                sub.closed.set()

    async def subscribe(self, workspace_id: str) -> Subscription:
        if self.subscribers >= self._max or self._of_workspace(workspace_id) >= self._max_per_workspace:
            raise TooManySubscribers("too many open streams; retry later")
        if workspace_id not in self._cursor:
            async with self._read_lock:
                conn = await self._reader()
                self._cursor.setdefault(workspace_id, await records.head(conn, workspace_id))
        sub = Subscription(workspace_id, self._queue_events)
        self._subs.setdefault(workspace_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._draining.discard(sub)
        subs = self._subs.get(sub.workspace_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.workspace_id]
                self._cursor.pop(sub.workspace_id, None)
        sub.closed.set()

    async def _reader(self) -> psycopg.AsyncConnection[Any]:
        if self._read is None or self._read.closed:
            self._read = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        return self._read

    async def _loop(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as listen:
                    await listen.execute(f"LISTEN {records.STREAM_CHANNEL}")
                    await self.fetch(list(self._subs))  # what was missed while not listening
                    while True:
                        heard: set[str] = set()
                        async for notify in listen.notifies(timeout=self._poll):
                            heard.add(notify.payload)
                            break
                        # Whatever else has arrived meanwhile, without waiting.
                        async for notify in listen.notifies(timeout=0.0):
                            heard.add(notify.payload)
                        await self.fetch(sorted(heard & self._subs.keys()) if heard else list(self._subs))
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                log.warning("stream listener reconnecting: %s", exc)
                await asyncio.sleep(1.0)

    async def fetch(self, workspaces: list[str]) -> None:
        """Read the new events of `workspaces` and offer them to their subscribers."""
        for ws in workspaces:
            if ws not in self._subs:
                continue
            async with self._read_lock:
                conn = await self._reader()
                events = await records.events_after(conn, ws, self._cursor.get(ws, 0), limit=1000)
            if not events:
                continue
            self._cursor[ws] = events[-1].event_id
            for sub in list(self._subs.get(ws, ())):
                for event in events:
                    if not sub.offer(event):
                        self.dropped += 1
                        with contextlib.suppress(KeyError):
                            self._subs[ws].remove(sub)
                        self._draining.add(sub)
                        break
            if ws in self._subs and not self._subs[ws]:
                del self._subs[ws]
                self._cursor.pop(ws, None)
