"""Cascading failures: which error caused which, within one trace, from span parentage alone.

An error on a span whose descendant span failed with a different error is a cascading failure of that
descendant's error; a chain's root is the innermost cause (an error no other error in the trace caused). Names and
timestamps never link two errors (the GenAI semantic conventions say the same): only the parent ids do. The same
exception propagating through nested spans is one error (the processor drops the copies), so it never links to
itself.

A failure that was recovered (a retry or a fallback succeeded after it, or the execution handled it: the recovery
episodes the store committed) was contained where it happened: no error above its span is its effect, and an inner
error walking up through it stops there. Without that, a rate-limited call that a retry fixed would be named the
cause of an unrelated failure of its parent later in the run.

Broken parentage degrades to "unlinked", never to a crash or a wrong link: a span that is its own parent, a span
id reported twice with different parents, and every span on a parent cycle have no known ancestors; a missing
parent ends the walk. Pure: the store calls `link` with what it has committed for a trace, and, for each batch,
`linkable_traces` tells which of its traces are worth linking at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .batch import ErrorEvent, ErrorSpan

MAX_DEPTH = 64  # ancestors followed per span: deeper nesting is cut, never looped


@dataclass(frozen=True, slots=True)
class SpanNode:
    span_id: bytes
    parent_id: bytes  # b"" for a root


@dataclass(frozen=True, slots=True)
class ErrorAt:
    """An occurrence of error `error_id` on span `span_id`."""

    span_id: bytes
    error_id: str


@dataclass(frozen=True, slots=True)
class Chain:
    """One root cause and the errors it caused in one trace, nearest first."""

    root: str
    cascading: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TraceLinks:
    chains: tuple[Chain, ...]
    causes: frozenset[str]  # every error that caused another one in this trace (roots and intermediate causes)


def link(spans: Iterable[SpanNode], errors: Iterable[ErrorAt], contained: Iterable[bytes] = ()) -> TraceLinks:
    """Chains of the trace; `contained`: the spans whose failure was recovered (nothing above them is caused)."""
    parents = _parents(spans)
    occurrences = list(errors)
    stops = frozenset(contained)
    ancestors = {o.span_id: _ancestors(o.span_id, parents, stops) for o in occurrences}
    on_span: dict[bytes, set[str]] = {}
    for o in occurrences:
        on_span.setdefault(o.span_id, set()).add(o.error_id)
    # Error-level edges: cause (inner) -> effect (outer), with the number of spans between them.
    edges: dict[str, dict[str, int]] = {}
    for inner in occurrences:
        for depth, ancestor in enumerate(ancestors[inner.span_id], start=1):
            for outer_error in on_span.get(ancestor, ()):
                if outer_error != inner.error_id:
                    effects = edges.setdefault(inner.error_id, {})
                    effects[outer_error] = min(depth, effects.get(outer_error, depth))
    if not edges:
        return TraceLinks((), frozenset())
    effects_of_anything = {effect for effects in edges.values() for effect in effects}
    roots = sorted(cause for cause in edges if cause not in effects_of_anything)
    chains = tuple(Chain(root, _reachable(root, edges)) for root in roots)
    return TraceLinks(chains, frozenset(edges))


def _parents(spans: Iterable[SpanNode]) -> dict[bytes, bytes]:
    """span -> parent, without self-parents and without span ids reported with two different parents."""
    parents: dict[bytes, bytes] = {}
    ambiguous: set[bytes] = set()
    for span in spans:
        if not span.span_id or span.span_id in ambiguous:
            continue
        parent = span.parent_id if span.parent_id != span.span_id else b""
        known = parents.get(span.span_id)
        if known is not None and known != parent:
            ambiguous.add(span.span_id)
            del parents[span.span_id]
            continue
        parents[span.span_id] = parent
    return parents


def _ancestors(span_id: bytes, parents: dict[bytes, bytes], stops: frozenset[bytes]) -> list[bytes]:
    """The span's ancestors, nearest first, up to the first contained span (included: its own error is an effect);
    none when the walk meets a cycle (broken parentage links nothing) or starts on a contained span."""
    found: list[bytes] = []
    if span_id in stops:
        return found
    seen = {span_id}
    current = parents.get(span_id, b"")
    while current and len(found) < MAX_DEPTH:  # the whole walk first: a cycle above a contained span breaks it too
        if current in seen:
            return []
        seen.add(current)
        found.append(current)
        current = parents.get(current, b"")
    for depth, ancestor in enumerate(found):
        if ancestor in stops:
            return found[: depth + 1]
    return found


def _reachable(root: str, edges: dict[str, dict[str, int]]) -> tuple[str, ...]:
    """The errors `root` caused, directly or through others, nearest first (ties by id, for a stable shape)."""
    distance: dict[str, int] = {}
    frontier = [(0, root)]
    while frontier:
        frontier.sort()
        dist, error = frontier.pop(0)
        for effect, depth in edges.get(error, {}).items():
            total = dist + depth
            if effect != root and total < distance.get(effect, 1 << 30):
                distance[effect] = total
                frontier.append((total, effect))
    return tuple(sorted(distance, key=lambda e: (distance[e], e)))


def linkable_traces(events: Iterable[ErrorEvent], spans: Iterable[ErrorSpan]) -> set[tuple[str, bytes]]:
    """The (workspace, trace) of one batch whose records may link with each other: a record on a span with an
    ancestor, through the batch's error spans, that holds a record of another error. A superset of what `link`
    finds from the same rows (recovery only removes links; an ambiguous parent is followed here, not there).

    Most traces with two errors hold them on siblings, which never link: the store queues for the linker only the
    traces named here, those spread over several batches of a commit, and those with records committed before."""
    errors: dict[tuple[str, bytes], dict[bytes, set[str]]] = {}
    for event in events:
        if event.trace_id and event.span_id:
            on_span = errors.setdefault((event.workspace_id, event.trace_id), {})
            # A grouping upgrade may resolve one new fingerprint to two errors: the previous one tells them apart.
            on_span.setdefault(event.span_id, set()).add(event.fingerprint + " " + event.previous_fingerprint)
    several = {key for key, on_span in errors.items() if len(on_span) > 1}
    if not several:
        return set()
    parents: dict[tuple[str, bytes], dict[bytes, bytes]] = {}
    for span in spans:
        key = (span.workspace_id, span.trace_id)
        if key in several:
            parents.setdefault(key, {})[span.span_id] = span.parent_span_id
    return {key for key in several if _may_link(errors[key], parents.get(key, {}))}


def _may_link(on_span: dict[bytes, set[str]], parent_of: dict[bytes, bytes]) -> bool:
    for span_id, inner in on_span.items():
        current = parent_of.get(span_id, b"")
        for _ in range(MAX_DEPTH):  # bounded: a cycle only repeats
            if not current:
                break
            outer = on_span.get(current)
            if outer is not None and (outer != inner or len(inner) > 1):  # two errors between them
                return True
            current = parent_of.get(current, b"")
    return False
