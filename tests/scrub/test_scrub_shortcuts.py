"""The scrubber's shortcuts (gates, remembered keys/values/templates) give exactly what the full slow path gives.

The reference is a scrubber without any gate: every rule runs on every text, which also turns off every
shortcut of `Scrubber` that relies on gates; attributes are compared with the plain recursive walk.
"""

from __future__ import annotations

import string
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.scrub import Scrubber, ScrubConfig
from otel_errors.scrub._cards import CARD
from otel_errors.scrub._gates import GateSet, fold


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
        "bob@example.com", "10.0.0.1", "fe80::1", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005",
        "3782 822463 10005", "5555555555554444", "password=", "token: ", "Bearer ", "sk-", "AKIA", "::",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "postgres://u:p@h/db", "[redacted]", "'api_key': '",
        "?access_token=", "call_", "req_", "0000", "1234", " ", "-", "\u00e9", "\n", "\x00", ": ",
    ]
)
digits = st.text(alphabet="0123456789 -", max_size=30)
mixed = st.lists(st.one_of(fragments, st.text(alphabet=_ALPHABET, max_size=30), digits), max_size=8).map("".join)


# -- the card gate ------------------------------------------------------------------------------------------------

@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(digits, st.sampled_from(["a", "_", "\u00e9", "\u0663", " ", "-", "\n"])), max_size=6)
       .map("".join))
def test_card_gate_opens_whenever_the_card_regex_matches(text: str) -> None:
    if CARD.search(text):
        assert CARD_INDEX in S._gates.open(fold(text))


def test_card_gate_shapes() -> None:
    opens = ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005",
             "3782 822463 10005", "3782-822463-10005", "4222222222222", "4111 1111 1111 1111 123",
             "x\u00e94111111111111111\u00e9x", "at 1718000000006 ms"]
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
    for text in ["call_123456789012 4111 1111 1111 1111", "4111111111111111\nreq_b68e4bd76f41",
                 "Limit 30000000 card 5555-5555-5555-4444"]:
        assert S.text(text) == REF.text(text)
        assert "[card]" in S.text(text)
