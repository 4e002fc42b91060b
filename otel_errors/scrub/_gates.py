"""Cheap pre-checks ("gates") that let clean text skip a rule's regex.

Python's `re` is fast only when a pattern starts with a literal; a rule such as `\\d{4}...` or a case-insensitive
alternation costs 10-40 µs on a 2 KB stack trace even when nothing matches. So every rule has a gate that works on
the *folded* text: the text encoded to ASCII (non-ASCII dropped), upper case folded to lower case and every digit
folded to `0`. On that form one substring test (`b"eyj" in folded`) costs well under a microsecond.

Soundness: a gate may say yes wrongly (the rule then runs and finds nothing) but must never say no when the rule
would match. All rule regexes are ASCII-only, so dropping non-ASCII characters can only join neighbours, never
split a match; and every needle below is a literal that any match of its rule contains (after folding).
"""

from __future__ import annotations

import re
from collections.abc import Callable

Gate = Callable[[bytes], bool]

_FOLD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    b"abcdefghijklmnopqrstuvwxyz0000000000",
)


def fold(text: str) -> bytes:
    """The gate view of `text` (one C-speed pass for encode, one for translate)."""
    return text.encode("ascii", "ignore").translate(_FOLD)


def always(_folded: bytes) -> bool:
    return True


def any_of(*needles: bytes) -> Gate:
    """Open when the folded text contains one of the needles (lower-case, digits written as 0)."""
    if len(needles) == 1:
        (needle,) = needles
        return lambda folded: needle in folded
    return lambda folded: any(n in folded for n in needles)


def search(pattern: bytes) -> Gate:
    """Open when the bytes regex is found in the folded text. Keep a literal first so `re` can skip ahead fast."""
    find = re.compile(pattern).search
    return lambda folded: find(folded) is not None


def all_of(*gates: Gate) -> Gate:
    return lambda folded: all(g(folded) for g in gates)


def either(*gates: Gate) -> Gate:
    return lambda folded: any(g(folded) for g in gates)
