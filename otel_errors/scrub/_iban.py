"""International bank account numbers: a shape regex proposes, the country's length and mod-97 decide."""

from __future__ import annotations

import re

# Lengths of the IBAN registry (SWIFT, ISO 13616), by country code.
_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
_COUNTRIES = "|".join(sorted(_LENGTHS))

# Upper-case country code and two check digits, then the account either contiguous (11-30 more letters/digits)
# or printed in groups of four separated by single spaces, the last group shorter. Not glued to a word.
IBAN = re.compile(
    # (the look-ahead first: most positions fail it at once, before the country codes are tried one by one)
    rf"(?=[A-Z]{{2}}[0-9]{{2}})(?<![A-Za-z0-9])(?:{_COUNTRIES})[0-9]{{2}}"
    r"(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)(?![A-Za-z0-9])",
    re.ASCII,
)

# Gate (see _gates): the check digits fold to `00`; the country code before them is one of the registry's.
GATE = (rb"00(?<=[a-z][a-z]00)(?<=(?:" + _COUNTRIES.lower().encode() + rb")00)(?:[a-z0]{11}| [a-z0]{4} [a-z0]{4})",)


# Letters count as two digits, A = 10 ... Z = 35 (ISO 13616): one C-speed translate, then one int().
_AS_DIGITS = {ord(letter): str(10 + i) for i, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def iban_valid(compact: str) -> bool:
    """True for an IBAN without spaces of its country's length whose mod-97 checksum is 1."""
    if _LENGTHS.get(compact[:2]) != len(compact):
        return False
    return int((compact[4:] + compact[:4]).translate(_AS_DIGITS)) % 97 == 1


def replace_iban(m: re.Match[str]) -> str:
    """`[iban]` for a valid IBAN. A grouped candidate may run on into a following group of four (`... 1332
    ABCD`): then its first characters, up to the country's length, are tried when they end a group."""
    printed = m[0]
    compact = printed.replace(" ", "")
    if iban_valid(compact):
        return "[iban]"
    length = _LENGTHS.get(compact[:2], 0)
    if " " not in printed or len(compact) <= length:
        return printed
    # Where the country's length ends in the printed text: after that many non-space characters.
    seen = 0
    for end, ch in enumerate(printed):
        if ch != " ":
            seen += 1
            if seen == length:
                cut = end + 1
                if printed[cut : cut + 1] == " " and iban_valid(compact[:length]):
                    return "[iban]" + printed[cut:]
                break
    return printed
