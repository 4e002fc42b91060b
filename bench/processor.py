#!/usr/bin/env python
"""Micro-benchmark of the pure core: `Processor.process_traces` on the ingest benchmark's payloads.

Not a test: it measures and prints. No gRPC, no database. Payloads come from `bench/ingest.py` (512-span agent
requests, 5% of spans with a ~2 KB Python/Java/JS exception stack from 50 bugs in 3 releases, messages with
ids); every request gets fresh trace ids and message ids, as on the wire, and is given to the processor as bytes,
as the receivers do (the walk reads what it needs from them; there is no `FromString`). Only `process_traces` (and
`committed`, which the pipeline calls once the batch is stored) is timed, in CPU time of this thread
(`time.thread_time`), so other processes on a busy machine distort the numbers less than wall-clock time would.

Prints, for a warm processor (its memos filled the way a running server has them):
  * spans/s and µs per request of `process_traces`;
  * the same on the same requests without exception events (`--error-rate 0`), and from the difference the
    cost of one exception event (µs per exception);
  * the same requests with PII scrubbing off, and from the difference the scrubber's cost per exception event;
  * error groups (distinct fingerprints) produced, which should stay at the number of bugs;
  * the cold cost of grouping one never-seen stack (`compute_grouping` with emptied memos).

    .venv/bin/python bench/processor.py              # ~20 s
    .venv/bin/python bench/processor.py --seconds 2 --profile   # + cProfile top functions
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import build_templates, make_bugs, render


def _run(
    templates: list[Any], seconds: float, start: int, processor: Any, fingerprints: set[str] | None = None
) -> tuple[float, float, int]:
    """Returns (spans/s, µs per request, requests), timing process_traces only."""
    busy, spans, n = 0.0, 0, 0
    while busy < seconds:
        t = templates[n % len(templates)]
        wire = render(t, start + n)
        t0 = time.thread_time()
        batch = processor.process_traces(None, wire=wire)  # the bytes, as the receivers call it
        processor.committed(batch)  # what the pipeline does once the batch is stored
        busy += time.thread_time() - t0
        spans += t.spans
        n += 1
        if fingerprints is not None:
            fingerprints.update(e.fingerprint for e in batch.events)
    return spans / busy, 1e6 * busy / n, n


def _cold_grouping_us(rounds: int) -> tuple[float, float]:
    """µs to group one never-seen ~2 KB stack (memos emptied before each), median over the 50 bugs; and warm."""
    from otel_errors.grouping import ExceptionInput, _stack, compute_grouping

    inputs = []
    for i, bug in enumerate(make_bugs()):
        message = bug.message.format(tok=f"{i:012x}", n=7)
        inputs.append(ExceptionInput(type=bug.exc_type, message=message, stacktrace=bug.stack(0, message)))
    cold, warm = [], []
    for _ in range(rounds):
        for exc in inputs:
            _clear = getattr(_stack, "clear_memo", None) or _stack.analyze_stack.cache_clear
            _clear()
            t0 = time.thread_time()
            compute_grouping(exc)
            cold.append(time.thread_time() - t0)
            t0 = time.thread_time()
            compute_grouping(exc)
            warm.append(time.thread_time() - t0)
    return 1e6 * statistics.median(cold), 1e6 * statistics.median(warm)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6, help="timed seconds per phase")
    parser.add_argument("--payloads", type=int, default=48)
    parser.add_argument("--spans-per-request", type=int, default=512)
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--profile", action="store_true", help="cProfile the warm phase and print the top")
    args = parser.parse_args(argv)

    from otel_errors import Processor
    from otel_errors.config import WorkspaceRules
    from otel_errors.scrub import ScrubConfig

    templates = build_templates(args.payloads, args.spans_per_request, args.error_rate)
    clean = build_templates(args.payloads, args.spans_per_request, 0.0)
    exceptions = sum(t.exceptions for t in templates) / len(templates)

    processor = Processor()
    _run(templates, min(2.0, args.seconds / 2), 1, processor)  # warm the memos, as a running server has them
    gc.collect()
    fingerprints: set[str] = set()
    rate, us_req, n = _run(templates, args.seconds, 10**6, processor, fingerprints)
    clean_rate, clean_us, _ = _run(clean, args.seconds / 2, 2 * 10**6, Processor())
    per_exc = (us_req - clean_us) / exceptions if exceptions else float("nan")
    unscrubbed = WorkspaceRules(scrub=ScrubConfig(enabled=False))
    no_scrub = Processor(rules_for=lambda _workspace: unscrubbed)
    _run(templates, min(2.0, args.seconds / 2), 4 * 10**6, no_scrub)
    _, no_scrub_us, _ = _run(templates, args.seconds, 5 * 10**6, no_scrub)
    scrub_per_exc = (us_req - no_scrub_us) / exceptions if exceptions else float("nan")
    cold, warm = _cold_grouping_us(3)

    print(f"payloads: {len(templates)} x {args.spans_per_request} spans, {exceptions:.1f} exceptions per request")
    print(
        f"process_traces (warm, with exceptions):  {rate:>10,.0f} spans/s  {us_req:>8,.0f} µs/request  ({n} requests)"
    )
    print(f"process_traces (same spans, no exception): {clean_rate:>8,.0f} spans/s  {clean_us:>8,.0f} µs/request")
    print(f"per exception event: {per_exc:,.1f} µs   ({us_req / exceptions:,.1f} µs/exception counting all work)")
    print(
        f"scrubbing per exception event: {scrub_per_exc:,.1f} µs   (the same requests with scrubbing off:"
        f" {no_scrub_us:,.0f} µs/request)"
    )
    print(f"error groups produced: {len(fingerprints)} (bugs: {len(make_bugs())})")
    print(f"grouping one ~2 KB stack: cold (first seen) {cold:,.1f} µs, warm {warm:,.1f} µs (median)")

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        _run(templates, args.seconds, 3 * 10**6, processor)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
