"""Cheap pre-checks ("gates") that let clean text skip the rules' regexes.

Python's `re` scans fast only for a pattern that starts with a literal character, and only as fast as that
character is rare: `\\d{4}` or a case-insensitive alternation costs 10-40 µs on a 2 KB stack trace even when
nothing matches, and even a plain substring test costs ~1 µs. Seventeen rules would blow the budget. So:

* Gates read the *folded* text: encoded to ASCII (non-ASCII dropped), A-Z folded to a-z, 0-9 folded to `0`.
* Every gate is a bytes regex that starts with a literal "anchor" - the rarest character of its trigger, with a
  look-behind for the characters before it (`j(?<=eyj)` for JWTs) - so all gates together form ONE alternation
  whose first characters are few and rare. One scan of that tells that clean text needs no rule at all.
* On a hit, each gate is tried at the hit position only (`match`), and the scan resumes one character later;
  after a few hits the remaining gates are searched from there instead, bounding the work on text full of
  triggers.

Soundness: a gate may open wrongly (the rule then finds nothing) but must never stay shut when its rule would
match. Rule regexes are ASCII-only, so dropping non-ASCII characters can only join neighbours, never split a
match; every gate is a necessary condition (after folding) of its rule's regex; and nothing before the first
hit of the combined scan matches any gate, so searching from it loses nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_FOLD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    b"abcdefghijklmnopqrstuvwxyz0000000000",
)
# After this many hits of the combined scan, stop stepping hit by hit and search the still-closed gates.
_STEP_LIMIT = 6
_META = frozenset("\\[](){}.*+?^$|")


def fold(text: str) -> bytes:
    """The gate view of `text`: one C-speed pass to encode, one to translate."""
    return text.encode("ascii", "ignore").translate(_FOLD)


def _starts_with_literal(pattern: bytes) -> bool:
    first = chr(pattern[0]) if pattern else ""
    return bool(first) and (first not in _META or (first == "\\" and len(pattern) > 1 and not chr(pattern[1]).isalnum()))


class GateSet:
    """Decides, per text, which rules need to run. `gates[i]` is rule i's gate pattern, or None (always run)."""

    __slots__ = ("_combined", "_gates", "_always")

    def __init__(self, gates: Sequence[bytes | None]) -> None:
        for g in gates:
            if g is not None and not _starts_with_literal(g):
                raise ValueError(f"gate {g!r} must start with a literal character to scan fast")
        self._gates = tuple((i, re.compile(g)) for i, g in enumerate(gates) if g is not None)
        self._always = frozenset(i for i, g in enumerate(gates) if g is None)
        # Joined bare, not wrapped in (?:...): `re` derives its fast first-character scan only from an
        # alternation whose branches each start with a literal. Gates therefore must not contain a top-level
        # `|` branch that starts otherwise (checked above for the first branch; tests check the speed).
        alternatives = [g for g in gates if g is not None]
        self._combined = re.compile(b"|".join(alternatives)) if alternatives else None

    def open(self, folded: bytes) -> frozenset[int]:
        """Indexes of the rules whose gate is open for this (folded) text."""
        if self._combined is None:
            return self._always
        search = self._combined.search
        opened = set(self._always)
        closed = list(self._gates)
        pos = 0
        for _ in range(_STEP_LIMIT):
            hit = search(folded, pos)
            if hit is None:
                return frozenset(opened)
            pos = hit.start()
            still = []
            for i, gate in closed:
                if gate.match(folded, pos):
                    opened.add(i)
                else:
                    still.append((i, gate))
            if not still:
                return frozenset(opened)
            closed = still
            pos += 1
        opened.update(i for i, gate in closed if gate.search(folded, pos))
        return frozenset(opened)
