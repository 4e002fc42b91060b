"""Attribute keys are scrubbed like text; the scrubber's own caps bound what its rules read; extra patterns run on
RE2 within their documented bounds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.scrub import Scrubber, ScrubConfig
from otel_errors.scrub._attributes import ATTRIBUTE_MAX_CHARS, CUT_MARGIN, TRUNCATED
from otel_errors.scrub._extras import MAX_MATCH, MAX_MATCHES, WINDOW, ExtraPattern
from otel_errors.scrub._scrubber import TEXT_MAX_CHARS

S = Scrubber()

# -- keys -----------------------------------------------------------------------------------------------------------


def test_keys_carrying_pii_become_their_label() -> None:
    out = S.attributes(
        {
            "bob@example.com": "opened",
            "4111111111111111": 3,
            "user.id": "u1",
            "10.0.0.7": True,
            "nested": {"carol@example.com": {"+14155552671": "x"}},
        }
    )
    assert out == {
        "[email]": "opened",
        "[card]": 3,
        "user.id": "u1",
        "[ip]": True,
        "nested": {"[email]": {"[phone]": "x"}},
    }


def test_keys_that_scrub_alike_are_numbered_not_merged() -> None:
    attrs = {"a@example.com": 1, "b@example.com": 2, "[email]": 3, "c@example.com": 4}
    assert S.attributes(attrs) == {"[email]": 1, "[email]#2": 2, "[email]#3": 3, "[email]#4": 4}
    # The remembered fast path and the walk agree, the second time too.
    assert S.attributes(attrs) == S._walker.mapping(attrs)


def test_keys_under_a_sensitive_key_are_scrubbed_too() -> None:
    out = S.attributes({"password": {"bob@example.com": "x", "n": [1, {"10.0.0.1": 2}]}})
    assert out == {"password": {"[email]": "[redacted]", "n": ["[redacted]", {"[ip]": "[redacted]"}]}}


def test_allowed_keys_are_kept_as_they_are() -> None:
    s = Scrubber(ScrubConfig(allow_keys=("client.10.0.0.1",)))
    assert s.attributes({"client.10.0.0.1": "10.0.0.2"}) == {"client.10.0.0.1": "10.0.0.2"}


def test_a_key_the_walk_could_not_scrub_is_not_remembered(monkeypatch: Any) -> None:
    s = Scrubber()
    real = s._memo
    monkeypatch.setattr(s, "_memo", lambda text: (_ for _ in ()).throw(RuntimeError("bug")))
    assert s.attributes({"note": 1}) == {"[redacted]": 1}
    monkeypatch.setattr(s, "_memo", real)
    assert s.attributes({"note": 1}) == {"note": 1}


key_text = st.sampled_from(
    ["bob@example.com", "10.0.0.1", "[email]", "user.id", "x", "4111 1111 1111 1111", "+14155552671"]
)
keys = st.lists(key_text, max_size=4).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, st.one_of(st.integers(), keys, st.none()), max_size=6))
def test_scrubbing_attributes_twice_changes_nothing(attrs: dict[str, Any]) -> None:
    s = Scrubber()
    once = s.attributes(attrs)
    assert s.attributes(once) == once
    assert once == s._walker.mapping(attrs)
    assert len(once) == len(attrs)  # no key lost to another


# -- caps -----------------------------------------------------------------------------------------------------------


def test_text_over_the_cap_is_cut_and_marked() -> None:
    text = "x " * TEXT_MAX_CHARS + "bob@example.com"
    out = S.text(text)
    assert len(out) <= TEXT_MAX_CHARS and out.endswith(TRUNCATED)
    assert S.text(out) == out


def test_secret_across_the_cut_is_still_scrubbed() -> None:
    prefix = "y" * (TEXT_MAX_CHARS - 300 - 3)
    out = S.text(prefix + " token=" + "s3cret" * 100 + " " + "z" * CUT_MARGIN * 2)
    assert "s3cret" not in out and out.endswith(TRUNCATED)
    assert S.text(out) == out


def test_a_cut_that_would_complete_a_match_is_scrubbed_again() -> None:
    # The kept part ends in `token=`: with the marker it would read as a pair; the result is a fixed point.
    head = "q" * (TEXT_MAX_CHARS - 256 - len(" token="))
    out = S.text(head + " token=" + " " * (2 * CUT_MARGIN))
    assert S.text(out) == out


def test_attribute_values_over_the_cap_are_cut() -> None:
    value = "v" * (ATTRIBUTE_MAX_CHARS + 10) + " bob@example.com"
    assert S.attributes({"note": value}) == {"note": "v" * ATTRIBUTE_MAX_CHARS + TRUNCATED}
    # `max_value_length` above the cap does not lift it.
    big = Scrubber(ScrubConfig(max_value_length=10 * ATTRIBUTE_MAX_CHARS))
    assert big.attributes({"note": value}) == {"note": "v" * ATTRIBUTE_MAX_CHARS + TRUNCATED}


def test_keys_over_the_cap_are_cut() -> None:
    key = "k" * (ATTRIBUTE_MAX_CHARS + 1)
    assert S.attributes({key: 1}) == {"k" * ATTRIBUTE_MAX_CHARS + TRUNCATED: 1}


# -- extra patterns on RE2 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        (r"(a)\1", "backreference"),
        (r"(?=a)b", "look-ahead"),
        (r"(?<=a)b", "look-behind"),
        (r"a++", "possessive"),
        (r"(?>a)", "atomic group"),
        ("(", "unbalanced"),
        ("a{2000}", "repetition over RE2's limit"),
    ],
)
def test_extra_patterns_re2_cannot_run_are_rejected(regex: str, reason: str) -> None:
    with pytest.raises(ValueError, match="not a valid regex for RE2"):
        ScrubConfig(extra_patterns=(("x", regex),))


def test_extra_pattern_replaces_every_match_and_keeps_other_text() -> None:
    s = Scrubber(ScrubConfig(extra_patterns=(("ticket", r"TCK-\d+"),)))
    assert s.text("é TCK-1 \ud800 TCK-22 bob@example.com") == "é [ticket] \ud800 [ticket] [email]"


def test_extra_pattern_matches_are_found_across_windows() -> None:
    pattern = ExtraPattern(r"TCK-\d+")
    for offset in range(WINDOW - 12, WINDOW + 4):
        text = "." * offset + "TCK-123456" + "." * 10
        assert pattern.sub("[t]", text) == "." * offset + "[t]" + "." * 10, offset


def test_extra_pattern_match_length_is_bounded() -> None:
    pattern = ExtraPattern(r"<[^>]*>")
    short = "<" + "a" * (MAX_MATCH - 2) + ">"
    assert pattern.sub("[t]", "x" * 3000 + short) == "x" * 3000 + "[t]"
    # A match longer than a window is not one RE2 is asked to find: the text stays.
    long = "<" + "a" * (2 * WINDOW) + ">"
    assert pattern.sub("[t]", long) == long


def test_extra_pattern_stops_after_max_matches_and_drops_the_rest() -> None:
    pattern = ExtraPattern(r"\d")
    out = pattern.sub("[d]", "1" * (MAX_MATCHES + 500))
    assert out == "[d]" * MAX_MATCHES + TRUNCATED


def test_extra_pattern_empty_matches_insert_nothing() -> None:
    assert ExtraPattern(r"x*").sub("[t]", "axxb") == "a[t]b"
