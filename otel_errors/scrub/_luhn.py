"""Luhn (mod 10) check used to tell card numbers from order ids and timestamps."""

from __future__ import annotations

# Doubling table for the Luhn algorithm: digit d at an even position from the right contributes _DOUBLED[d].
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(digits: str) -> bool:
    """True when `digits` (ASCII digits only, no separators) passes the Luhn checksum."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _DOUBLED[d] if i % 2 else d
    return total % 10 == 0
