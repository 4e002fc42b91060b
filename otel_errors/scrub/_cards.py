"""Payment card numbers: a shape regex proposes, the issuer digit and the Luhn checksum decide."""

from __future__ import annotations

import re

from ._luhn import luhn_valid

# 13-19 digits, either contiguous or in groups separated by one consistent space or dash
# (4-4-4-4[-3] as printed on Visa/Mastercard/Discover, 4-6-5 on Amex). `\b` keeps it off longer digit runs
# and identifiers (`abc4111...`).
CARD = re.compile(
    r"\b(?:[0-9]{4}([ -]?)[0-9]{4}\1[0-9]{4}\1[0-9]{1,4}(?:\1[0-9]{1,3})?"
    r"|[0-9]{4}([ -]?)[0-9]{6}\2[0-9]{5})\b",
    re.ASCII,
)

# Card numbers start with a major-industry digit 2-6 (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/
# UnionPay/Maestro 6). Requiring it keeps millisecond/nanosecond timestamps (1...) and snowflake ids, a tenth
# of which pass Luhn by chance, out of `[card]`.
_ISSUER_DIGITS = frozenset("23456")


def is_card(candidate: str) -> bool:
    digits = candidate.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and digits[0] in _ISSUER_DIGITS and luhn_valid(digits)
