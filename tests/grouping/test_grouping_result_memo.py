"""The grouping result memo (`_compute._RESULTS`) and the scrubber's local-rule shortcuts are exact: what they
return equals what computing from scratch returns."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.grouping import ExceptionInput, GroupingConfig, _compute, _stack, compute_grouping
from otel_errors.scrub import Scrubber, ScrubConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from ingest import make_bugs

_PIECES = [
    *"abcXYZ019 _-.:'\"()[]{}@/\n",
    "e22b4ed990ad",
    "30000000",
    "4111 1111 1111 1111",
    "1234-5678-9012",
    "call_0123456789ab",
    "token=abc",
]
texts = st.lists(st.sampled_from(_PIECES), max_size=16).map("".join)
# Values `_failure_kind` prints: equal as dict keys (1 == 1.0 == True) but not as text.
kinds = st.sampled_from([None, "", "RateLimit", 1, 1.0, True, 503, "503", 503.0, -0.0, 0.0, [1, 2]])
configs = st.sampled_from(
    [GroupingConfig(), GroupingConfig(config_id="v0"), GroupingConfig(in_app_include=("/usr/local/lib",), max_frames=2)]
)


def _fresh(exc: ExceptionInput, config: GroupingConfig) -> Any:
    _compute.clear_memo()
    _stack.clear_memo()
    return compute_grouping(exc, config)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 49),
    st.lists(st.tuples(texts, kinds, kinds), min_size=1, max_size=4),
    configs,
    st.sampled_from(["", "Error", "APIError"]),
)
def test_property_grouping_memo_equals_computing(
    bug: int, cases: list[tuple[str, Any, Any]], config: GroupingConfig, generic: str
) -> None:
    b = make_bugs()[bug]
    # A generic type (the shared call site rule) makes the fingerprint read error.type and the status code.
    exceptions = [
        ExceptionInput(
            generic or b.exc_type,
            message,
            b.stack(1, message),
            {"error.type": error_type, "http.response.status_code": status},
        )
        for message, error_type, status in cases
    ]
    fresh = [_fresh(exc, config) for exc in exceptions]
    for _ in range(2):  # the first round fills the memos, the second reads them
        assert [compute_grouping(exc, config) for exc in exceptions] == fresh


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 49), texts)
def test_property_scrub_exception_with_digit_runs_equals_text(bug: int, message: str) -> None:
    scrubber = Scrubber(ScrubConfig())
    text = make_bugs()[bug].stack(0, message)
    assert scrubber.exception(message, text) == (scrubber.text(message), scrubber.text(text))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b.id", "count", "x.y"]), st.one_of(texts, st.integers())))
def test_property_clean_attributes_shortcut_equals_the_walk(attributes: dict[str, Any]) -> None:
    scrubber = Scrubber(ScrubConfig())
    assert scrubber.attributes(attributes) == scrubber._walker.mapping(attributes)


def test_attribute_values_equal_as_keys_but_not_as_text_do_not_share_a_memo_entry() -> None:
    b = make_bugs()[0]
    text = b.stack(0, "boom")
    for values in ([1, 1.0, True], [503, 503.0, "503"], [0.0, -0.0]):
        for key in ("error.type", "http.response.status_code"):
            exceptions = [ExceptionInput("Error", "boom", text, {key: v}) for v in values]
            fresh = [_fresh(exc, GroupingConfig()) for exc in exceptions]
            assert [compute_grouping(exc) for exc in exceptions] == fresh
