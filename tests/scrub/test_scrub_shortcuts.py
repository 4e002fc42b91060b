"""The scrubber's shortcuts (gates, remembered keys/values/templates) give exactly what the full slow path gives.

The reference is a scrubber without any gate: every rule runs on every text, which also turns off every
shortcut of `Scrubber` that relies on gates; attributes are compared with the plain recursive walk.
"""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.scrub import Scrubber, ScrubConfig, _scrubber
from otel_errors.scrub._cards import CARD
from otel_errors.scrub._gates import GateSet, _anchor, fold


def ungated(config: ScrubConfig | None = None) -> Scrubber:
    s = Scrubber(config, memo_size=0)
    s._gates = GateSet([None] * len(s._rules))
    return s


S = Scrubber(ScrubConfig())
REF = ungated()
CARD_INDEX = S.rule_names.index("card")

_ALPHABET = string.ascii_letters + string.digits + " .:@-_=/'\"?&[]{}\n\t+%"
fragments = st.sampled_from(
    [
        "bob@example.com",
        "10.0.0.1",
        "fe80::1",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "378282246310005",
        "3782 822463 10005",
        "5555555555554444",
        "password=",
        "token: ",
        "Bearer ",
        "sk-",
        "AKIA",
        "::",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        "postgres://u:p@h/db",
        "[redacted]",
        "'api_key': '",
        "?access_token=",
        "call_",
        "req_",
        "0000",
        "1234",
        " ",
        "-",
        "\u00e9",
        "\n",
        "\x00",
        ": ",
        "DE89 3704 0044 0532 0130 00",
        "NL91ABNA0417164300",
        "123-45-6789",
        "+1 415 555 2671",
        "+14155552671",
        "AKIAIOSFODNN7EXAMPLE ",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret=",
    ]
)
digits = st.text(alphabet="0123456789 -", max_size=30)
mixed = st.lists(st.one_of(fragments, st.text(alphabet=_ALPHABET, max_size=30), digits), max_size=8).map("".join)


# -- the card gate ------------------------------------------------------------------------------------------------


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.one_of(digits, st.sampled_from(["a", "_", "\u00e9", "\u0663", " ", "-", "\n"])), max_size=6).map(
        "".join
    )
)
def test_card_gate_opens_whenever_the_card_regex_matches(text: str) -> None:
    if CARD.search(text):
        assert CARD_INDEX in S._gates.open(fold(text))


def test_card_gate_shapes() -> None:
    opens = [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "378282246310005",
        "3782 822463 10005",
        "3782-822463-10005",
        "4222222222222",
        "4111 1111 1111 1111 123",
        "x\u00e94111111111111111\u00e9x",
        "at 1718000000006 ms",
    ]
    for text in opens:
        assert CARD_INDEX in S._gates.open(fold(text)), text
    # 8-digit counts and 12-hex-digit ids cannot be cards: the gate stays shut.
    for text in ["Limit 30000000, Used 29998000", "req_123456789012", "org-b68e4bd76f49", "1234-5678 9012"]:
        assert CARD_INDEX not in S._gates.open(fold(text)), text


@settings(max_examples=1500, deadline=None)
@given(mixed)
def test_text_matches_the_ungated_scrub(text: str) -> None:
    assert S.text(text) == REF.text(text)


def test_cards_next_to_ids_are_scrubbed() -> None:
    for text in [
        "call_123456789012 4111 1111 1111 1111",
        "4111111111111111\nreq_b68e4bd76f41",
        "Limit 30000000 card 5555-5555-5555-4444",
    ]:
        assert S.text(text) == REF.text(text)
        assert "[card]" in S.text(text)


# -- the short-text search of all gates at once -------------------------------------------------------------

CUSTOM = Scrubber(ScrubConfig(sensitive_keys=("pin", "x-tenant-key", "ssn", "a")))


@settings(max_examples=1500, deadline=None)
@given(mixed)
def test_one_search_finds_what_the_group_searches_find(text: str) -> None:
    for s in (S, CUSTOM):
        folded = fold(text)[:200]
        assert (s._gates._any(folded) is None) == all(search(folded) is None for search in s._gates._searches)


def test_short_and_long_texts_open_the_same_gates() -> None:
    for s in (S, CUSTOM):
        for text in [
            "x",
            "sk-proj-" + "a" * 30,
            "pin=1",
            "ssn: 1",
            "a@b.io",
            "4111 1111 1111 1111",
            "fe80::1",
            "1.2.3.4",
            "eyJa.eyJb",
            "Bearer abc",
            "AKIA",
            "-----BEGIN RSA PRIVATE KEY",
            "xoxb-1",
        ]:
            for padded in [text, "z" * 200 + " " + text]:
                got = s._gates.open(fold(padded))
                every = frozenset(
                    i for i, rule in enumerate(s._rules) if any(re.search(b, fold(padded)) for b in rule.gate or ())
                )
                assert got == every, padded


