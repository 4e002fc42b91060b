"""Per-workspace rules for the processor, reloaded from the database in the background: the processor is pure
and synchronous, so it reads this cache, never the database."""

from __future__ import annotations

import asyncio
import logging

import psycopg

from otel_errors.config import WorkspaceRules

from .accounts import load_all_rules

log = logging.getLogger("otel_errors.exporter.rules")

_DEFAULT_RULES = WorkspaceRules()


class RulesCache:
    """`rules(workspace_id)`; `start()` loads once and then every `interval_seconds`; idempotent start/shutdown."""

    def __init__(self, database_url: str, interval_seconds: float) -> None:
        self._url, self._interval = database_url, interval_seconds
        self._rules: dict[str, WorkspaceRules] = {}
        self._task: asyncio.Task[None] | None = None

    def __call__(self, workspace_id: str) -> WorkspaceRules:
        return self._rules.get(workspace_id, _DEFAULT_RULES)

    async def start(self) -> None:
        if self._task is None:
            await self.refresh()
            self._task = asyncio.create_task(self._loop(), name="otel-errors-rules")

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def refresh(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            loaded = await load_all_rules(conn)
        # Keep the old objects when unchanged, so per-rules caches downstream (scrubbers) stay warm.
        self._rules = {ws: self._rules[ws] if self._rules.get(ws) == r else r for ws, r in loaded.items()}

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except (psycopg.Error, OSError) as exc:
                log.warning("could not reload workspace rules: %s", exc)
