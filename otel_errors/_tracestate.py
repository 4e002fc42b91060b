"""Short-lived, bounded memory of recent traces, for propagation and enrichment.

Spans of one trace reach the receiver in several exports (the SDK's batch processor ships spans as they end), so
deciding "this exception was already counted deeper in the trace" or "which user ran this execution" needs a
little memory per trace. It is an LRU over traces, bounded by an estimate of its bytes and by spans per trace;
losing it (restart, eviction) only weakens deduplication and enrichment, never loses data.

An export reads the memory through a `TraceView`: what is committed plus what the export itself adds. The
additions reach the memory only when the export's batch is committed (`TraceState.commit`): an export that fails
after processing and is retried is then judged against what is stored, not taken for a copy of itself.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, KeysView
from dataclasses import dataclass, field

# (short exception type, hash of the message) of an exception already counted in this trace. The message is
# kept as its hash: a key only compares for equality, and a message may be 8 KiB.
ExceptionKey = tuple[str, int]
# (module or file, function) of the in-app frames, innermost last.
FramesKey = tuple[tuple[str, str], ...]
# An exception counted in a trace: its key, its frames, its span, and an estimate of the bytes it holds.
ExceptionEntry = tuple[ExceptionKey, FramesKey, bytes, int]

# Byte estimates of the Python objects an entry holds (dict slot, tuple, small objects), for the memory bound.
# Ids are 8 or 16 bytes (the walk refuses others).
_PARENT_BYTES = 180
_EXCEPTION_BYTES = 200
_FRAME_BYTES = 120
_TRACE_BYTES = 600
_FAILURE_BYTES = 260


@dataclass(slots=True)
class ExecutionIdentity:
    user_id: str = ""
    agent_id: str = ""
    agent_name: str = ""
    environment: str = ""
    version: str = ""

    def nbytes(self) -> int:
        return (
            200
            + len(self.user_id)
            + len(self.agent_id)
            + len(self.agent_name)
            + len(self.environment)
            + len(self.version)
        )


@dataclass(slots=True)
class Failure:
    """A failed span (ERROR status), for recovery: did a sibling succeed after it, or its execution end well?"""

    span_id: bytes
    name: str
    start_ns: int
    end_ns: int  # when it failed: its end, else its start


@dataclass(slots=True)
class TraceMemory:
    parents: dict[bytes, bytes] = field(default_factory=dict)  # error span id -> parent span id
    exceptions: list[ExceptionEntry] = field(default_factory=list)
    has_agent_invocation: bool = False
    identity: ExecutionIdentity | None = None
    # Parent span id -> its failed children whose episode has not ended (ended ones are dropped at the commit).
    failures: dict[bytes, list[Failure]] = field(default_factory=dict)
    # In a view's additions only: failed spans whose episode this export ended.
    settled: set[bytes] = field(default_factory=set)
    nbytes: int = _TRACE_BYTES


class TraceView:
    """One export's view of a trace: the committed memory (`base`, None for a trace not remembered) and what the
    export adds (`added`). Reads see both; writes go to `added` only."""

    __slots__ = ("added", "base", "key")

    def __init__(self, key: tuple[str, bytes], base: TraceMemory | None) -> None:
        self.key = key
        self.base = base
        self.added = TraceMemory()

    def parent(self, span_id: bytes) -> bytes:
        parent = self.added.parents.get(span_id)
        if parent is None and self.base is not None:
            parent = self.base.parents.get(span_id)
        return parent or b""

    def span_count(self) -> int:
        return len(self.added.parents) + (len(self.base.parents) if self.base is not None else 0)

    def exception_lists(self) -> tuple[list[ExceptionEntry], ...]:
        """The exceptions counted in this trace: the committed ones, then this export's."""
        if self.base is None or not self.base.exceptions:
            return (self.added.exceptions,)
        return (self.base.exceptions, self.added.exceptions)

    def exception_count(self) -> int:
        return len(self.added.exceptions) + (len(self.base.exceptions) if self.base is not None else 0)

    @property
    def identity(self) -> ExecutionIdentity | None:
        if self.added.identity is not None:
            return self.added.identity
        return self.base.identity if self.base is not None else None

    @property
    def has_agent_invocation(self) -> bool:
        return self.added.has_agent_invocation or (self.base is not None and self.base.has_agent_invocation)

    def failures_under(self, parent: bytes) -> list[Failure]:
        """The failed children of `parent` not settled yet, committed ones first."""
        found = [f for f in self.base.failures.get(parent, ())] if self.base is not None else []
        found += self.added.failures.get(parent, ())
        return [f for f in found if not self.is_settled(f.span_id)]

    def failed_parents(self) -> list[bytes]:
        parents = list(self.base.failures) if self.base is not None else []
        return parents + [p for p in self.added.failures if p not in parents]

    def is_settled(self, span_id: bytes) -> bool:
        return span_id in self.added.settled


