"""Property tests: the scrubber never raises, is idempotent, and never lets a generated secret through."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.scrub import Scrubber, ScrubConfig

S = Scrubber(ScrubConfig(), memo_size=0)

# Text that is dense in the characters the rules care about, so hypothesis actually reaches the rules.
_ALPHABET = string.ascii_letters + string.digits + " .:@-_=/'\"?&[]{}\n\t+%"
dense_text = st.text(alphabet=_ALPHABET, max_size=300)
any_text = st.text(max_size=300)  # includes lone surrogates and control characters
fragments = st.sampled_from(
    [
        "bob@example.com",
        "10.0.0.1",
        "fe80::1",
        "4111 1111 1111 1111",
        "password=",
        "token: ",
        "Bearer ",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        "sk-",
        "AKIA",
        "postgres://u:p@h/db",
        "::",
        "[redacted]",
        "[ip]",
        "1.2.3.4.5",
        "std::vector",
        "'api_key': '",
        "-----BEGIN PRIVATE KEY-----",
        "?access_token=",
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
mixed = st.lists(st.one_of(fragments, dense_text), max_size=8).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(any_text, mixed))
def test_never_raises_and_idempotent(text: str) -> None:
    once = S.text(text)
    assert isinstance(once, str)
    assert S.text(once) == once


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


cards = st.builds(
    lambda first, rest: _luhn_complete(first + rest),
    st.sampled_from("23456"),
    st.text(alphabet=string.digits, min_size=14, max_size=14),
)
aws_keys = st.builds(
    lambda p, body: p + body,
    st.sampled_from(["AKIA", "ASIA"]),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16),
)
words = st.text(alphabet=string.ascii_letters + " .,:", max_size=40)


@settings(max_examples=300, deadline=None)
@given(words, st.emails(), words)
def test_generated_emails_never_survive(before: str, email: str, after: str) -> None:
    out = S.text(f"{before} {email} {after}")
    assert email not in out


@settings(max_examples=300, deadline=None)
@given(words, cards, st.sampled_from(["", " ", "-"]), words)
def test_luhn_valid_cards_never_survive(before: str, card: str, sep: str, after: str) -> None:
    printed = sep.join(card[i : i + 4] for i in range(0, 16, 4)) if sep else card
    out = S.text(f"{before} {printed} {after}")
    assert printed not in out and card not in out.replace(" ", "").replace("-", "")


@settings(max_examples=300, deadline=None)
@given(words, aws_keys, words)
def test_aws_keys_never_survive(before: str, key: str, after: str) -> None:
    assert key not in S.text(f"{before} {key} {after}")


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.floats(allow_nan=False),
            st.text(max_size=40),
            st.binary(max_size=40),
        ),
        # Keys from an alphabet that spells no sensitive word: under a sensitive key every scalar becomes
        # "[redacted]" by design (a bool included), which is a different property.
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(alphabet="xyzqv._-", max_size=12), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_attributes_keep_shape(value: object) -> None:
    out = S.attributes({"v": value})["v"]

    def shape(x: object) -> object:
        if isinstance(x, dict):
            return {k: shape(v) for k, v in x.items()}
        if isinstance(x, list):
            return [shape(v) for v in x]
        return type(x).__name__

    assert shape(out) == shape(value)