def test_anchor_must_be_a_required_literal() -> None:
    assert _anchor(rb"\.0") == ord(".") and _anchor(b"akia") == ord("a")
    for branch in [b"a?b", b"a*", b"a+b", b"a{0,2}b", b"a|b", b"[ab]c", b"(?:a)", rb"\dx", b""]:
        with pytest.raises(ValueError):
            _anchor(branch)


# -- attributes ---------------------------------------------------------------------------------------------------

keys = st.sampled_from(
    [
        "gen_ai.tool.name",
        "url.full",
        "db.query.text",
        "password",
        "session.id",
        "user.id",
        "gen_ai.usage.input_tokens",
        "X-Api-Key",
        "note",
        "allowed.token",
        "a",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    mixed,
    st.sampled_from(["crm", "gpt-4o", "10.0.3.17", "[redacted]", "x" * 600, "y" * 9000]),
)
values = st.one_of(
    scalars, st.binary(max_size=20), st.lists(scalars, max_size=3), st.dictionaries(keys, scalars, max_size=3)
)


def _check_attributes(s: Scrubber, ref: Scrubber, attrs: dict[Any, Any]) -> None:
    expected = ref._walker.mapping(attrs)
    for _ in range(2):  # the second call reads what the first remembered
        got = s.attributes(attrs)
        assert got == expected
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
        assert list(got) == list(expected)


@settings(max_examples=800, deadline=None)
@given(st.dictionaries(keys, scalars, max_size=8))
def test_scalar_attributes_match_the_walk(attrs: dict[str, Any]) -> None:
    _check_attributes(S, REF, attrs)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_any_attributes_match_the_walk(attrs: dict[str, Any]) -> None:
    _check_attributes(S, REF, attrs)


def test_attributes_with_other_configs_match_the_walk() -> None:
    attrs = {
        "note": "id 7 bob@example.com",
        "tool": "crm",
        "allowed.secret": "pw=1",
        "count": 3,
        "ip": "10.0.0.1",
        "long": "z" * 100 + " 4111 1111 1111 1111",
        "token": None,
        "password": True,
        "t": "crm",
    }
    for config in [
        ScrubConfig(extra_patterns=(("ticket", r"TCK-\d+"),)),
        ScrubConfig(max_value_length=16),
        ScrubConfig(allow_keys=("allowed.secret", "token")),
        ScrubConfig(scrub_ips=False),
        ScrubConfig(sensitive_keys=("note",)),
    ]:
        s = Scrubber(config)
        _check_attributes(s, ungated(config), attrs)
        _check_attributes(s, ungated(config), {**attrs, "extra": "TCK-12 crm"})


def test_attribute_values_that_must_not_pass() -> None:
    """Values mixing ids with PII, NUL, non-ASCII or great length, alone or next to clean remembered values."""
    dirty = [
        "call_123456789012 4111 1111 1111 1111",
        "req_b68e4bd76f41 bob@example.com",
        "a\x00bob@example.com",
        "\u00e9bob@example.com\u00e9",
        "token=abc123 req_123456789012",
        "Limit 30000000 5555555555554444",
        "x" * 10_000 + " bob@example.com",
        "q" * 600 + " sk-proj-AbCdEf0123456789GhIjKlMnOp",
    ]
    s = Scrubber()
    s.attributes({"a": "crm", "b": "gpt-4o"})  # remembered as clean
    for value in dirty:
        for attrs in [{"a": "crm", "v": value}, {"v": value}, {"v": value, "b": "gpt-4o", "c": "req_1"}]:
            _check_attributes(s, REF, attrs)
            assert s.attributes(attrs)["v"] != value


def test_attribute_keys_and_values_of_odd_types() -> None:
    class Str(str):
        pass

    s = Scrubber()
    s.attributes({"k": "bob@example.com", "password": "x"})
    for attrs in [
        {Str("k"): "bob@example.com"},
        {"k": Str("bob@example.com")},
        {1: "bob@example.com"},
        {"password": 1, "k": True},
        {"password": None},
        {"k": 1.5, "n": None},
        {"k": object()},
    ]:
        assert s.attributes(attrs) == s._walker.mapping(attrs)


def test_attribute_memory_is_bounded() -> None:
    s = Scrubber()
    for i in range(3 * _scrubber._VALUES):
        s.attributes(
            {
                f"key.{i % (2 * _scrubber._KEYS)}": f"value {i}",
                "long": "v" * (_scrubber._VALUE_MAX_CHARS + 1),
                "k" * (_scrubber._KEY_MAX_CHARS + 1): "x",
            }
        )
    assert len(s._values) <= _scrubber._VALUES and len(s._key_actions) <= _scrubber._KEYS
    assert all(len(v) <= _scrubber._VALUE_MAX_CHARS for v in s._values)
    assert all(len(k) <= _scrubber._KEY_MAX_CHARS for k in s._key_actions)


def test_a_failing_rule_is_not_remembered(monkeypatch: Any) -> None:
    s = Scrubber()
    calls = []

    def boom(text: str) -> str:
        calls.append(text)
        raise RuntimeError("bug")

    monkeypatch.setattr(s, "_memo", boom)
    value = "bob@example.com"
    # Keys are scrubbed as text too: the failing rule takes the key's name with it.
    assert s.attributes({"k": value}) == {"[redacted]": "[redacted]"}
    assert calls and value not in s._values and "k" not in s._key_actions


# -- exception(message, stacktrace) -------------------------------------------------------------------------------

PY_TRACE = (
    'Traceback (most recent call last):\n  File "/srv/app/tools.py", line 113, in run_step\n'
    '    return handler(request)\n  File "/srv/app/crm.py", line 7, in handler\n'
    "    raise PermissionError(msg)\nPermissionError: {m}\n"
)
JAVA_TRACE = (
    "java.lang.IllegalStateException: {m}\n\tat com.shop.Orders.close(Orders.java:88)\n"
    "\tat com.shop.Api.run(Api.java:12)"
)
# Frame positions (`:12:34`) open the ipv6 gate and the URL the url_password one, with nothing to scrub.
JS_TRACE = (
    "Error: {m}\n    at fetchJson (/app/dist/http.js:12:34)\n    at runStep (file:///app/dist/agent.js:88:5)"
    "\n    at async main (https://cdn.example.com/x.js:1:2)"
)


def _check_exception(s: Scrubber, message: str, stacktrace: str) -> None:
    expected = (REF.text(message), REF.text(stacktrace))
    assert s.exception(message, stacktrace) == expected
    assert s.exception(message, stacktrace) == expected  # remembered template


def test_header_cut_at_finds_a_header_position() -> None:
    from otel_errors.stacktext import header_cut_at, header_message_at

    m = "user usr_b68e4bd76f41 may not read"
    cases = [
        PY_TRACE.format(m=m),
        PY_TRACE.format(m=m).rstrip("\n"),
        PY_TRACE.format(m=m).replace("\n", "\r\n"),
        JAVA_TRACE.format(m=m),
        f"Error: {m}",
        f"Error: {m}\n\nDuring handling:\nValueError: {m}\n",
        f"Error: {m} and more\nX: {m}",
        f"{m}\nX: {m}x",
        f"X:{m}",
        m,
        f": {m}",
        f"a: b\nX: {m}\nY: c",
    ]
    for trace in cases:
        at = header_cut_at(m, trace)
        if at >= 0:
            assert trace[at - 2 : at] == ": " and trace.startswith(m, at)
            assert trace[at + len(m) : at + len(m) + 1] in ("", "\n", "\r")
        if header_message_at(m, trace) >= 0:
            assert at == header_message_at(m, trace)
    assert header_cut_at(m, f"X:{m}") == -1 and header_cut_at(m, m) == -1


def test_exceptions_that_must_not_pass() -> None:
    s = Scrubber()
    clean_id = "order ord_123456789012 is already closed"
    messages = [
        clean_id,
        "user bob@example.com may not read",
        "card 4111 1111 1111 1111 (req_123456789012)",
        "Limit 30000000, Used 29998000",
        "token=abc123 in request",
        "a\x00b",
        "\u00e9 4111111111111111",
        "multi\nline bob@example.com",
        "x" * 3000,
        "y" * 3000 + " sk-proj-AbCdEf0123456789GhIjKlMnOp",
    ]
    messages += [
        "upstream fe80::1:2 refused",
        "GET https://u:hunter2@api.example.com/v1 failed",
        "from 10.0.3.17",
        "at x.js:12:34 (req_123456789012)",
    ]
    for trace in (
        PY_TRACE,
        JAVA_TRACE,
        JS_TRACE,
        PY_TRACE + "\nbob@example.com",
        PY_TRACE.replace("raise", "pw=hunter2 raise"),
        JS_TRACE + "\n    at proxy (https://admin:s3cret@10.0.0.1:8443/a.js:1:1)",
        JS_TRACE.replace("/app/dist/http.js", "fe80::2:3"),
        "Error: {m}\n    at 2001:db8::7:1",
    ):
        for message in messages:
            _check_exception(s, message, trace.format(m=message))
            _check_exception(s, message, trace.format(m=message) + f"\nAgain: {message}")
            _check_exception(s, message, trace.format(m=message + " extra"))
        # A clean message next to a dirty template, and the other way round, after both were remembered.
        _check_exception(s, clean_id, trace.format(m=clean_id))
        _check_exception(s, "bob@example.com", trace.format(m="bob@example.com"))
    long_trace = PY_TRACE.format(m=clean_id) + "z" * 9000
    _check_exception(s, clean_id, long_trace)


@settings(max_examples=600, deadline=None)
@given(mixed, mixed, mixed, st.sampled_from(["", "\n", "\r\n", "\r"]))
def test_exception_matches_the_ungated_scrub(message: str, head: str, tail: str, end: str) -> None:
    for trace in (
        f"{head}: {message}{end}",
        f"{head}: {message}\n{tail}",
        f"{head}{message}{tail}",
        f"{head}: {message}\n    at f (/a.js:1:2) {tail}",
    ):
        _check_exception(S, message, trace)