class TraceState:
    def __init__(self, max_traces: int, max_spans_per_trace: int, max_bytes: int) -> None:
        self._traces: OrderedDict[tuple[str, bytes], TraceMemory] = OrderedDict()
        self._max_traces = max_traces
        self._max_spans = max_spans_per_trace
        self._max_bytes = max_bytes
        self.nbytes = 0
        # Parent ids of every remembered failure, counted: the scan picks their later children (recovery).
        self._failed_parents: dict[bytes, int] = {}

    def sibling_parents(self) -> KeysView[bytes]:
        return self._failed_parents.keys()

    def add_failure(self, view: TraceView, parent: bytes, failure: Failure) -> None:
        if view.span_count() < self._max_spans:
            view.added.failures.setdefault(parent, []).append(failure)

    def __len__(self) -> int:
        return len(self._traces)

    def get(self, workspace: str, trace_id: bytes) -> TraceMemory | None:
        return self._traces.get((workspace, trace_id))

    def view(self, workspace: str, trace_id: bytes) -> TraceView:
        key = (workspace, trace_id)
        return TraceView(key, self._traces.get(key))

    def add_span(self, view: TraceView, span_id: bytes, parent_id: bytes) -> None:
        if view.span_count() < self._max_spans:
            view.added.parents[span_id] = parent_id

    def may_add_exception(self, view: TraceView) -> bool:
        return view.exception_count() < self._max_spans

    def commit(self, views: Iterable[TraceView]) -> None:
        """Remember what committed exports added; the least recently used traces go beyond the bounds."""
        traces = self._traces
        for view in views:
            added = view.added
            if not (
                added.parents
                or added.exceptions
                or added.identity is not None
                or added.has_agent_invocation
                or added.failures
                or added.settled
            ):
                continue
            if added.settled:
                _drop_settled(added.failures, added.settled)
            memory = traces.get(view.key)
            if memory is None:
                # A trace first seen in this export: what it added is the whole memory (ids are 8 and 16 bytes).
                added.nbytes = _TRACE_BYTES + _PARENT_BYTES * len(added.parents)
                for entry in added.exceptions:
                    added.nbytes += entry[3]
                if added.identity is not None:
                    added.nbytes += added.identity.nbytes()
                added.nbytes += self._count_failures(added.failures)
                added.settled = set()
                traces[view.key] = added
                self.nbytes += added.nbytes
                continue
            traces.move_to_end(view.key)
            grown = 0
            for span_id, parent_id in added.parents.items():
                if span_id not in memory.parents and len(memory.parents) < self._max_spans:
                    memory.parents[span_id] = parent_id
                    grown += _PARENT_BYTES
            for entry in added.exceptions:
                if len(memory.exceptions) < self._max_spans:
                    memory.exceptions.append(entry)
                    grown += entry[3]
            for parent, failures in added.failures.items():
                known = memory.failures.setdefault(parent, [])
                for failure in failures:
                    if len(known) < self._max_spans:
                        known.append(failure)
                        grown += self._count_failures({parent: [failure]})
            if added.settled:
                for parent, dropped in _drop_settled(memory.failures, added.settled).items():
                    grown -= sum(_FAILURE_BYTES + len(f.name) for f in dropped)
                    self._uncount(parent, len(dropped))
            if added.has_agent_invocation:
                memory.has_agent_invocation = True
            if added.identity is not None and (added.has_agent_invocation or memory.identity is None):
                if memory.identity is not None:
                    grown -= memory.identity.nbytes()
                memory.identity = added.identity
                grown += added.identity.nbytes()
            memory.nbytes += grown
            self.nbytes += grown
        while traces and (len(traces) > self._max_traces or self.nbytes > self._max_bytes):
            _key, evicted = traces.popitem(last=False)
            self.nbytes -= evicted.nbytes
            for parent, failures in evicted.failures.items():
                self._uncount(parent, len(failures))

    def _uncount(self, parent: bytes, failures: int) -> None:
        left = self._failed_parents.get(parent, 0) - failures
        if left > 0:
            self._failed_parents[parent] = left
        else:
            self._failed_parents.pop(parent, None)

    def _count_failures(self, failures: dict[bytes, list[Failure]]) -> int:
        """Registers the parents of `failures` for the scan; returns the bytes they hold."""
        nbytes = 0
        for parent, children in failures.items():
            self._failed_parents[parent] = self._failed_parents.get(parent, 0) + len(children)
            nbytes += sum(_FAILURE_BYTES + len(f.name) for f in children)
        return nbytes

    @staticmethod
    def related(view: TraceView, a: bytes, b: bytes, max_depth: int = 64) -> bool:
        """True when span `a` is an ancestor or descendant of span `b` through known error spans."""
        return _is_ancestor(view, a, b, max_depth) or _is_ancestor(view, b, a, max_depth)


def _drop_settled(failures: dict[bytes, list[Failure]], settled: set[bytes]) -> dict[bytes, list[Failure]]:
    """Removes the settled failures from `failures` (and parents left with none); returns what it removed."""
    dropped: dict[bytes, list[Failure]] = {}
    for parent in list(failures):
        children = failures[parent]
        gone = [f for f in children if f.span_id in settled]
        if gone:
            dropped[parent] = gone
            kept = [f for f in children if f.span_id not in settled]
            if kept:
                failures[parent] = kept
            else:
                del failures[parent]
    return dropped


def exception_bytes(key: ExceptionKey, frames: FramesKey) -> int:
    """The bytes an exception entry holds (its frames' strings may be shared with the grouping memo: counted)."""
    return (
        _EXCEPTION_BYTES + len(key[0]) + sum(_FRAME_BYTES + len(module) + len(function) for module, function in frames)
    )


def _is_ancestor(view: TraceView, ancestor: bytes, span: bytes, max_depth: int) -> bool:
    current = span
    for _ in range(max_depth):
        parent = view.parent(current)
        if not parent:
            return False
        if parent == ancestor:
            return True
        current = parent
    return False
