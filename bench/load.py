#!/usr/bin/env python
"""Scale load generator: N occurrences over D days through the exporter's own write path.

Not a test: it fills a dedicated database so `bench/query.py` can time the dashboard at scale. It builds
`ErrorBatch`es directly (no OTLP, no processor: the ingest benchmark measures those) and hands them
to `PostgresExporter.write(batch)` exactly as a receiver does, several batches in flight at once so group commit
works as in production.

The data (seeded, so two runs write the same shape):

- `--fingerprints` (5,000) bugs with a Zipf-like frequency (weight 1/rank^1.1): a few dominate, most are rare.
  Each has a type, a message template, a category, a source, a severity, a home agent and one to three stack
  trace variants of ~1-2 KB (Python, JavaScript or Java frames);
- `--agents` (50) agents, `--users` (10,000) users, both long-tailed; environments production/staging/dev;
- a daily rhythm (busy afternoons UTC), a few spike hours at 5-10x volume dominated by one incident, and a
  deploy at day ~2/3 of the range: service.version changes, a few new fingerprints appear from then on and a
  few old ones stop (fixed);
- occurrences grouped in traces of 1-3 (random trace/span ids; random 16-byte occurrence ids); every trace is
  an execution (most failed, with credits), plus successful executions so that executions are
  `--executions-per-occurrence` times the occurrences and error rates are real; one error span per occurrence
  and one for each failed execution's root.

Generation runs in `--producers` child processes (pickled batches over a pipe), so Python building rows
overlaps with PostgreSQL committing them.

    .venv/bin/python bench/load.py --database-url postgresql://postgres@127.0.0.1:5432/test \\
        --workspace bench10m --occurrences 10000000 --days 30

The URL names the server (and the maintenance database used for CREATE DATABASE); the data go to
`--database` (default `otel_errors_bench`), created if missing and kept for query.py (`--drop` drops it first).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import datetime as dt
import hashlib
import itertools
import math
import multiprocessing as mp
import os
import pickle
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from otel_errors.batch import ErrorBatch, ErrorEvent, ErrorSpan, Execution, Recovery
from otel_errors.errors import Overloaded, StoreUnavailable
from otel_errors.exporter import PostgresExporter, StoreConfig
from otel_errors.exporter.chains import ChainLinker
from otel_errors.grouping import Frame, GroupingResult

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
HOUR_NS = 3_600 * 1_000_000_000
SEC_NS = 1_000_000_000

# ---------------------------------------------------------------------------------------------------------------
# The world: fingerprints, agents, users
# ---------------------------------------------------------------------------------------------------------------

_TYPES = [
    ("TimeoutError", "Request to {svc} timed out after {n} ms", 2, 4, "timeout"),
    ("httpx.ReadTimeout", "Read timed out while calling {svc} (attempt {n})", 2, 4, "timeout"),
    ("openai.RateLimitError", "Rate limit reached for {model} in organization org-{id}: {n} tokens/min", 1, 2, "api"),
    ("openai.APIConnectionError", "Connection error calling {model}: {n} retries exhausted", 1, 2, "api"),
    ("anthropic.InternalServerError", "Error code: 529 - overloaded_error for {model} request {id}", 1, 2, "api"),
    ("ValueError", "invalid literal for int() with base 10: '{id}'", 3, 1, "validation"),
    ("pydantic.ValidationError", "{n} validation errors for ToolCall arguments.{field}", 3, 1, "validation"),
    ("KeyError", "'{field}'", 6, 1, "unknown"),
    ("PermissionError", "User {id} is not allowed to use tool {tool}", 4, 2, "auth"),
    ("AuthenticationError", "Invalid API key for integration {svc} (key id {id})", 4, 4, "auth"),
    (
        "psycopg.OperationalError",
        'connection to server at "10.0.{n}.4", port 5432 failed: timeout expired',
        5,
        3,
        "database",
    ),
    (
        "sqlalchemy.exc.IntegrityError",
        'duplicate key value violates unique constraint "{field}_pkey" ({id})',
        3,
        3,
        "database",
    ),
    ("MemoryError", "Unable to allocate {n} MiB for embeddings batch", 5, 5, "system"),
    ("RuntimeError", "Tool {tool} returned malformed JSON at position {n}", 6, 1, "unknown"),
    ("TypeError", "Cannot read properties of undefined (reading '{field}')", 6, 1, "unknown"),
    ("java.net.SocketTimeoutException", "Read timed out after {n}ms calling {svc}", 2, 4, "timeout"),
    ("java.lang.NullPointerException", 'Cannot invoke "{field}.get()" because value is null', 6, 1, "unknown"),
    ("ContextWindowExceededError", "This model's maximum context length is {n} tokens ({model})", 3, 1, "validation"),
]
_SOURCES = {"timeout": 4, "api": 2, "validation": 1, "unknown": 1, "auth": 2, "database": 3, "system": 5}
_SVCS = [
    "billing-api",
    "search-api",
    "crm.salesforce",
    "vector-store",
    "github",
    "slack",
    "jira",
    "weather",
    "payments",
    "geocoder",
    "calendar",
    "s3",
    "postgres",
    "redis",
    "kafka",
]
_MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku", "o3-mini", "llama-3-70b"]
_TOOLS = [
    "search_docs",
    "run_sql",
    "send_email",
    "create_ticket",
    "fetch_url",
    "summarize",
    "book_meeting",
    "read_file",
    "write_file",
    "call_api",
]
_FIELDS = ["customer_id", "order", "invoice", "items", "user", "thread", "document", "embedding", "payload", "meta"]
_ENVIRONMENTS = [("production", 0.85), ("staging", 0.12), ("development", 0.03)]
_MODULES = ["agents", "tools", "retrieval", "planner", "memory", "integrations", "billing", "workflows", "llm", "api"]
_VERBS = [
    "run",
    "execute",
    "handle",
    "fetch",
    "parse",
    "dispatch",
    "invoke",
    "load",
    "resolve",
    "call",
    "render",
    "validate",
    "plan",
    "step",
    "retry",
    "process",
    "submit",
    "lookup",
    "encode",
    "stream",
]
_NOUNS = [
    "tool",
    "request",
    "step",
    "plan",
    "result",
    "document",
    "chunk",
    "message",
    "batch",
    "task",
    "context",
    "response",
    "query",
    "record",
    "payload",
    "session",
]


def _zipf_cum(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (k**s) for k in range(1, n + 1)))


def _python_stack(rng: random.Random, exc: str, msg: str) -> str:
    lines = ["Traceback (most recent call last):"]
    for _ in range(rng.randint(8, 14)):
        mod, verb, noun = rng.choice(_MODULES), rng.choice(_VERBS), rng.choice(_NOUNS)
        lines.append(f'  File "/app/src/{mod}/{noun}_{verb}.py", line {rng.randint(10, 900)}, in {verb}_{noun}')
        lines.append(f"    result = await self.{verb}_{noun}(ctx, {noun}, timeout=self.timeout)")
    lines.append(f"{exc}: {msg}")
    return "\n".join(lines)


def _java_stack(rng: random.Random, exc: str, msg: str) -> str:
    lines = [f"{exc}: {msg}"]
    for _ in range(rng.randint(14, 22)):
        mod, verb, noun = rng.choice(_MODULES), rng.choice(_VERBS), rng.choice(_NOUNS)
        cls = noun.capitalize() + verb.capitalize() + "er"
        lines.append(f"\tat com.acme.{mod}.{cls}.{verb}{noun.capitalize()}({cls}.java:{rng.randint(20, 700)})")
    return "\n".join(lines)


def _js_stack(rng: random.Random, exc: str, msg: str) -> str:
    lines = [f"{exc}: {msg}"]
    for _ in range(rng.randint(14, 22)):
        mod, verb, noun = rng.choice(_MODULES), rng.choice(_VERBS), rng.choice(_NOUNS)
        lines.append(
            f"    at {noun.capitalize()}Service.{verb}{noun.capitalize()} "
            f"(/app/dist/{mod}/{noun}-{verb}.js:{rng.randint(10, 900)}:{rng.randint(3, 60)})"
        )
    return "\n".join(lines)


@dataclass(slots=True)
class Bug:
    fingerprint: str
    type: str
    template: str
    title: str
    culprit: str
    stacks: list[str]
    grouping: GroupingResult
    severity: int
    category: int
    source: int
    agent: int
    handled: bool
    span_name: str


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        svc=rng.choice(_SVCS),
        n=rng.randint(2, 30000),
        model=rng.choice(_MODELS),
        id=f"{rng.getrandbits(40):010x}",
        field=rng.choice(_FIELDS),
        tool=rng.choice(_TOOLS),
    )


def build_bugs(n: int, agents: int, seed: int) -> list[Bug]:
    rng = random.Random(seed)
    bugs = []
    categories = {"api": 1, "timeout": 2, "validation": 3, "auth": 4, "system": 5, "unknown": 6, "database": 5}
    for i in range(n):
        exc, template, _, sev, kind = rng.choice(_TYPES)
        # Severity: mostly the type's, sometimes one step off; critical bugs are rare.
        severity = min(4, max(1, sev + rng.choice((0, 0, 0, -1, 1))))
        mod, verb, noun = rng.choice(_MODULES), rng.choice(_VERBS), rng.choice(_NOUNS)
        culprit = f"{mod}.{noun}_{verb} in {verb}_{noun}"
        lang = rng.random()
        make = _java_stack if exc.startswith("java.") or lang < 0.15 else _js_stack if lang < 0.3 else _python_stack
        first_msg = _fill(template, rng)
        stacks = [make(rng, exc, first_msg) for _ in range(rng.choice((1, 1, 2, 3)))]
        frames = tuple(
            Frame(
                function=f"{rng.choice(_VERBS)}_{rng.choice(_NOUNS)}",
                module=f"{mod}.{noun}",
                filename=f"/app/src/{mod}/{noun}_{verb}.py",
                lineno=rng.randint(10, 900),
            )
            for _ in range(rng.randint(3, 8))
        )
        fingerprint = hashlib.md5(f"bench/{seed}/{i}".encode()).hexdigest()
        title = f"{exc}: {template.split('{')[0].strip() or exc}"[:200]
        grouping = GroupingResult(fingerprint, "newstyle:2026-01", title, culprit, frames=frames, chain_types=(exc,))
        bugs.append(
            Bug(
                fingerprint=fingerprint,
                type=exc,
                template=template,
                title=title,
                culprit=culprit,
                stacks=stacks,
                grouping=grouping,
                severity=severity,
                category=categories[kind],
                source=_SOURCES[kind],
                agent=rng.randrange(agents),
                handled=rng.random() < 0.25,
                span_name=f"execute_tool {rng.choice(_TOOLS)}",
            )
        )
    return bugs


@dataclass(frozen=True, slots=True)
class Plan:
    """What every producer derives from the same arguments: hours, their counts, spikes and the deploy."""

    start_ns: int
    hours: int
    counts: list[int]
    spike_hours: dict[int, int]  # hour index -> incident bug index
    deploy_hour: int
    new_bugs: list[int]  # appear at the deploy
    fixed_bugs: list[int]  # stop at the deploy


def make_plan(occurrences: int, hours: int, now_ns: int, fingerprints: int, seed: int) -> Plan:
    rng = random.Random(seed + 1)
    end_hour_ns = now_ns - now_ns % HOUR_NS + HOUR_NS  # the current hour is the last one (partly future)
    start_ns = end_hour_ns - hours * HOUR_NS
    weights = []
    spikes: dict[int, int] = {}
    # A short range (a top-up of the last hours, --hours) has no spikes and is after the deploy.
    spike_at = rng.sample(range(24, hours - 3), k=max(1, hours // 144)) if hours >= 48 else []
    for h in spike_at:
        incident = rng.randrange(20, min(400, fingerprints))
        for j in range(rng.randint(1, 3)):  # an incident lasts 1-3 hours
            spikes[h + j] = incident
    spike_factor = {h: rng.uniform(5, 10) for h in spikes}
    for h in range(hours):
        hour_of_day = (start_ns // HOUR_NS + h) % 24
        diurnal = 1.0 + 0.6 * math.sin((hour_of_day - 9) / 24 * 2 * math.pi)  # busiest ~15:00 UTC
        weekday = ((start_ns // HOUR_NS + h) // 24 + 4) % 7  # 1970-01-01 was a Thursday
        weekly = 0.6 if weekday >= 5 else 1.0
        growth = 1.0 + 0.3 * h / hours
        weights.append(diurnal * weekly * growth * spike_factor.get(h, 1.0))
    # The current hour is only partly over: scale it so no timestamp lands in the future.
    into_hour = (now_ns % HOUR_NS) / HOUR_NS
    weights[-1] *= max(into_hour, 0.01)
    total = sum(weights)
    counts = [int(occurrences * w / total) for w in weights]
    for i in rng.sample(range(hours), k=occurrences - sum(counts)) if occurrences > sum(counts) else []:
        counts[i] += 1
    deploy_hour = int(hours * 2 / 3) + 10 if hours >= 48 else 0
    new_bugs = rng.sample(range(fingerprints - 40, fingerprints), k=12)  # new ids, promoted to high rank below
    fixed_bugs = rng.sample(range(5, 60), k=4)
    return Plan(start_ns, hours, counts, spikes, deploy_hour, new_bugs, fixed_bugs)


# ---------------------------------------------------------------------------------------------------------------
# Producer: one child process per slice of hours; yields pickled batch rows
# ---------------------------------------------------------------------------------------------------------------


# Recovery episodes (method, recovered) and their shares: retries mostly succeed, fallbacks too, some runs
# handle the failure themselves, and some give up after retries and a fallback.
_EPISODES = ((0.45, "retry", True), (0.60, "retry", False), (0.80, "fallback", True), (0.85, "retry,fallback", False))


def _episode(ws: str, trace_id: bytes, parent: bytes, spans: list[bytes], failed_at: int, rand: Any) -> Recovery:
    draw = rand()
    method, recovered = next(((m, r) for share, m, r in _EPISODES if draw < share), ("handled", True))
    seconds = 0.05 + rand() ** 3 * 30  # mostly fast, a long tail up to 30 s
    return Recovery(
        workspace_id=ws,
        trace_id=trace_id,
        parent_span_id=parent,
        span_id=spans[0],
        last_span_id=spans[-1],
        method=method,
        recovered=recovered,
        attempts=1 + int(rand() * 3),
        failed_at_unix_nano=failed_at,
        recovered_at_unix_nano=failed_at + int(seconds * SEC_NS) if recovered else 0,
    )


def _astuple(row: Any) -> tuple[Any, ...]:
    """A batch row's fields in order (the rows are frozen: rebuilt on the other side of the pipe)."""
    return tuple(getattr(row, f.name) for f in dataclasses.fields(row))


