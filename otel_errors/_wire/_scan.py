"""`candidate_spans`: the spans of a serialized request that may matter, found by walking its framing."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from ._format import (
    AGENT_PREFIX,
    REQUEST_RESOURCE_SPANS,
    RESOURCE_SPANS_RESOURCE,
    RESOURCE_SPANS_SCOPE_SPANS,
    SCOPE_SPANS_SPANS,
    SPAN_EVENTS,
    SPAN_NAME,
    SPAN_PARENT_SPAN_ID,
    SPAN_STATUS,
    STATUS_CODE,
    STATUS_CODE_ERROR,
    WIRE_LEN,
    WIRE_VARINT,
    Unexpected,
    bounded,
    read_len,
    read_tag,
    read_varint,
    skip_field,
)


class WirePicks:
    """What `candidate_spans` found: the spans that may matter and where each resource is."""

    __slots__ = ("spans", "resources", "total", "failed_parents", "answered")

    def __init__(self) -> None:
        self.total = 0  # every span of the request, picked or not
        # Parent ids of the request's ERROR spans: their later siblings are picked too (recovery).
        self.failed_parents: set[bytes] = set()
        self.answered: set[bytes] = set()  # parents whose first OK child after a failure was picked
        # (resource_spans index, scope_spans index, span index, start, end of the span's bytes), in wire order.
        self.spans: list[tuple[int, int, int, int, int]] = []
        # Per resource_spans index: start and end of its Resource's bytes; (0, 0) without one, (-1, -1) when it
        # comes twice (protobuf merges the two: read it through the objects).
        self.resources: list[tuple[int, int]] = []


_NO_PARENTS: frozenset[bytes] = frozenset()


def candidate_spans(data: bytes, siblings_of: AbstractSet[bytes] = _NO_PARENTS) -> WirePicks | None:
    """The spans of the request in `data` that may matter; None when the bytes hold something this reader does not
    follow (malformed framing, groups).

    Also picked: a span whose parent is in `siblings_of` (parents of failed spans remembered from earlier exports)
    or is the parent of an ERROR span met earlier in this request: it may be the retry or the fallback that
    recovered the failure. (A sibling written before its failed sibling is not picked for that reason.)"""
    try:
        return _request(data, siblings_of)
    except (Unexpected, IndexError):
        return None


def _request(data: bytes, siblings_of: AbstractSet[bytes]) -> WirePicks:
    picks = WirePicks()
    end = len(data)
    pos = 0
    resource_index = 0
    while pos < end:
        field, wire, pos = read_tag(data, pos, end)
        if field != REQUEST_RESOURCE_SPANS or wire != WIRE_LEN:
            pos = skip_field(data, pos, end, wire)
            continue
        pos, stop = read_len(data, pos, end)
        _resource_spans(data, pos, stop, resource_index, picks, siblings_of)
        resource_index += 1
        pos = stop
    return picks


def _resource_spans(
    data: bytes, pos: int, end: int, resource_index: int, picks: WirePicks, siblings_of: AbstractSet[bytes]
) -> None:
    picked = picks.spans
    failed_parents = picks.failed_parents
    answered = picks.answered
    resource = (0, 0)
    scope_index = 0
    while pos < end:
        field, wire, pos = read_tag(data, pos, end)
        if field == RESOURCE_SPANS_RESOURCE and wire == WIRE_LEN:
            pos, stop = read_len(data, pos, end)
            resource = (pos, stop) if resource == (0, 0) else (-1, -1)
            pos = stop
            continue
        if field != RESOURCE_SPANS_SCOPE_SPANS or wire != WIRE_LEN:
            pos = skip_field(data, pos, end, wire)
            continue
        pos, stop = read_len(data, pos, end)
        span_index = 0
        while pos < stop:
            field, wire, pos = read_tag(data, pos, stop)
            if field != SCOPE_SPANS_SPANS or wire != WIRE_LEN:
                pos = skip_field(data, pos, stop, wire)
                continue
            pos, span_end = read_len(data, pos, stop)
            flags, parent_at = _may_matter(data, pos, span_end)
            may = flags & _MAY
            if may:
                picked.append((resource_index, scope_index, span_index, pos, span_end))
            if parent_at >= 0:
                if flags & _FAILED:
                    parent = data[parent_at : parent_at + 8]
                    failed_parents.add(parent)
                    answered.discard(parent)
                elif siblings_of or failed_parents:
                    # The first OK sibling after a failure answers whether it was recovered; later ones need not
                    # be read. A span with events is read anyway, and may not count (it recorded an exception).
                    parent = data[parent_at : parent_at + 8]
                    if parent not in answered and (parent in failed_parents or parent in siblings_of):
                        if not may:
                            picked.append((resource_index, scope_index, span_index, pos, span_end))
                        if not flags & _EVENTS:
                            answered.add(parent)
            span_index += 1
            pos = span_end
        picks.total += span_index
        scope_index += 1
    picks.resources.append(resource)


# What `_may_matter` tells about a span.
_MAY = 1  # root, events, ERROR status or an agent invocation: the walk looks at it
_FAILED = 2  # ERROR status
_EVENTS = 4  # it has events


def _may_matter(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """The walk's filter, answered from a span's bytes (`_MAY`, `_FAILED` flags), and where its 8-byte parent id
    starts (-1: a root; -2: a parent id of another size)."""
    parent_at = -1
    flags = 0
    while pos < end:
        # Inline for the usual case (a one-byte tag and a one-byte length): most of a request's bytes pass here.
        tag = data[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = read_varint(data, pos, end)
        field = tag >> 3
        wire = tag & 7
        if wire != WIRE_LEN:
            pos = skip_field(data, pos, end, wire)
            continue
        length = data[pos] if pos < end else 0x80
        if length < 0x80:
            pos += 1
        else:
            length, pos = read_varint(data, pos, end)
        start = pos
        pos = bounded(pos, length, end)
        if field == SPAN_PARENT_SPAN_ID:
            # A singular field: the last occurrence wins. -2: a parent, but not one a sibling could match.
            parent_at = start if length == 8 else -1 if length == 0 else -2
        elif field == SPAN_EVENTS:
            flags |= _MAY | _EVENTS
        elif field == SPAN_NAME:
            if data[start : start + len(AGENT_PREFIX)] == AGENT_PREFIX:
                flags |= _MAY
        elif field == SPAN_STATUS and _status_is_error(data, start, pos):
            flags |= _MAY | _FAILED
    if parent_at == -1:
        flags |= _MAY  # a root
    return flags, parent_at


def _status_is_error(data: bytes, pos: int, end: int) -> bool:
    error = False
    while pos < end:
        field, wire, pos = read_tag(data, pos, end)
        if field == STATUS_CODE and wire == WIRE_VARINT:
            code, pos = read_varint(data, pos, end)
            if code == STATUS_CODE_ERROR:
                error = True
        else:
            pos = skip_field(data, pos, end, wire)
    return error
