"""IBANs, US social security numbers, E.164 phone numbers and AWS secret access keys: found where they are,
left alone where something merely looks like them, never let through when generated, and fixed points."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.scrub import Scrubber, ScrubConfig
from otel_errors.scrub._gates import fold
from otel_errors.scrub._iban import _LENGTHS, iban_valid

S = Scrubber(ScrubConfig(), memo_size=0)


# -- IBAN -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE89370400440532013000", "[iban]"),
        ("pay to NL91ABNA0417164300, thanks", "pay to [iban], thanks"),
        ("IBAN:GB82WEST12345698765432", "IBAN:[iban]"),
        ("DE89 3704 0044 0532 0130 00", "[iban]"),
        ("GB29 NWBK 6016 1331 9268 19 (sort code 60-16-13)", "[iban] (sort code 60-16-13)"),
        ("FR14 2004 1010 0505 0001 3M02 606", "[iban]"),
        ("MT84 MALT 0110 0001 2345 MTLC AST0 01S", "[iban]"),
        ("shortest NO9386011117947 and IT60X0542811101000000123456", "shortest [iban] and [iban]"),
        # printed groups running on into a word of four capitals: the IBAN is the country's length of them
        ("ES91 2100 0418 4502 0005 1332 ABCD", "[iban] ABCD"),
    ],
)
def test_iban_found(text: str, expected: str) -> None:
    assert S.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "DE89370400440532013001",  # checksum fails
        "DE8937040044053201300",  # one character short for DE
        "ZZ89370400440532013000",  # no such country
        "de89370400440532013000",  # lower case: not how IBANs are printed
        "xDE89370400440532013000",  # glued to a word
        "DE89370400440532013000x",
        "DE89 3704 0044 0532 0130 02",  # grouped, checksum fails
        "DE89 37040 0440 5320 1300 0",  # not groups of four
        "ORDER AB12CDEF34567890 shipped",
        "build GB2024010112345678",
    ],
)
def test_iban_near_misses_survive(text: str) -> None:
    assert S.text(text) == text


def _iban(country: str, bban: str) -> str:
    """A valid IBAN: the check digits make the rearranged number 1 modulo 97."""
    rearranged = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in rearranged)) % 97
    return f"{country}{check:02d}{bban}"


ibans = st.sampled_from(sorted(_LENGTHS)).flatmap(
    lambda country: st.text(
        string.ascii_uppercase + string.digits, min_size=_LENGTHS[country] - 4, max_size=_LENGTHS[country] - 4
    ).map(lambda bban: _iban(country, bban))
)
words = st.text(alphabet=string.ascii_letters + " .,:", max_size=40)


@settings(max_examples=300, deadline=None)
@given(words, ibans, st.booleans(), words)
def test_generated_ibans_never_survive(before: str, iban: str, grouped: bool, after: str) -> None:
    assert iban_valid(iban)
    printed = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if grouped else iban
    out = S.text(f"{before} {printed} {after}")
    assert printed not in out and iban not in out.replace(" ", "")


# -- US social security numbers -------------------------------------------------------------------------------------


def test_ssn_found() -> None:
    assert S.text("ssn 123-45-6789 on file") == "ssn [ssn] on file"
    assert S.text("SSN: 078-05-1120.") == "SSN: [ssn]."
    assert S.text('{"ssn": "219-09-9999"}') == '{"ssn": "[ssn]"}'


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",  # area 000 is never issued
        "666-12-3456",  # nor 666
        "900-12-3456",  # nor 900-999
        "123-00-4567",  # nor group 00
        "123-45-0000",  # nor serial 0000
        "1234-56-7890",
        "123-456-7890",  # a US phone number's shape
        "123-45-67890",
        "x123-45-6789",
        "1-123-45-6789",
        "on 2024-05-01 at 12:30",
    ],
)
def test_ssn_near_misses_survive(text: str) -> None:
    assert S.text(text) == text


ssns = st.builds(
    lambda area, group, serial: f"{area:03d}-{group:02d}-{serial:04d}",
    st.integers(1, 899).filter(lambda a: a != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
)


@settings(max_examples=300, deadline=None)
@given(words, ssns, words)
def test_generated_ssns_never_survive(before: str, ssn: str, after: str) -> None:
    assert ssn not in S.text(f"{before} {ssn} {after}")


# -- phone numbers in E.164 form ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +14155552671 now", "call [phone] now"),
        ("call +1 415 555 2671 now", "call [phone] now"),
        ("+44 20 7946 0958", "[phone]"),
        ("tel:+49-30-1234567", "tel:[phone]"),
        ("from (+33612345678)", "from ([phone])"),
    ],
)
def test_phone_found(text: str, expected: str) -> None:
    assert S.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "+1234567",  # 7 digits: too short
        "+0123456789",  # no country code starts with 0
        "at 2024-05-01T10:00:00+02:00",  # UTC offset
        "offset +0200 and +05:30",
        "version 1.2.3+20240101123456",  # semver build metadata
        "+1234567890123456",  # 16 digits: too long
        "+1 415 555 2671 1234 5678",  # more digits follow: not a phone number
        "x+14155552671",
        "++14155552671",
        "+14155552671+14155552671",  # glued: neither is taken (nor, a pass later, the second)
        "a + 12345678",
    ],
)
def test_phone_near_misses_survive(text: str) -> None:
    assert S.text(text) == text


def _printed_phone(digits: str, country: int, group: int, sep: str) -> str:
    """`+` and the digits, the country code and then groups of `group` digits separated by `sep`."""
    rest = digits[country:]
    return "+" + sep.join([digits[:country]] + [rest[i : i + group] for i in range(0, len(rest), group)])


phones = st.builds(
    _printed_phone,
    st.builds(
        lambda first, rest: first + rest, st.sampled_from("123456789"), st.text(string.digits, min_size=7, max_size=14)
    ),
    st.integers(1, 3),
    st.integers(2, 4),
    st.sampled_from(["", " ", "-"]),
)


@settings(max_examples=300, deadline=None)
@given(words, phones, words)
def test_generated_phone_numbers_never_survive(before: str, phone: str, after: str) -> None:
    out = S.text(f"{before} {phone} {after}")
    assert phone not in out
    digits = "".join(ch for ch in phone if ch.isdigit())
    assert digits not in "".join(ch for ch in out if ch.isdigit())


# -- AWS secret access keys -----------------------------------------------------------------------------------------

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"AKIAIOSFODNN7EXAMPLE {SECRET}", "[api_key] [aws_secret]"),
        (f"AKIAIOSFODNN7EXAMPLE,{SECRET}", "[api_key],[aws_secret]"),
        (
            f"Credentials(access_key='ASIAIOSFODNN7EXAMPLE', secret_key='{SECRET}', token=None)",
            "Credentials(access_key='[api_key]', secret_key='[aws_secret]', token=[redacted])",
        ),
        (f"aws_secret_access_key = {SECRET}", "aws_secret_access_key = [aws_secret]"),
        (f"AWS_SECRET_ACCESS_KEY={SECRET}", "AWS_SECRET_ACCESS_KEY=[aws_secret]"),
        (f'{{"AwsSecretKey": "{SECRET}"}}', '{"AwsSecretKey": "[aws_secret]"}'),
        # any key starting with `aws` holding a random 40 (a secret under whatever name)
        (f"aws_region = {SECRET}", "aws_region = [aws_secret]"),
        (
            f"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {SECRET}\n",
            "[default]\naws_access_key_id = [api_key]\naws_secret_access_key = [aws_secret]\n",
        ),
    ],
)
def test_aws_secret_key_found(text: str, expected: str) -> None:
    assert S.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        f"checksum {SECRET}",  # no AWS context: a 40-character string is not a secret by itself
        "AKIAIOSFODNN7EXAMPLE commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",  # SHA-1: hex, one case
        "AKIAIOSFODNN7EXAMPLE commit 2FD4E1C67A2D28FCED849EE1BB76E7391B93EB12",
        f"AKIAIOSFODNN7EXAMPLE {SECRET}X",  # 41 characters
        f"AKIAIOSFODNN7EXAMPLE {'x' * 81} {SECRET}",  # too far from the key id
        f"AKIAIOSFODNN7EXAMPLE\n{SECRET}",  # another line
        f"laws = {SECRET}",  # `aws` inside a word is no AWS key
    ],
)
def test_aws_secret_key_near_misses_survive(text: str) -> None:
    # The access key id itself always goes (aws_access_key); the 40 characters stay.
    assert S.text(text) == text.replace("AKIAIOSFODNN7EXAMPLE", "[api_key]")


secrets = st.text(string.ascii_letters + string.digits + "/+", min_size=40, max_size=40).filter(
    lambda s: any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c in "0123456789/+" for c in s)
)
key_ids = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["AKIA", "ASIA"]),
    st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16),
)


@settings(max_examples=300, deadline=None)
@given(key_ids, st.sampled_from([" ", ",", "\t", " secret: ", "', secret='"]), secrets)
def test_generated_aws_secret_keys_never_survive(key_id: str, gap: str, secret: str) -> None:
    out = S.text(f"{key_id}{gap}{secret}")
    assert secret not in out and key_id not in out


# -- gates and fixed points -----------------------------------------------------------------------------------------

RULES = ("iban", "ssn", "phone", "aws_secret_key")
alphabet = string.ascii_uppercase[:6] + "DEGBNLAKISW" + string.digits + " -+/:=_'\"\nawskecrt"
identifier_text = st.lists(
    st.one_of(
        ibans,
        ssns,
        phones,
        secrets,
        key_ids,
        st.text(alphabet=alphabet, max_size=24),
        st.sampled_from(["aws_secret=", "AWS-Key: ", "+", "-", " ", "DE89", "ASIA"]),
    ),
    max_size=6,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(identifier_text)
def test_gates_open_whenever_the_new_rules_would_change_the_text(text: str) -> None:
    opened = S._gates.open(fold(text))
    for i, rule in enumerate(S._rules):
        if rule.name in RULES and rule.pattern.sub(rule.replacement, text) != text:
            assert i in opened, (rule.name, text)


@settings(max_examples=800, deadline=None)
@given(identifier_text)
def test_scrubbing_identifiers_is_a_fixed_point(text: str) -> None:
    once = S.text(text)
    assert S.text(once) == once
