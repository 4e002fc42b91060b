"""Prefixed ids in messages, and the message-free memos of grouping and scrubbing (exact, not heuristic)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.grouping import ExceptionInput, _stack, compute_grouping, parametrize_message
from otel_errors.scrub import Scrubber, ScrubConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from ingest import make_bugs

# -- prefixed ids (the grouping-quality bug: `\b` does not fire after `_`) -------------------------------------


@pytest.mark.parametrize(
    "message,expected",
    [
        ("invalid tool arguments for call call_e22b4ed990ad", "invalid tool arguments for call call_<id>"),
        ("user usr_8f3a00c1 may not read workspace documents", "user usr_<id> may not read workspace documents"),
        ("upstream request req-1234abcd failed", "upstream request req-<id> failed"),
        ("key sk_live_51Hxyz0Ab9 rejected", "key sk_live_<id> rejected"),
        ("organization org-e22b4ed990ad on tokens per min", "organization org-<id> on tokens per min"),
        ("order ord_00042 is already closed", "order ord_<id> is already closed"),
        ("tool call call_abc123_retry failed", "tool call call_<id>_retry failed"),
        ("request req_550e8400-e29b-41d4-a716-446655440000", "request req_<id>"),
        ("completion chatcmpl-9xYzAbC1 timed out", "completion chatcmpl-<id> timed out"),
    ],
)
def test_prefixed_ids_become_id(message: str, expected: str) -> None:
    assert parametrize_message(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "x86_64 utf-8 gpt-4o products-v3 customer_id",  # short or digit-free: words, kept
        "hello world",  # nothing to replace: returned as it is (pre-check)
        "deadbeefdeadbeef",  # hex run without a digit: as before
    ],
)
def test_words_with_separators_are_kept(message: str) -> None:
    assert parametrize_message(message) == parametrize_message(message, 512)
    assert "<id>" not in parametrize_message(message)


_HEX = "0123456789abcdef"
prefix = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
sep = st.sampled_from(["_", "-"])
# A generated id: hex or digits, 4-32 characters, at least one digit (what id generators print).
ident = st.text(alphabet=_HEX, min_size=4, max_size=32).filter(lambda t: any(c.isdigit() for c in t))


@settings(max_examples=200, deadline=None)
@given(prefix, sep, ident, ident, st.sampled_from(["ValueError", "Error", "KeyError"]))
def test_property_prefixed_ids_group_together(p: str, s: str, a: str, b: str, exc_type: str) -> None:
    def fingerprint(token: str) -> str:
        message = f"invalid tool arguments for call {p}{s}{token}"
        return compute_grouping(ExceptionInput(exc_type, message, "")).fingerprint

    assert parametrize_message(f"call {p}{s}{a} failed") == parametrize_message(f"call {p}{s}{b} failed")
    assert fingerprint(a) == fingerprint(b)


def test_benchmark_bugs_make_one_group_each() -> None:
    """The ingest benchmark's 50 bugs x 3 releases x fresh ids: one group per bug (it made 699 before)."""
    groups: dict[int, set[str]] = {}
    for i, bug in enumerate(make_bugs()):
        for version in range(3):
            for n in range(4):
                token = f"{(i * 7919 + n * 104729 + version) * 2654435761 % 16**12:012x}"
                message = bug.message.format(tok=token, n=n + 1)
                res = compute_grouping(ExceptionInput(bug.exc_type, message, bug.stack(version, message)))
                groups.setdefault(i, set()).add(res.fingerprint)
    assert all(len(fps) == 1 for fps in groups.values()), {i: len(f) for i, f in groups.items() if len(f) > 1}


# -- the message-free stack memo gives exactly what parsing the text gives ---------------------------------------


def _direct(stacktrace: str) -> _stack.StackAnalysis:
    return _stack._select(_stack.parse_stacktrace(stacktrace), (), (), 1)


_FILLERS = [
    "plain words 42",
    "",
    "line one\nDETAIL:  Key (id)=(ord_1) already exists.",
    "  leading",
    "trailing  ",
    "at com.acme.Fake.run(Fake.java:1)",
    'File "/x.py", line 3, in f',
    "    at fn (/a.js:1:2)",
    "mail a@b.io",
    "Caused by: java.lang.X: y",
    'x\n  File "/y.py", line 9, in g',
    "ends with {",
    "#0 0x1 in main",
    "multi\nline\nmessage\nwith\nfive",
    "'customer_id'",
    "Error: nested: colons",
    "https://x.io/a",
]


