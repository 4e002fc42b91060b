"""`ErrorBatch`es to COPY rows and statement parameters: the one place the write path reads the batch's rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from otel_errors.batch import ErrorBatch, ErrorEvent, ErrorSpan, Execution, Recovery
from otel_errors.grouping import details_json
from otel_errors.stacktext import header_message_at

from ._partitions import DAY_NS

# Stands for the occurrence's message inside a stored stack trace (a private-use character; SQL: chr(57344)).
MESSAGE_MARK = "\ue000"


def stack_template(message: str, stacktrace: str) -> str:
    """The stack trace as `error_stacktraces` stores it: with the message cut out of its header line (`Type: <message>`
    ending a line) when it appears exactly once, so the occurrences of one bug whose messages differ only in ids
    share one stored text; readers put each occurrence's own message back (`replace(..., chr(57344), message)`).
    Otherwise the text itself."""
    at = _message_at(message, stacktrace)
    return stacktrace if at < 0 else stacktrace[:at] + MESSAGE_MARK + stacktrace[at + len(message) :]


# SHA-256 cut to 16 bytes: every stored occurrence's trace is hashed, and where the CPU has SHA instructions (x86
# SHA-NI, ARMv8 SHA2; OpenSSL uses them) a 2 KB trace hashes in ~1.9 µs against blake2b's ~4.6 (and no slower than
# blake2b where it has not). Keys only: a changed function means a stored text is stored once more, no row is lost.
def stack_hash(stacktrace: str) -> bytes:
    return _key(hashlib.sha256(stacktrace.encode("utf-8", "replace")).digest()) if stacktrace else b""


def _key(sha256_digest: bytes) -> bytes:
    # One definition of the cut: template_hash must equal stack_hash of the template it does not build.
    return sha256_digest[:16]


def template_hash(message: str, stacktrace: str) -> bytes:
    """`stack_hash(stack_template(message, stacktrace))` without building the template.

    The template is UCS-2 (the mark is outside Latin-1): building it widens a 2 KB ASCII trace and makes its UTF-8
    encoding the slow kind, for a text that is sent only when its hash is new. For an ASCII trace, character and
    byte offsets agree and UTF-8 concatenates, so the hash of the template is that of the encoded parts."""
    at = _message_at(message, stacktrace)
    if at < 0:
        return stack_hash(stacktrace)
    if not stacktrace.isascii():
        return stack_hash(stacktrace[:at] + MESSAGE_MARK + stacktrace[at + len(message) :])
    data = memoryview(stacktrace.encode("ascii"))
    h = hashlib.sha256(data[:at])
    h.update(_MARK_UTF8)
    h.update(data[at + len(message) :])
    return _key(h.digest())


_MARK_UTF8 = MESSAGE_MARK.encode()


def _message_at(message: str, stacktrace: str) -> int:
    # A trace that holds the mark itself is stored as it is: putting the message back would replace that one too.
    return header_message_at(message, stacktrace) if MESSAGE_MARK not in stacktrace else -1


class KnownTexts:
    """What the database already holds of the two large texts of an event, so that a commit sends each once.

    An event carries its error's grouping explanation (~8 KB) and its stack trace (~2 KB) although the database
    needs the first only to create the error and the second once per distinct stack template (`error_stacktraces`,
    see `stack_template`).
    Rows of a batch carry them only for a fingerprint or stack not sent earlier in the same batch and not
    remembered as committed when the batch was staged (`stage`); the others send "" (the SQL reads stack texts
    back by hash). Two batches of one commit may both carry a new text: the SQL keeps one. Memory is bounded:
    past `max_entries` the oldest half is forgotten, which only means sending those texts once more.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._known: dict[tuple[str, str | bytes], None] = {}

    def event_rows(self, events: Iterable[ErrorEvent], sent: set[tuple[str, str | bytes]]) -> Iterable[tuple[Any, ...]]:
        """COPY rows of `events`; `sent` collects the keys whose texts these rows carry (remember them once the
        commit succeeded)."""
        known = self._known
        for e in events:
            ws, fingerprint, message, stacktrace = e.workspace_id, e.fingerprint, e.message, e.stacktrace
            grouping = ""
            key: tuple[str, str | bytes] = (ws, fingerprint)
            if key not in known and key not in sent:
                sent.add(key)
                grouping = details_json(e.grouping)
            digest = template_hash(message, stacktrace)
            if digest:
                key = (ws, digest)
                if key in known or key in sent:
                    stacktrace = ""
                else:
                    sent.add(key)
                    stacktrace = stack_template(message, stacktrace)
            yield (
                ws,
                e.time_unix_nano,
                e.occurrence_id,
                fingerprint,
                e.fingerprint_config,
                e.type,
                message,
                stacktrace,
                e.title,
                e.culprit,
                grouping,
                e.severity,
                e.category,
                e.source,
                e.origin,
                e.handled,
                e.trace_id,
                e.span_id,
                e.parent_span_id,
                e.span_name,
                e.user_id,
                e.agent_id,
                e.environment,
                e.version,
                e.credits,
                e.attributes_json or "{}",
                digest,
                e.previous_fingerprint,
                e.agent_id == e.service_name,
            )

    def remember(self, sent: set[tuple[str, str | bytes]]) -> None:
        known = self._known
        known.update(dict.fromkeys(sent))
        if len(known) > self.max_entries:
            for key in list(known)[: len(known) // 2]:  # insertion order: the oldest first
                del known[key]


def execution_rows(executions: Iterable[Execution]) -> Iterable[tuple[Any, ...]]:
    for x in executions:
        yield (
            x.workspace_id,
            x.trace_id,
            x.span_id,
            x.start_time_unix_nano,
            x.end_time_unix_nano,
            x.failed,
            x.agent_id,
            x.agent_name,
            x.user_id,
            x.environment,
            x.credits,
        )


def span_rows(spans: Iterable[ErrorSpan]) -> Iterable[tuple[Any, ...]]:
    for s in spans:
        yield (
            s.workspace_id,
            s.trace_id,
            s.span_id,
            s.parent_span_id,
            s.name,
            s.start_time_unix_nano,
            s.end_time_unix_nano,
            s.status_code,
            s.status_message,
            s.propagated,
        )


def recovery_rows(recoveries: Iterable[Recovery]) -> Iterable[tuple[Any, ...]]:
    for r in recoveries:
        yield (
            r.workspace_id,
            r.trace_id,
            r.parent_span_id,
            r.span_id,
            r.last_span_id,
            r.method,
            r.recovered,
            r.attempts,
            r.failed_at_unix_nano,
            r.recovered_at_unix_nano,
        )


# Where the times sit in the rows above.
_EVENT_TIME, _EXECUTION_START, _FAILED, _CREDITS, _SPAN_START, _RECOVERY_FAILED = 1, 3, 5, 10, 5, 8
_EVENT_TRACE, _SPAN_TRACE = 16, 1


@dataclass(frozen=True, slots=True)
class StagedBatch:
    """A batch as a commit uses it: its COPY rows and what the commit's statements need to know of them.

    Built when the batch is queued, so that the event loop reads the batch and builds the rows while the
    database works on the previous commit; the commit itself only streams them (its COPY no longer waits for
    rows being built: ~8 of the ~9 µs per event row)."""

    events: list[tuple[Any, ...]]
    executions: list[tuple[Any, ...]]
    spans: list[tuple[Any, ...]]
    recoveries: list[tuple[Any, ...]]
    texts: set[tuple[str, str | bytes]]  # the large texts these rows carry (KnownTexts.remember once committed)
    days: frozenset[int]  # day numbers (`DAY_NS`) of every row: the partitions it writes into
    event_times: tuple[int, int] | None  # first and last occurrence time (ns)
    start_times: tuple[int, int] | None  # first and last execution start (ns)
    trace_times: tuple[int, int] | None  # first and last time of its records, error spans and recoveries (ns)
    linkable: frozenset[tuple[str, bytes]]  # the traces whose records may link with each other (ErrorBatch.linkable)
    late_credits: bool  # a failed execution with credits: errors stored before it may get them
    nbytes: int  # an estimate of the memory the rows hold, for the queue's bound in bytes

    def execution_workspaces(self) -> set[str]:
        """Workspaces of the executions (the first column of an execution row)."""
        return {row[0] for row in self.executions}


def stage(batch: ErrorBatch, texts: KnownTexts) -> StagedBatch:
    """The rows of an `ErrorBatch`; large texts already committed (`texts`) travel as ""."""
    carried: set[tuple[str, str | bytes]] = set()
    events = list(texts.event_rows(batch.events, carried))
    executions = list(execution_rows(batch.executions))
    spans = list(span_rows(batch.error_spans))
    recoveries = list(recovery_rows(batch.recoveries))
    event_ns = [r[_EVENT_TIME] for r in events]
    start_ns = [r[_EXECUTION_START] for r in executions]
    trace_ns = [*event_ns, *(r[_SPAN_START] for r in spans), *(r[_RECOVERY_FAILED] for r in recoveries)]
    days = {t // DAY_NS for t in trace_ns}
    days.update(t // DAY_NS for t in start_ns)
    nbytes = (
        _ROW_BYTES * (len(events) + len(executions) + len(spans) + len(recoveries))
        + sum(len(r[_MESSAGE]) + len(r[_STACKTRACE]) + len(r[_GROUPING]) + len(r[_ATTRIBUTES]) for r in events)
        + sum(len(r[_STATUS_MESSAGE]) for r in spans)
    )
    return StagedBatch(
        events,
        executions,
        spans,
        recoveries,
        carried,
        frozenset(days),
        (min(event_ns), max(event_ns)) if event_ns else None,
        (min(start_ns), max(start_ns)) if start_ns else None,
        (min(trace_ns), max(trace_ns)) if trace_ns else None,
        frozenset(batch.linkable),
        any(r[_FAILED] and r[_CREDITS] for r in executions),
        nbytes,
    )


# Where the large texts sit in the rows above, and an estimate of a row's other objects.
_MESSAGE, _STACKTRACE, _GROUPING, _ATTRIBUTES, _STATUS_MESSAGE = 6, 7, 10, 25, 8
_ROW_BYTES = 1200


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_HOUR, _DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
_SLACK = dt.timedelta(seconds=1)  # on top of the SQL's own windows, so that rounding can never matter


def _instant(time_ns: int) -> dt.datetime:
    """The timestamptz the SQL makes of a time in ns (`_TS`: microseconds, truncated)."""
    return _EPOCH + dt.timedelta(microseconds=time_ns // 1000)


def commit_windows(staged: list[StagedBatch]) -> tuple[dict[str, dt.datetime], dict[str, dt.datetime]]:
    """Parameters of CREDITS_FROM_KNOWN_EXECUTIONS and of INSERT_EXECUTIONS: each one's per-row time window
    (occurrence -1 day/+1 hour for executions, -1/+1 day for occurrences; execution -1 hour/+1 day for
    occurrences) widened over every row the commit stages, as constants the planner prunes partitions by.
    An empty side gives the empty window (now, now): its statement then has no rows to look up for."""
    first_event, last_event = _span_of([s.event_times for s in staged if s.event_times])
    first_start, last_start = _span_of([s.start_times for s in staged if s.start_times])
    for_events = {
        "executions_from": first_event - _DAY - _SLACK,
        "executions_to": last_event + _HOUR + _SLACK,
        "occurrences_from": first_event - _DAY - _SLACK,
        "occurrences_to": last_event + _DAY + _SLACK,
    }
    for_executions = {"occurrences_from": first_start - _HOUR - _SLACK, "occurrences_to": last_start + _DAY + _SLACK}
    return for_events, for_executions


def enqueue_params(staged: list[StagedBatch]) -> dict[str, Any]:
    """Parameters of ENQUEUE_CHAINS: a day either side of every record, error span and recovery the commit stages
    (the settle step's window for a trace's earlier records), and the traces whose rows in this commit may link:
    those a batch found linkable, and those in two batches or more (each batch saw only its own rows)."""
    first, last = _span_of([s.trace_times for s in staged if s.trace_times])
    linkable = set().union(*(s.linkable for s in staged))
    if len(staged) > 1:  # a commit of one batch needs no look at its rows
        seen: set[tuple[str, bytes]] = set()
        for s in staged:
            traces = {(r[0], r[_EVENT_TRACE]) for r in s.events if r[_EVENT_TRACE]}
            traces.update((r[0], r[_SPAN_TRACE]) for r in s.spans if r[_SPAN_TRACE])
            linkable |= traces & seen
            seen |= traces
    keys = sorted(linkable)
    return {
        "traces_from": first - _DAY - _SLACK,
        "traces_to": last + _DAY + _SLACK,
        "linkable_workspaces": [k[0] for k in keys],
        "linkable_traces": [k[1] for k in keys],
    }


def _span_of(ranges: list[tuple[int, int]]) -> tuple[dt.datetime, dt.datetime]:
    """The instants of the first start and the last end of (first, last) time ranges in ns."""
    if not ranges:
        now = dt.datetime.now(dt.UTC)
        return now, now
    return _instant(min(first for first, _ in ranges)), _instant(max(last for _, last in ranges))
