"""Cascading-failure chains from span parentage (`otel_errors.chains.link`), one case per named input."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from otlp_builders import NOW, span, traces

from otel_errors import Processor
from otel_errors.batch import ErrorEvent, ErrorSpan
from otel_errors.chains import Chain, ErrorAt, SpanNode, link, linkable_traces


def _span(span: str, parent: str = "") -> SpanNode:
    return SpanNode(span.encode(), parent.encode())


def _at(span: str, error: str) -> ErrorAt:
    return ErrorAt(span.encode(), error)


# run <- step <- tool: a tool's timeout makes the step raise its own error, and the run fails with a third.
AGENT_RUN = [_span("run"), _span("step", "run"), _span("tool", "step")]
CASCADE = [_at("tool", "TimeoutError"), _at("step", "AgentStepError"), _at("run", "RunFailedError")]


def test_a_timeout_causing_a_step_error_causing_a_failed_run_is_one_chain() -> None:
    links = link(AGENT_RUN, CASCADE)
    assert links.chains == (Chain("TimeoutError", ("AgentStepError", "RunFailedError")),)
    assert links.causes == {"TimeoutError", "AgentStepError"}


def test_spans_in_any_order_give_the_same_chain() -> None:
    for spans, errors in zip(itertools.permutations(AGENT_RUN), itertools.permutations(CASCADE), strict=True):
        assert link(spans, errors).chains == (Chain("TimeoutError", ("AgentStepError", "RunFailedError")),)


def test_one_exception_escaping_three_spans_is_one_error_not_a_chain() -> None:
    # The processor keeps one occurrence; even if copies reached the store, one error never links to itself.
    links = link(AGENT_RUN, [_at("tool", "ValueError"), _at("step", "ValueError"), _at("run", "ValueError")])
    assert links.chains == () and links.causes == frozenset()


def test_errors_on_siblings_are_not_linked() -> None:
    spans = [_span("run"), _span("a", "run"), _span("b", "run")]
    assert link(spans, [_at("a", "E1"), _at("b", "E2")]).chains == ()


def test_a_span_that_is_its_own_parent_is_unlinked() -> None:
    spans = [_span("run"), _span("tool", "tool")]
    assert link(spans, [_at("tool", "E1"), _at("run", "E2")]).chains == ()


def test_a_parent_cycle_links_nothing_on_it() -> None:
    spans = [_span("a", "b"), _span("b", "c"), _span("c", "a")]
    assert link(spans, [_at("a", "E1"), _at("b", "E2"), _at("c", "E3")]).chains == ()


def test_a_missing_parent_ends_the_walk_without_a_wrong_link() -> None:
    spans = [_span("tool", "step-never-exported"), _span("run")]
    assert link(spans, [_at("tool", "E1"), _at("run", "E2")]).chains == ()


def test_a_span_id_reported_twice_with_different_parents_is_unlinked() -> None:
    spans = [_span("run"), _span("other"), _span("tool", "run"), _span("tool", "other")]
    assert link(spans, [_at("tool", "E1"), _at("run", "E2"), _at("other", "E3")]).chains == ()


def test_a_span_id_reported_twice_with_the_same_parent_still_links() -> None:
    spans = [_span("run"), _span("tool", "run"), _span("tool", "run")]
    assert link(spans, [_at("tool", "E1"), _at("run", "E2")]).chains == (Chain("E1", ("E2",)),)


def test_two_independent_causes_under_one_failure_are_two_chains() -> None:
    spans = [_span("run"), _span("search", "run"), _span("fetch", "run")]
    links = link(spans, [_at("search", "RateLimitError"), _at("fetch", "TimeoutError"), _at("run", "RunFailed")])
    assert links.chains == (Chain("RateLimitError", ("RunFailed",)), Chain("TimeoutError", ("RunFailed",)))


def test_nesting_deeper_than_the_limit_is_cut_not_looped() -> None:
    spans = [_span("s0")] + [_span(f"s{i}", f"s{i - 1}") for i in range(1, 200)]
    links = link(spans, [_at("s199", "Deep"), _at("s0", "Top"), _at("s150", "Middle")])
    assert links.chains == (Chain("Deep", ("Middle",)),)  # s0 is 199 levels up: beyond MAX_DEPTH (64)


_IDS = st.sampled_from([b"a", b"b", b"c", b"d", b"e", b""])


@settings(max_examples=300, deadline=None)
@given(
    spans=st.lists(st.builds(SpanNode, _IDS, _IDS), max_size=12),
    errors=st.lists(st.builds(ErrorAt, _IDS, st.sampled_from(["E1", "E2", "E3"])), max_size=8),
    contained=st.frozensets(_IDS, max_size=3),
)
def test_any_parentage_links_only_ancestors_and_never_raises(
    spans: list[SpanNode], errors: list[ErrorAt], contained: frozenset[bytes]
) -> None:
    """Whatever the parentage (cycles, duplicates, self-parents, gaps) and the contained spans, a link's effect
    sits on a true ancestor of its cause's span in the reported parentage, no higher than the first contained
    span, and no chain contains its own root."""
    links = link(spans, errors, contained)
    for chain in links.chains:
        assert chain.root not in chain.cascading and chain.root in links.causes
        assert len(set(chain.cascading)) == len(chain.cascading)
    # A reference reading of the parentage: unambiguous, not self, and an ancestor walk that meets no cycle.
    reported: dict[bytes, set[bytes]] = {}
    for s in spans:
        if s.span_id:
            reported.setdefault(s.span_id, set()).add(b"" if s.parent_id == s.span_id else s.parent_id)
    parent = {span: next(iter(ps)) for span, ps in reported.items() if len(ps) == 1}

    def ancestors(span: bytes) -> list[bytes]:
        found, seen, current = [], {span}, parent.get(span, b"")
        while current:
            if current in seen:
                return []
            seen.add(current)
            found.append(current)
            current = parent.get(current, b"")
        if span in contained:
            return []
        for i, ancestor in enumerate(found):
            if ancestor in contained:
                return found[: i + 1]
        return found

    expected_causes = {
        inner.error_id
        for inner in errors
        for outer in errors
        if outer.error_id != inner.error_id and outer.span_id in ancestors(inner.span_id)
    }
    assert links.causes == expected_causes


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_root_is_the_innermost_cause_whatever_the_error_order(order: tuple[int, ...]) -> None:
    errors = [CASCADE[i] for i in order]
    assert link(AGENT_RUN, errors).chains[0].root == "TimeoutError"


def test_a_retried_failure_does_not_cause_its_parents_later_failure() -> None:
    """A rate-limited call that a retry fixed, then an unrelated step failure that fails the run."""
    spans = [*AGENT_RUN, _span("chat-1", "run"), _span("chat-2", "run")]
    errors = [*CASCADE, _at("chat-1", "RateLimitError")]
    assert link(spans, errors, contained=[b"chat-1"]).chains == (
        Chain("TimeoutError", ("AgentStepError", "RunFailedError")),
    )
    # Without the recovery (not seen, e.g. on another process) parentage alone links it: a second chain.
    assert Chain("RateLimitError", ("RunFailedError",)) in link(spans, errors).chains


def test_an_inner_error_stops_at_a_contained_span() -> None:
    """The step's failure was handled by a fallback: the tool's timeout caused it, and nothing above it."""
    links = link(AGENT_RUN, CASCADE, contained=[b"step"])
    assert links.chains == (Chain("TimeoutError", ("AgentStepError",)),)
    assert links.causes == {"TimeoutError"}


def test_a_cycle_above_a_contained_span_links_nothing() -> None:
    """Found by the property above: the walk stopped at the contained span before it met the cycle."""
    spans = [_span("a", "b"), _span("b", "a")]
    assert link(spans, [_at("a", "Outer"), _at("b", "Inner")], contained=[b"a"]).causes == frozenset()


# -- which traces of a batch are worth linking (`linkable_traces`): the store queues no others ----------------------

_TEMPLATE = Processor().process_traces(
    traces(span(trace_id=b"t" * 16, span_id=b"s" * 8, exceptions=[{"exception.type": "E", "exception.message": "m"}])),
    "ws",
    NOW,
)
_EVENT, _ERROR_SPAN = _TEMPLATE.events[0], _TEMPLATE.error_spans[0]
TRACE = b"t" * 16


def _record(span_id: bytes, error: str, *, trace: bytes = TRACE, workspace: str = "ws") -> ErrorEvent:
    return replace(
        _EVENT, workspace_id=workspace, trace_id=trace, span_id=span_id, fingerprint=error, previous_fingerprint=""
    )


def _error_span(span_id: bytes, parent: bytes, *, trace: bytes = TRACE, workspace: str = "ws") -> ErrorSpan:
    return replace(_ERROR_SPAN, workspace_id=workspace, trace_id=trace, span_id=span_id, parent_span_id=parent)


AGENT_RUN_SPANS = [_error_span(b"run", b""), _error_span(b"step", b"run"), _error_span(b"tool", b"step")]


def test_a_cascade_in_one_batch_is_linkable() -> None:
    records = [_record(b"tool", "TimeoutError"), _record(b"step", "AgentStepError")]
    assert linkable_traces(records, AGENT_RUN_SPANS) == {("ws", TRACE)}


def test_errors_on_siblings_only_are_not_linkable() -> None:
    spans = [_error_span(b"a", b"run"), _error_span(b"b", b"run")]
    assert linkable_traces([_record(b"a", "E1"), _record(b"b", "E2")], spans) == set()


def test_one_error_on_nested_spans_is_not_linkable() -> None:
    records = [_record(b"tool", "E1"), _record(b"run", "E1")]
    assert linkable_traces(records, AGENT_RUN_SPANS) == set()


def test_a_cascade_through_a_span_without_a_record_of_its_own_is_linkable() -> None:
    # The step's own record was a copy of the tool's (propagated): its error span still carries the parentage.
    records = [_record(b"tool", "TimeoutError"), _record(b"run", "RunFailedError")]
    assert linkable_traces(records, AGENT_RUN_SPANS) == {("ws", TRACE)}


def test_a_grouping_upgrade_that_splits_one_fingerprint_is_linkable() -> None:
    records = [_record(b"tool", "F"), replace(_record(b"step", "F"), previous_fingerprint="old")]
    assert linkable_traces(records, AGENT_RUN_SPANS) == {("ws", TRACE)}


def test_another_workspaces_spans_never_make_a_trace_linkable() -> None:
    # Trace ids are chosen by the sender: a tenant may reuse another's. Parentage is read per workspace.
    records = [_record(b"tool", "E1", workspace="a"), _record(b"step", "E2", workspace="a")]
    spans = [_error_span(b"tool", b"step", workspace="b"), _error_span(b"step", b"run", workspace="b")]
    assert linkable_traces(records, spans) == set()
    assert linkable_traces(records, [replace(s, workspace_id="a") for s in spans]) == {("a", TRACE)}


def test_a_parent_cycle_is_walked_a_bounded_number_of_steps() -> None:
    spans = [_error_span(b"a", b"b"), _error_span(b"b", b"a")]
    assert linkable_traces([_record(b"a", "E1"), _record(b"c", "E2")], spans) == set()


_WORKSPACES = st.sampled_from(["a", "b"])


@settings(max_examples=400, deadline=None)
@given(
    spans=st.lists(st.tuples(_WORKSPACES, st.builds(SpanNode, _IDS, _IDS)), max_size=12),
    errors=st.lists(
        st.tuples(_WORKSPACES, _IDS, st.sampled_from(["E1", "E2", "E3"]), st.sampled_from(["", "old"])), max_size=8
    ),
)
def test_a_batch_whose_own_rows_link_is_always_linkable(
    spans: list[tuple[str, SpanNode]], errors: list[tuple[str, bytes, str, str]]
) -> None:
    """Whatever the parentage (cycles, duplicates, self-parents, gaps), two workspaces reusing one trace id and a
    grouping upgrade (a previous fingerprint): a trace not named linkable is never queued by its commit alone, so
    `link` on the batch's rows of that workspace must find no cause in it."""
    records = [
        replace(_record(span_id, error, workspace=ws), previous_fingerprint=old) for ws, span_id, error, old in errors
    ]
    error_spans = [_error_span(s.span_id, s.parent_id, workspace=ws) for ws, s in spans]
    named = linkable_traces(records, error_spans)
    assert named <= {("a", TRACE), ("b", TRACE)}
    for workspace in ("a", "b"):
        links = link(
            [s for ws, s in spans if ws == workspace],
            [ErrorAt(span_id, f"{error} {old}") for ws, span_id, error, old in errors if ws == workspace],
        )
        if links.causes:
            assert (workspace, TRACE) in named