def _producer(args: argparse.Namespace, plan: Plan, hours: list[int], out: Any) -> None:
    try:
        _produce(args, plan, hours, out)
    finally:
        out.put(None)


def _produce(args: argparse.Namespace, plan: Plan, hours: list[int], out: Any) -> None:
    rng = random.Random(args.seed * 1000 + hours[0])
    rand = rng.random
    getrandbits = rng.getrandbits
    bugs = build_bugs(args.fingerprints, args.agents, args.seed)
    ws = args.workspace
    n_bugs = len(bugs)
    bug_cum = _zipf_cum(n_bugs, 1.1)
    user_cum = _zipf_cum(args.users, 0.9)
    agent_cum = _zipf_cum(args.agents, 0.8)
    users = [f"user-{i:05d}" for i in range(args.users)]
    agents = [f"agent-{i:02d}" for i in range(args.agents)]
    agent_names = [f"{rng.choice(_MODULES)}-{rng.choice(_NOUNS)}-agent" for _ in agents]
    env_names = [e for e, _ in _ENVIRONMENTS]
    env_cum = list(itertools.accumulate(p for _, p in _ENVIRONMENTS))
    new_set = set(plan.new_bugs)
    fixed_set = set(plan.fixed_bugs)
    # New bugs take ranks 30-200 after the deploy: substitute them for some mid-ranked picks.
    promote = {r: plan.new_bugs[i % len(plan.new_bugs)] for i, r in enumerate(range(30, 200, 15))}
    messages = [[_fill(b.template, rng) for _ in range(8)] for b in bugs]
    # The errors a failing step or run raises when a tool failed under it: a few, of every rank.
    wrappers = list(range(3, len(bugs), max(1, len(bugs) // 24)))
    ex_ratio = args.executions_per_occurrence
    batch_size = args.batch_size

    def pick(cum: list[float]) -> int:
        return bisect.bisect_left(cum, rand() * cum[-1])

    batch = ErrorBatch()
    n_events = 0

    def flush() -> None:
        nonlocal batch, n_events
        if n_events:
            kinds = (batch.events, batch.error_spans, batch.executions, batch.recoveries)
            rows = [[_astuple(x) for x in xs] for xs in kinds]
            out.put(pickle.dumps(rows, pickle.HIGHEST_PROTOCOL))
        batch = ErrorBatch()
        n_events = 0

    for h in hours:
        count = plan.counts[h]
        if count == 0:
            continue
        hour_start = plan.start_ns + h * HOUR_NS
        after_deploy = h >= plan.deploy_hour
        version = "2.4.0" if after_deploy else "2.3.7"
        incident = plan.spike_hours.get(h)
        # Times within the hour, sorted, grouped into traces of 1-3 occurrences.
        times = sorted(hour_start + int(rand() * (HOUR_NS - SEC_NS)) for _ in range(count))
        i = 0
        traces = 0
        while i < count:
            k = 1 if rand() < 0.6 else 2 if rand() < 0.65 else 3
            k = min(k, count - i)
            t0 = times[i]
            trace_id = getrandbits(128).to_bytes(16, "big")
            root_span = getrandbits(64).to_bytes(8, "big")
            if incident is not None and rand() < 0.8:
                b = incident
            else:
                b = pick(bug_cum)
                if after_deploy and b in promote and rand() < 0.5:
                    b = promote[b]
                while (b in new_set and not after_deploy) or (b in fixed_set and after_deploy):
                    b = pick(bug_cum)
            bug = bugs[b]
            u = pick(user_cum)
            a = bug.agent if rand() < 0.7 else pick(agent_cum)
            env = env_names[bisect.bisect_left(env_cum, rand() * env_cum[-1])]
            failed = not bug.handled or rand() < 0.3
            credits = round(0.5 + rand() * 20, 2)
            # A trace of 2-3 occurrences is, mostly, a cascade: the bug on a tool span, the step above it failing
            # with a wrapper error, and the run with another (three different errors, one chain); else siblings.
            cascade = k > 1 and rand() < args.cascade_share
            span_ids = [getrandbits(64).to_bytes(8, "big") for _ in range(k)]
            if cascade and k == 3:
                span_ids[2] = root_span
            parents = [(span_ids[j + 1] if j + 1 < k else root_span) if cascade else root_span for j in range(k)]
            if cascade and k == 3:
                parents[2] = b""
            occurrence_bugs = [b] + (
                [wrappers[(b + j) % len(wrappers)] for j in range(1, k)] if cascade else [b] * (k - 1)
            )
            for j in range(k):
                span_id = span_ids[j]
                b = occurrence_bugs[j]
                bug = bugs[b]
                batch.events.append(
                    ErrorEvent(
                        workspace_id=ws,
                        occurrence_id=getrandbits(128).to_bytes(16, "big"),
                        time_unix_nano=times[i + j],
                        fingerprint=bug.fingerprint,
                        fingerprint_config="newstyle:2026-01",
                        type=bug.type,
                        message=messages[b][getrandbits(3)],
                        stacktrace=bug.stacks[getrandbits(8) % len(bug.stacks)],
                        title=bug.title,
                        culprit=bug.culprit,
                        grouping=bug.grouping,
                        severity=bug.severity,
                        category=bug.category,
                        source=bug.source,
                        origin=1 if rand() < 0.85 else 2,
                        handled=bug.handled,
                        trace_id=trace_id,
                        span_id=span_id,
                        parent_span_id=parents[j],
                        span_name=bug.span_name,
                        user_id=users[u],
                        agent_id=agents[a],
                        agent_name=agent_names[a],
                        service_name="agent-runtime",
                        environment=env,
                        version=version,
                        credits=credits if failed else 0.0,
                        attributes_json='{"gen_ai.request.model": "%s", "http.status_code": %d, "retry": %d}'
                        % (_MODELS[b % len(_MODELS)], 500 + (b % 5), getrandbits(2)),
                        chain_types=(bug.type,),
                        previous_fingerprint="",
                    )
                )
                if args.error_spans:
                    batch.error_spans.append(
                        ErrorSpan(
                            workspace_id=ws,
                            trace_id=trace_id,
                            span_id=span_id,
                            parent_span_id=parents[j],
                            name=bug.span_name,
                            start_time_unix_nano=times[i + j] - 200_000_000,
                            end_time_unix_nano=times[i + j],
                            status_code=2,
                            status_message=bug.type,
                            propagated=False,
                        )
                    )
            batch.executions.append(
                Execution(
                    workspace_id=ws,
                    trace_id=trace_id,
                    span_id=root_span,
                    start_time_unix_nano=t0 - 2 * SEC_NS,
                    end_time_unix_nano=times[i + k - 1] + SEC_NS,
                    failed=failed,
                    agent_id=agents[a],
                    agent_name=agent_names[a],
                    user_id=users[u],
                    environment=env,
                    credits=credits,
                )
            )
            if rand() < args.recovery_share:
                batch.recoveries.append(_episode(ws, trace_id, root_span, span_ids, times[i], rand))
            if failed and args.error_spans and root_span not in span_ids:
                batch.error_spans.append(
                    ErrorSpan(
                        workspace_id=ws,
                        trace_id=trace_id,
                        span_id=root_span,
                        parent_span_id=b"",
                        name=f"invoke_agent {agent_names[a]}",
                        start_time_unix_nano=t0 - 2 * SEC_NS,
                        end_time_unix_nano=times[i + k - 1] + SEC_NS,
                        status_code=2,
                        status_message=bug.type,
                        propagated=True,
                    )
                )
            traces += 1
            n_events += k
            i += k
            # Successful executions so that executions ~= ratio x occurrences, spread over the same minutes.
            extra = ex_ratio * k - 1
            while extra > 0:
                if extra < 1 and rand() >= extra:
                    break
                extra -= 1
                xa = pick(agent_cum)
                batch.executions.append(
                    Execution(
                        workspace_id=ws,
                        trace_id=getrandbits(128).to_bytes(16, "big"),
                        span_id=getrandbits(64).to_bytes(8, "big"),
                        start_time_unix_nano=t0 - int(rand() * 30 * SEC_NS),
                        end_time_unix_nano=t0,
                        failed=False,
                        agent_id=agents[xa],
                        agent_name=agent_names[xa],
                        user_id=users[pick(user_cum)],
                        environment=env_names[bisect.bisect_left(env_cum, rand() * env_cum[-1])],
                        credits=round(0.5 + rand() * 10, 2),
                    )
                )
            if n_events >= batch_size:
                flush()
    flush()


# ---------------------------------------------------------------------------------------------------------------
# Database and driver
# ---------------------------------------------------------------------------------------------------------------


def target_url(url: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=database)


def prepare_database(url: str, database: str, drop: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists and drop:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


async def drive(args: argparse.Namespace, url: str) -> None:
    now_ns = time.time_ns()
    plan = make_plan(args.occurrences, args.hours or args.days * 24, now_ns, args.fingerprints, args.seed)
    print(
        f"plan: {args.occurrences:,} occurrences over {plan.hours} hours from "
        f"{dt.datetime.fromtimestamp(plan.start_ns / 1e9, dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"{len(plan.spike_hours)} spike hours (max {max(plan.counts):,}/h vs median "
        f"{sorted(plan.counts)[len(plan.counts) // 2]:,}/h); deploy at hour {plan.deploy_hour} "
        f"(day {plan.deploy_hour / 24:.1f}) with {len(plan.new_bugs)} new fingerprints",
        flush=True,
    )

    if args.credits_fix:
        # Experiment (bench/README.md): the planner-proof form of the credit check, to measure the write rate.
        from otel_errors.exporter import _write_sql

        fixed = _write_sql.CREDITS_FROM_KNOWN_EXECUTIONS.replace(
            "AND o.error_id = n.error_id", "AND o.error_id IS NOT DISTINCT FROM n.error_id"
        )
        if fixed == _write_sql.CREDITS_FROM_KNOWN_EXECUTIONS:
            print("--credits-fix: the query changed, nothing patched", flush=True)
        _write_sql.CREDITS_FROM_KNOWN_EXECUTIONS = fixed
    if args.no_prepare:
        # Experiment: psycopg prepares a statement after 5 executions; a prepared statement without parameters
        # keeps the plan made for the first stage contents and partition statistics it saw.
        original = PostgresExporter._connect_writer

        async def connect_writer(self: PostgresExporter) -> Any:
            conn = await original(self)
            conn.prepare_threshold = None
            return conn

        PostgresExporter._connect_writer = connect_writer  # type: ignore[method-assign]
    store = PostgresExporter(
        StoreConfig(
            database_url=url,
            writers=args.writers,
            max_items_per_commit=args.max_items_per_commit,
            max_pending_bytes=args.max_pending_bytes,
            write_timeout_seconds=120.0,
            maintenance_interval_seconds=3600.0,
        )
    )
    await store.start()
    # The chain linker links cascades as the store commits them, as in `serve`.
    linker = ChainLinker(store.config)
    store.commit_listeners.append(linker.wake)
    await linker.start()
    commits = [0]
    store.commit_listeners.append(lambda stats: commits.__setitem__(0, commits[0] + (not stats.failed)))

    # Producers take interleaved chunks of consecutive hours, so the database is filled roughly in time order.
    ctx = mp.get_context("fork")
    queue: Any = ctx.Queue(maxsize=args.in_flight * 4)
    chunk = 6
    all_hours = list(range(plan.hours))
    slices = [all_hours[i : i + chunk] for i in range(0, plan.hours, chunk)]
    # One process per producer, each with an ordered list of chunks (round-robin).
    per = [[h for s in slices[p :: args.producers] for h in s] for p in range(args.producers)]
    procs = [ctx.Process(target=_producer, args=(args, plan, hours, queue), daemon=True) for hours in per if hours]
    for p in procs:
        p.start()

    written = {"events": 0, "executions": 0, "spans": 0, "batches": 0, "retries": 0}
    # 30 days are written in minutes, faster than autovacuum can keep the statistics of the partition being
    # filled current (in production a day fills over a day and is re-analyzed every ~10% of growth). Stale
    # statistics make the write path's per-partition plans walk the wrong index, so analyze as a day grows.
    analyze_conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    last_analyzed = 0
    latest_ns = 0

    async def analyze_current() -> None:
        day = dt.datetime.fromtimestamp(latest_ns / 1e9, dt.UTC).date()
        for table in ("error_occurrences", "executions", "error_spans"):
            await analyze_conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(f"{table}_p{day:%Y%m%d}")))

    started = time.monotonic()
    last_print = started
    done_producers = 0
    loop = asyncio.get_running_loop()
    in_flight: set[asyncio.Task[None]] = set()

    async def write(data: bytes) -> None:
        events, error_spans, executions, recoveries = pickle.loads(data)
        batch = ErrorBatch(
            events=[ErrorEvent(*r) for r in events],
            error_spans=[ErrorSpan(*r) for r in error_spans],
            executions=[Execution(*r) for r in executions],
            recoveries=[Recovery(*r) for r in recoveries],
        )
        for attempt in itertools.count():
            try:
                await store.write(batch)
                break
            except (Overloaded, StoreUnavailable):
                written["retries"] += 1
                if attempt > 50:
                    raise
                await asyncio.sleep(0.05 * min(attempt + 1, 20))
        nonlocal latest_ns, last_analyzed
        written["events"] += len(batch.events)
        latest_ns = max(latest_ns, batch.events[-1].time_unix_nano if batch.events else 0)
        if args.analyze_every and written["events"] - last_analyzed >= args.analyze_every:
            last_analyzed = written["events"]
            await analyze_current()
        written["executions"] += len(batch.executions)
        written["spans"] += len(batch.error_spans)
        written["batches"] += 1

    try:
        while done_producers < len(procs):
            data = await loop.run_in_executor(None, queue.get)
            if data is None:
                done_producers += 1
                continue
            while len(in_flight) >= args.in_flight:
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    t.result()
                in_flight -= done
            task = asyncio.create_task(write(data))
            in_flight.add(task)
            now = time.monotonic()
            if now - last_print >= args.progress_seconds:
                last_print = now
                el = now - started
                ev = written["events"]
                eta = (args.occurrences - ev) / (ev / el) if ev else float("nan")
                print(
                    f"{el:7.0f}s  {ev:>11,} occurrences  {ev / el:8,.0f}/s  executions {written['executions']:,}"
                    f"  spans {written['spans']:,}  commits {commits[0]:,}  eta {eta / 60:5.1f} min",
                    flush=True,
                )
        if in_flight:
            for pending in asyncio.as_completed(in_flight):
                await pending
        await _until_linked(analyze_conn)
    finally:
        for p in procs:
            p.join(timeout=5)
        await store.shutdown(drain_timeout=60)
        await linker.shutdown()
        await analyze_conn.close()
    elapsed = time.monotonic() - started
    items = written["events"] + written["executions"] + written["spans"]
    print(
        f"done: {written['events']:,} occurrences, {written['executions']:,} executions, {written['spans']:,} "
        f"error spans in {elapsed:,.0f}s: {written['events'] / elapsed:,.0f} occurrences/s, {items / elapsed:,.0f}"
        f" items/s; {commits[0]:,} commits of {written['batches']:,} batches; "
        f"{written['retries']} overload retries",
        flush=True,
    )


async def _until_linked(conn: Any) -> None:
    """The linker keeps up as it can during the load; wait until it has linked every trace."""
    while True:
        cur = await conn.execute("SELECT count(*) FROM chain_pending")
        row = await cur.fetchone()
        left = int(row[0]) if row else 0
        if not left:
            return
        print(f"  linking chains: {left:,} traces queued", flush=True)
        await asyncio.sleep(5)


def report_sizes(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        rows = conn.execute("""
            SELECT coalesce(p.relname, c.relname) AS tbl, sum(pg_total_relation_size(c.oid)) AS bytes,
                   sum(c.reltuples)::bigint AS rows
            FROM pg_class c
            LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
            LEFT JOIN pg_class p ON p.oid = i.inhparent
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
            GROUP BY 1 ORDER BY 2 DESC""").fetchall()
        found = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        total = found[0] if found else 0
    print(f"{'table':<22} {'rows':>13} {'size':>10}")
    for name, size, n in rows:
        print(f"{name:<22} {max(n, 0):>13,} {size / 2**20:>8,.0f} MB")
    print(f"{'database':<22} {'':>13} {total / 2**20:>8,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--database-url",
        default=os.environ.get("OTEL_ERRORS_DATABASE_URL", DEFAULT_URL),
        help="server URL; its database is used only to CREATE/DROP --database",
    )
    p.add_argument("--database", default="otel_errors_bench", help="database the data go to (kept)")
    p.add_argument("--drop", action="store_true", help="drop --database first")
    p.add_argument("--drop-only", action="store_true", help="drop --database and exit")
    p.add_argument("--workspace", default="bench10m")
    p.add_argument("--occurrences", type=int, default=10_000_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument(
        "--hours",
        type=int,
        default=0,
        help="range in hours instead of --days (e.g. a top-up of the last 2 hours before query.py)",
    )
    p.add_argument("--executions-per-occurrence", type=float, default=2.0)
    p.add_argument("--no-error-spans", dest="error_spans", action="store_false")
    p.add_argument(
        "--cascade-share", type=float, default=0.7, help="traces of 2-3 occurrences that are cascades (chains)"
    )
    p.add_argument(
        "--recovery-share", type=float, default=0.25, help="traces with a recovery episode (retry, fallback, ...)"
    )
    p.add_argument("--fingerprints", type=int, default=5_000)
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--batch-size", type=int, default=2_000, help="occurrences per batch")
    p.add_argument("--in-flight", type=int, default=4, help="concurrent store.write calls")
    p.add_argument("--writers", type=int, default=2)
    p.add_argument("--max-items-per-commit", type=int, default=20_000)
    p.add_argument("--max-pending-bytes", type=int, default=512 * 1024 * 1024)
    p.add_argument("--producers", type=int, default=1, help="generator processes")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--no-prepare",
        action="store_true",
        help="experiment: writer connections never use server-side prepared statements",
    )
    p.add_argument(
        "--credits-fix",
        action="store_true",
        help="experiment: run the write path with the suggested CREDITS_FROM_KNOWN_EXECUTIONS rewrite",
    )
    p.add_argument(
        "--analyze-every",
        type=int,
        default=50_000,
        help="ANALYZE the partitions being filled every N occurrences (0: leave it to autovacuum)",
    )
    p.add_argument("--progress-seconds", type=float, default=15.0)
    args = p.parse_args(argv)
    if args.drop_only:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.database)))
        print(f"dropped {args.database}")
        return 0
    prepare_database(args.database_url, args.database, args.drop)
    url = target_url(args.database_url, args.database)
    asyncio.run(drive(args, url))
    report_sizes(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
