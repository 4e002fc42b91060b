"""Process-level concerns of `serve`: the event loop, garbage collection, and the supervisor of N workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any


def tune_gc() -> None:
    """Collect garbage rarely, and never walk what start-up built (it lives as long as the process).

    Ingest makes tens of thousands of container objects a second that die young (per-request dicts, tuples); with
    the default threshold (700) full collections pause every request. Reference cycles are rare on this path, so
    collecting every 20,000 objects costs little memory (docs/performance.md has the measurement)."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 10)


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """`asyncio.run(main)` on uvloop when it is installed (a dependency everywhere but Windows)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def supervise(
    target: Callable[..., None],
    args: tuple[Any, ...],
    workers: int,
    *,
    on_exit: Callable[[int], None] | None = None,
) -> int:
    """Start `workers` processes running `target(*args)`, forward SIGTERM/SIGINT to them, wait for all;
    `on_exit(pid)` as each one ends."""
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=target, args=args, name=f"otel-errors-worker-{i}") for i in range(workers)]
    for process in processes:
        process.start()

    def forward(sig: int, _frame: Any) -> None:
        for process in processes:
            if process.is_alive() and process.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for process in processes:
        process.join()
        if on_exit is not None and process.pid:
            on_exit(process.pid)
    return max((p.exitcode or 0) for p in processes)