@pytest.mark.parametrize("bug", range(0, 50, 3))
def test_stack_memo_is_exact_on_benchmark_stacks(bug: int) -> None:
    b = make_bugs()[bug]
    _stack.clear_memo()
    for message in [b.message.format(tok="e22b4ed990ad", n=5), *_FILLERS]:
        text = b.stack(1, message)
        assert _stack.analyze_stack_for(text, message, (), (), 1) == _direct(text), message
    for message in [b.message.format(tok="0123abcd9999", n=6), *reversed(_FILLERS)]:  # now from the memo
        text = b.stack(1, message)
        assert _stack.analyze_stack_for(text, message, (), (), 1) == _direct(text), message


_PIECES = [*"abcXYZ019 _-.:'\"()[]{}@/\\\n\t|#<>$", "at ", "File ", "...", "Caused by: ", "\r\n", "e22b4ed990ad"]
message_text = st.lists(st.sampled_from(_PIECES), max_size=24).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 49), message_text, message_text)
def test_property_stack_memo_equals_parsing(bug: int, first: str, second: str) -> None:
    b = make_bugs()[bug]
    for message in (first, second):  # the first fills the memo, the second reads it
        text = b.stack(0, message)
        assert _stack.analyze_stack_for(text, message, (), (), 1) == _direct(text)


# -- the scrubber's exception shortcut equals scrubbing both texts -------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 49),
    message_text,
    st.sampled_from(["", " token=abc", " bob@x.io", " 4111 1111 1111 1111", " 10.1.2.3", " Bearer abcdefgh123"]),
)
def test_property_scrub_exception_equals_text(bug: int, message: str, secret: str) -> None:
    scrubber = Scrubber(ScrubConfig())
    b = make_bugs()[bug]
    for m in (message, message + secret):
        text = b.stack(2, m)
        assert scrubber.exception(m, text) == (scrubber.text(m), scrubber.text(text))


# -- the word-start guard and the presence pruning of the message patterns (speed-ups that must change no match) --


def _unguarded(text: str) -> str:
    import re

    from otel_errors.grouping._message import MESSAGE_PATTERNS, _placeholder

    plain = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in MESSAGE_PATTERNS))
    return plain.sub(_placeholder, text)


def _fast(text: str) -> tuple[str, str]:
    """What the guarded alternation, and the one `_parametrize` picks by what the text contains, make of it."""
    from otel_errors.grouping._message import _BY_PRESENCE, _COMBINED, _placeholder

    picked = _BY_PRESENCE[("://" in text, "@" in text, "/" in text or "\\" in text)]
    return _COMBINED.sub(_placeholder, text), picked.sub(_placeholder, text)


# Letters, digits and every character a pattern starts or ends on, plus non-ASCII word characters (`é`, `٣`, a
# digit that `\d` and `\w` take but the guard's [A-Za-z0-9] does not); and fragments that each pattern matches.
_MESSAGE_ALPHABET = "aBcdefxXzT09 _-.+@/\\:'\"`#=,()[]\nµé٣"
_FRAGMENTS = [
    "https://api.example.com/v1/x?y=1",
    "a.b+c@mail.example.org",
    "/usr/lib/python3.11/x.py",
    "C:\\Users\\x\\y.txt",
    "2024-01-02T03:04:05.123Z",
    "10.0.0.1:8080",
    "fe80:0:0:0:0:0:0:1",
    "call_e22b4ed990ad",
    "550e8400-e29b-41d4-a716-446655440000",
    "0xdeadBEEF",
    "deadbeef01",
    "30s",
    "1.5 ms",
    "'quoted text'",
    '"double"',
    "`tick`",
    "-42",
    "3.14e-5",
    "#12",
    "id=7",
    "://",
    "@",
]
_messages = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(alphabet=_MESSAGE_ALPHABET, max_size=4)), max_size=12
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(alphabet=_MESSAGE_ALPHABET, max_size=80), _messages))
def test_property_guard_and_pruning_change_no_match(text: str) -> None:
    expected = _unguarded(text)
    assert _fast(text) == (expected, expected)


def test_guard_and_pruning_change_no_match_on_benchmark_and_fixture_texts() -> None:
    import json

    texts = [bug.message.replace("{tok}", "e22b4ed990ad").replace("{n}", "17") for bug in make_bugs()]
    fixtures = Path(__file__).resolve().parent / "fixtures"
    for path in sorted((fixtures / "labeled").glob("*.jsonl")):
        texts += [json.loads(line)["stacktrace"][:4000] for line in path.read_text().splitlines()]
    texts += [path.read_text(errors="replace")[:4000] for path in sorted(fixtures.glob("*/*.t*"))]
    assert len(texts) > 60
    for text in texts:
        expected = _unguarded(text)
        assert _fast(text) == (expected, expected), text[:200]
