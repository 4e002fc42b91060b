"""Cheap pre-checks ("gates") that let clean text skip the rules' regexes.

Measured facts about `re` on a 2 KB stack trace: a pattern whose first item is one literal character is scanned
at ~0.3 ns/char (~0.7 µs) plus ~20 ns per occurrence of that character; a pattern starting with a character
class or an alternation of different first characters is scanned at ~3 ns/char (6-40 µs). So:

* Gates read the *folded* text: encoded to ASCII (non-ASCII dropped), A-Z folded to a-z, 0-9 folded to `0`.
* A gate is a tuple of bytes-regex branches, each starting with a literal "anchor" character, with a
  look-behind for the trigger's characters before it (`j(?<=eyj)` for JWTs).
* Branches of all rules are grouped by anchor into one regex per anchor character (the parser factors the
  shared first character out, keeping the fast scan); anchors are chosen so that ~10 groups cover 17 rules.
  Clean text costs one fast scan per group.
* On a hit, each still-closed branch of that group is tried at the hit position (`match`) and the scan resumes
  one character later; after a few hits the rest are searched from there instead, bounding the work on text
  full of anchors.

* Short texts (messages, attribute values: up to `_SHORT` bytes) are first searched once for all groups together:
  one regex whose alternatives are `c(?<=(?=G)c)` for each group G and its anchor c. The alternatives all start
  with a literal, so `re` skips to the anchors by a character set, and one call replaces ~10 (each ~0.1 µs);
  on a clean 50-byte message that is ~0.4 µs instead of ~1.2. Longer texts skip it: its per-character cost is
  higher than the literal scans'. Measured break-even ~250 bytes.

Soundness: a gate may open wrongly (the rule then finds nothing) but must never stay shut when its rule would
match. Rule regexes are ASCII-only, so dropping non-ASCII characters can only join neighbours, never split a
match; every gate is a necessary condition (after folding) of its rule's regex; and no branch matches before
the first hit of its group's scan, so searching from there loses nothing. Every branch matches only text that
starts with its anchor (a literal first character, not quantified; no top-level `|`), so the alternative
`c(?<=(?=G)c)` - consume c, step back over it, and require G to match there - matches at a position exactly
when G does: the short-text search finds nothing only when no group, hence no gate, would.
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
_META = frozenset(b"\\[](){}*+?^$|.")
# Texts up to this many (folded) bytes are first searched for all groups at once (see the module doc).
_SHORT = 160


def fold(text: str) -> bytes:
    """The gate view of `text`: one C-speed pass to encode, one to translate."""
    return text.encode("ascii", "ignore").translate(_FOLD)


def _anchor(branch: bytes) -> int:
    """The literal first character of a branch (`\\.` counts as `.`)."""
    if branch[:1] == b"\\" and len(branch) > 1 and not chr(branch[1]).isalnum():
        anchor, rest = branch[1], branch[2:]
    elif branch and branch[0] not in _META:
        anchor, rest = branch[0], branch[1:]
    else:
        anchor, rest = -1, b""
    if anchor >= 0 and rest[:1] not in (b"*", b"+", b"?", b"{", b"|"):  # the anchor must not be optional
        return anchor
    raise ValueError(f"gate branch {branch!r} must start with a literal character to scan fast")


class GateSet:
    """Decides, per text, which rules need to run. `gates[i]` is rule i's branches, or None (always run)."""

    __slots__ = ("_groups", "_searches", "_always", "_any")

    @property
    def always(self) -> frozenset[int]:
        """Rules without a gate: they run on every text."""
        return self._always

    def __init__(self, gates: Sequence[tuple[bytes, ...] | None]) -> None:
        self._always = frozenset(i for i, g in enumerate(gates) if g is None)
        by_anchor: dict[int, list[tuple[int, bytes]]] = {}
        for i, branches in enumerate(gates):
            for branch in branches or ():
                by_anchor.setdefault(_anchor(branch), []).append((i, branch))
        self._groups = tuple(
            (re.compile(b"|".join(b for _, b in members)), tuple((i, re.compile(b)) for i, b in members))
            for _, members in sorted(by_anchor.items())
        )
        self._searches = tuple(group.search for group, _ in self._groups)
        alternatives = [
            re.escape(bytes([c])) + b"(?<=(?=" + b"|".join(b for _, b in members) + b")" + re.escape(bytes([c])) + b")"
            for c, members in sorted(by_anchor.items())
        ]
        self._any = re.compile(b"|".join(alternatives)).search if alternatives else None

    def open(self, folded: bytes) -> frozenset[int]:
        """Indexes of the rules whose gate is open for this (folded) text."""
        # Hot path: clean text is one search per anchor group and nothing else; short clean text one search.
        if len(folded) <= _SHORT and self._any is not None and self._any(folded) is None:
            return self._always
        hits = [(n, hit) for n, search in enumerate(self._searches) if (hit := search(folded)) is not None]
        if not hits:
            return self._always
        opened = set(self._always)
        for n, hit in hits:
            self._open_group(folded, n, hit.start(), opened)
        return frozenset(opened)

    def _open_group(self, folded: bytes, n: int, pos: int, opened: set[int]) -> None:
        group, members = self._groups[n]
        pending = [(i, b) for i, b in members if i not in opened]
        for _ in range(_STEP_LIMIT):
            still = []
            for i, branch in pending:
                if i in opened:
                    continue
                if branch.match(folded, pos):
                    opened.add(i)
                else:
                    still.append((i, branch))
            pending = still
            if not pending:
                return
            hit = group.search(folded, pos + 1)
            if hit is None:
                return
            pos = hit.start()
        for i, branch in pending:
            if i not in opened and branch.search(folded, pos):
                opened.add(i)
