"""Short-lived, bounded memory of recent traces (DESIGN §9).

Spans of one trace reach the receiver in several exports (the SDK's batch processor ships spans as they end), so
deciding "this exception was already counted deeper in the trace" or "which user ran this execution" needs a
little memory per trace. It is an LRU over traces with a cap on spans per trace; losing it (restart, eviction)
only weakens deduplication and enrichment, never loses data.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

# (exception key, span id) of an exception already counted in this trace.
ExceptionKey = tuple[str, str]


@dataclass(slots=True)
class ExecutionIdentity:
    user_id: str = ""
    agent_id: str = ""
    agent_name: str = ""
    environment: str = ""
    version: str = ""


@dataclass(slots=True)
class TraceMemory:
    parents: dict[bytes, bytes] = field(default_factory=dict)  # error span id -> parent span id
    exceptions: list[tuple[ExceptionKey, tuple[tuple[str, str], ...], bytes]] = field(default_factory=list)
    has_agent_invocation: bool = False
    identity: ExecutionIdentity | None = None


class TraceState:
    def __init__(self, max_traces: int, max_spans_per_trace: int) -> None:
        self._traces: OrderedDict[tuple[str, bytes], TraceMemory] = OrderedDict()
        self._max_traces = max_traces
        self._max_spans = max_spans_per_trace

    def __len__(self) -> int:
        return len(self._traces)

    def get(self, workspace: str, trace_id: bytes) -> TraceMemory | None:
        return self._traces.get((workspace, trace_id))

    def touch(self, workspace: str, trace_id: bytes) -> TraceMemory:
        key = (workspace, trace_id)
        memory = self._traces.get(key)
        if memory is None:
            memory = self._traces[key] = TraceMemory()
            if len(self._traces) > self._max_traces:
                self._traces.popitem(last=False)
        else:
            self._traces.move_to_end(key)
        return memory

    def add_span(self, memory: TraceMemory, span_id: bytes, parent_id: bytes) -> None:
        if len(memory.parents) < self._max_spans:
            memory.parents[span_id] = parent_id

    @staticmethod
    def related(memory: TraceMemory, a: bytes, b: bytes, max_depth: int = 64) -> bool:
        """True when span `a` is an ancestor or descendant of span `b` through known error spans."""
        return _is_ancestor(memory, a, b, max_depth) or _is_ancestor(memory, b, a, max_depth)


def _is_ancestor(memory: TraceMemory, ancestor: bytes, span: bytes, max_depth: int) -> bool:
    current = span
    for _ in range(max_depth):
        parent = memory.parents.get(current)
        if not parent:
            return False
        if parent == ancestor:
            return True
        current = parent
    return False
