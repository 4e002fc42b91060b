"""The stack-template memo's shortcuts equal what they replace: `_plain_breaks` the original plainness check and
line-break count, the shape index the lookup by the template text, and compute_grouping with warm memos the
result computed from scratch (`clear_memo`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.grouping import ExceptionInput, GroupingConfig, _compute, _stack, compute_grouping

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from ingest import make_bugs

_LINE_BREAK = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _plain_reference(message: str) -> bool:
    """The plainness check as it was written before `_plain_breaks` (the specification)."""
    if len(message) > 4096 or any(token in message for token in _stack._NOT_PLAIN_ANYWHERE):
        return False
    lines = message.splitlines()
    if not lines or not lines[0].strip() or lines[0][:1].isspace():
        return False
    for line in lines:
        if line != line.rstrip():
            return False
        stripped = line.strip()
        bare = stripped.lstrip("|+-").strip()
        if (
            stripped.startswith(_stack._NOT_PLAIN_START)
            or bare.startswith(_stack._NOT_PLAIN_START)
            or bare.endswith(_stack._NOT_PLAIN_END)
        ):
            return False
    return True


def _expected_breaks(message: str) -> int:
    return len(_LINE_BREAK.findall(message)) if _plain_reference(message) else -1


_PIECES = [
    *"abcXYZ019 _-.:'\"()[]{}@/\\|+#\t",
    "\n",
    "\r",
    "\r\n",
    "\v",
    "\f",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    "\x00",
    "é",
    "日本",
    "\u00a0",
    "\u3000",
    "at ",
    "File ",
    "...",
    "Caused by:",
    "[cause]:",
    "Traceback",
    "+-",
    "| ",
    "goroutine ",
    "://",
    ".rb:",
    " {",
    "e22b4ed990ad",
    "(?:.*)",
    "$^\\d+",
]
messages = st.lists(st.sampled_from(_PIECES), max_size=20).map("".join)


@settings(max_examples=1000, deadline=None)
@given(messages)
def test_property_plain_breaks_equals_reference(message: str) -> None:
    assert _stack._plain_breaks(message) == _expected_breaks(message)
    assert (_stack._plain_breaks(message) >= 0) == _plain_reference(message)


@pytest.mark.parametrize(
    "message",
    [
        "",
        "x",
        "x\n",
        "x\r\n",
        "x\n\n",
        "a\r\nb\rc\nd",
        "a\u2028b",
        "a\x85",
        " x",
        "x ",
        "x\n y",
        "x\n\ty",
        "-x",
        "--x",
        "+x",
        "+-x",
        "|x",
        "| x",
        "-- at x",
        "- File x",
        "+ ...",
        "x {",
        "- x {",
        "\u00a0x",
        "x\u3000",
        "a" * 4096,
        "a" * 4097,
        "é\n日本",
        "\n",
        "\nx",
    ],
)
def test_plain_breaks_edge_cases(message: str) -> None:
    assert _stack._plain_breaks(message) == _expected_breaks(message)


def _fresh_stack(
    text: str, message: str, include: tuple[str, ...] = (), exclude: tuple[str, ...] = (), max_frames: int = 1
) -> _stack.StackAnalysis:
    return _stack._select(_stack.parse_stacktrace(text), include, exclude, max_frames)


_MESSAGES = [
    "order ord_0123abcd9999 is already closed",
    "order ord_ffff00001111 is already closed",
    "line one\nDETAIL:  Key (id)=(ord_1) already exists.",
    "line one\nDETAIL:  Key (id)=(ord_2) already exists.",
    "regex (.*)+[a-z]$ \\d failed",
    "non-ASCII é 日本 ünïcode",
    "non-ASCII é 日本 ünïcöde",
    "x",
    "y",
    "at",
    "File",
    "ord_0123abcd9999",
    "is already closed",
]


@pytest.mark.parametrize("bug", [0, 5, 8, 13, 35, 40, 45, 47])
def test_template_memo_is_exact_through_the_index(bug: int) -> None:
    b = make_bugs()[bug]
    _stack.clear_memo()
    for _rounds in range(2):  # the first fills the memo and its index, the second reads the index
        for version in range(3):
            for message in _MESSAGES:
                text = b.stack(version, message)
                assert _stack.analyze_stack_for(text, message, (), (), 1) == _fresh_stack(text, message), message
                for include, exclude, frames in ((("/srv/agent",), (), 2), ((), ("com.acme",), 3)):
                    assert _stack.analyze_stack_for(text, message, include, exclude, frames) == _fresh_stack(
                        text, message, include, exclude, frames
                    ), (message, include, exclude)


def test_message_twice_in_the_trace_is_parsed() -> None:
    """A message that occurs twice (or also inside the frames) takes no template, whatever the memo holds."""
    b = make_bugs()[0]
    _stack.clear_memo()
    once = b.stack(0, "boom 1")
    _stack.analyze_stack_for(once, "boom 1", (), (), 1)
    _stack.analyze_stack_for(once, "boom 1", (), (), 1)
    assert _stack._SHAPES
    for message in ("boom 1", "srv", "File", "line"):
        text = b.stack(0, message) + "note: " + message + "\n"
        assert _stack.analyze_stack_parts(text, message, (), (), 1)[1] is None
        assert _stack.analyze_stack_for(text, message, (), (), 1) == _fresh_stack(text, message)


def test_same_shape_other_template_is_not_taken() -> None:
    """Two traces of equal lengths around the message that differ in one character: one index shape, two
    templates, each exact."""
    b = make_bugs()[0]
    _stack.clear_memo()
    text = b.stack(0, "boom 1")
    at = text.find("boom 1")
    other = text[: at - 10] + ("X" if text[at - 10] != "X" else "Y") + text[at - 9 :]
    assert len(other) == len(text)
    for _ in range(2):
        for t in (text, other, text.replace("boom 1", "boom 2"), other.replace("boom 1", "boom 2")):
            message = "boom 2" if "boom 2" in t else "boom 1"
            assert _stack.analyze_stack_for(t, message, (), (), 1) == _fresh_stack(t, message)
    assert max(len(v) for v in _stack._SHAPES.values()) == 2


def test_index_is_bounded_and_follows_evictions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stack, "MEMO_SIZE", 8)
    _stack.clear_memo()
    bugs = make_bugs()
    for i in range(30):
        b = bugs[i % len(bugs)]
        message = f"boom {i}"
        text = b.stack(i % 3, message)
        assert _stack.analyze_stack_for(text, message, (), (), 1) == _fresh_stack(text, message)
        assert len(_stack._TEMPLATES) <= 8 and len(_stack._SHAPES) <= 8
        indexed = [item[0] for items in _stack._SHAPES.values() for item in items]
        # Every indexed key is a live memo key, holding the memo's own texts (no copy of a 2 KB text).
        live = {key: key for key in _stack._TEMPLATES}
        assert all(k in live and k[0] is live[k][0] and k[1] is live[k][1] for k in indexed)
        assert all(len(items) <= _stack._PER_SHAPE for items in _stack._SHAPES.values())


def _fresh(exc: ExceptionInput, config: GroupingConfig) -> object:
    _compute.clear_memo()
    _stack.clear_memo()
    return compute_grouping(exc, config)


_CONFIGS = [
    GroupingConfig(),
    GroupingConfig(config_id="v0"),
    GroupingConfig(in_app_include=("/usr/local/lib",), max_frames=2),
    GroupingConfig(in_app_exclude=("/srv/agent/app/runtime",), max_frames=3),
]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 49), st.integers(0, 2), st.lists(messages, min_size=1, max_size=4), st.sampled_from(_CONFIGS))
def test_property_warm_grouping_equals_fresh(bug: int, version: int, texts: list[str], config: GroupingConfig) -> None:
    b = make_bugs()[bug]
    exceptions = [ExceptionInput(b.exc_type, m, b.stack(version, m)) for m in texts]
    # A message that also sits in the frames: occurs twice.
    exceptions += [ExceptionInput(b.exc_type, m, b.stack(version, m) + m + "\n") for m in texts if m]
    fresh = [_fresh(exc, config) for exc in exceptions]
    for _ in range(2):
        assert [compute_grouping(exc, config) for exc in exceptions] == fresh
