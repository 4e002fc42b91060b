"""What the processor hands the exporter: typed, immutable rows of one export request.

`ErrorBatch` is the seam between the pure core and the store (docs/architecture.md, "The seam"). The processor
builds it; `exporter/_rows.py` turns it into COPY rows. Nothing serializes it: both sides run in one process.
The rows are not changed once the processor returns them. They are not declared frozen because a compiled frozen
dataclass sets each field through `object.__setattr__` (measured: a quarter of the processor's extra cost).
`trace_views` is what the processor learned about the request's traces; it is remembered only once the batch is
committed (`Processor.committed`), so a retried request is judged against what is stored, never against itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from ._tracestate import TraceView
from .grouping import GroupingResult


class Origin(IntEnum):
    """Where an occurrence was extracted from."""

    SPAN_EVENT = 1  # span event `exception` or `*.exception`
    LOG_RECORD = 2  # log record with exception.* attributes
    SPAN_STATUS = 3  # ERROR-status span without an exception event

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(slots=True)
class ErrorEvent:
    """One occurrence of an error: a single exception, fingerprinted, scrubbed and classified."""

    workspace_id: str
    # Idempotency key (16 bytes), derived from the OTLP record only, so a retried export maps to the same id.
    occurrence_id: bytes
    time_unix_nano: int
    fingerprint: str  # 32 lowercase hex
    fingerprint_config: str  # grouping algorithm config id
    type: str
    message: str
    stacktrace: str
    title: str
    culprit: str
    # The fingerprint's explanation (frames, chain, components); the store keeps it as JSON
    # (`grouping.details_json`) for a new error only.
    grouping: GroupingResult
    severity: int  # classify.Severity
    category: int  # classify.Category
    source: int  # classify.Source
    origin: int  # Origin
    handled: bool
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    span_name: str
    user_id: str
    agent_id: str
    agent_name: str
    service_name: str
    environment: str
    version: str
    credits: float
    # Scrubbed, size-bounded context attributes (span, then exception event), as JSON.
    attributes_json: str
    # Types of the exception chain, outermost first, root cause last.
    chain_types: tuple[str, ...]
    # During a grouping upgrade: the fingerprint under the workspace's previous algorithm ("" otherwise).
    previous_fingerprint: str


@dataclass(slots=True)
class ErrorSpan:
    """A span that carries an error (ERROR status or an exception event): its place in the trace."""

    workspace_id: str
    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes
    name: str
    start_time_unix_nano: int
    end_time_unix_nano: int  # 0: unknown
    status_code: int  # OTLP Status.StatusCode
    status_message: str
    propagated: bool  # its exception was recorded deeper in the trace too


@dataclass(slots=True)
class Execution:
    """One execution (agent run): a trace's root span or its `invoke_agent` span, failed or not."""

    workspace_id: str
    trace_id: bytes
    span_id: bytes
    start_time_unix_nano: int
    end_time_unix_nano: int  # 0: unknown
    failed: bool
    agent_id: str
    agent_name: str
    user_id: str
    environment: str
    credits: float


@dataclass(slots=True)
class Recovery:
    """One recovery episode: failed attempts under one parent span, and how they ended.

    `method`: `retry` (a later sibling of the same name succeeded), `fallback` (one of another name did), `handled`
    (no sibling did, but the execution ended OK), or the agent's own `recovery.method` attribute; for an episode
    that failed (the execution failed after several attempts), the methods tried, comma-separated."""

    workspace_id: str
    trace_id: bytes
    parent_span_id: bytes
    span_id: bytes  # the first failed attempt: with `failed_at_unix_nano`, the episode's identity
    last_span_id: bytes  # the last failed attempt: its error is the episode's reason
    method: str
    recovered: bool
    attempts: int  # failed attempts
    failed_at_unix_nano: int  # when the first attempt failed
    recovered_at_unix_nano: int  # when the succeeding span ended; 0 when not recovered


# Why items are refused (OTLP partial_success): a code for self-telemetry, the text for the client.
INVALID_WORKSPACE = "invalid_workspace"
INVALID_IDS = "invalid_ids"
TIME_OUT_OF_WINDOW = "time_out_of_window"
REJECTIONS = {
    INVALID_WORKSPACE: "invalid workspace.id resource attribute",
    INVALID_IDS: "invalid trace or span id (OTLP ids are 16 and 8 bytes)",
    TIME_OUT_OF_WINDOW: "record time outside the accepted window (older than the retention or more than the allowed"
    " skew ahead)",
}


@dataclass(slots=True)
class ErrorBatch:
    """Everything one export request yields."""

    events: list[ErrorEvent] = field(default_factory=list)
    error_spans: list[ErrorSpan] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    # Items refused, by reason code (`REJECTIONS`); a warning is said even when nothing was refused.
    rejections: dict[str, int] = field(default_factory=dict)
    warning: str = ""
    # Self-telemetry: spans or log records the request held, and exception records dropped as propagation copies.
    received: int = 0
    propagated: int = 0
    # (workspace, trace) whose records in this batch may link into a chain (`chains.linkable_traces`).
    linkable: set[tuple[str, bytes]] = field(default_factory=set)
    # What the processor remembers of the request's traces once the batch is committed.
    trace_views: list[TraceView] = field(default_factory=list)
    # (trace id, span id, record) of the items refused while processing: each is counted once.
    refused: set[tuple[bytes, bytes, int]] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.events) + len(self.executions) + len(self.error_spans) + len(self.recoveries)

    def reject(self, code: str, count: int = 1) -> None:
        self.rejections[code] = self.rejections.get(code, 0) + count

    @property
    def rejected(self) -> int:
        return sum(self.rejections.values())

    @property
    def rejected_reason(self) -> str:
        """What OTLP partial_success says: the reasons, in the order they first occurred, then the warning."""
        return "; ".join([REJECTIONS[code] for code in self.rejections] + ([self.warning] if self.warning else []))
