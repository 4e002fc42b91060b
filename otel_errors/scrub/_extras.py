"""Administrators' extra patterns, run by RE2 (the `google-re2` package): no backtracking, whatever the pattern.

RE2 finds one match in time linear in the text it reads, but replacing every match of a pattern such as
`x.*y|x` would read the rest of the text once per match (each search looks as far as `.*` can reach before it
settles for `x`). So each search reads one window of `WINDOW` bytes (UTF-8): a match up to `MAX_MATCH` bytes is
found whole (a window that finds nothing is followed by one overlapping its second half; one whose match reaches
its end is searched again from the match's start), a longer one may be found cut or not at all. At most
`MAX_MATCHES` are replaced in one text; the rest of a text with more is dropped and marked `...[truncated]`.
Together that bounds the work on any text, whatever the pattern (tests/test_regex_linear_time.py).
"""

from __future__ import annotations

from typing import Any

import re2

from ._attributes import TRUNCATED

WINDOW = 2048
MAX_MATCH = WINDOW // 2
MAX_MATCHES = 2048

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # invalid patterns are reported by ValueError, not on stderr
_OPTIONS.never_capture = True  # only the match's span is used: the fastest engines suffice
_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED


class ExtraPattern:
    """One compiled extra pattern. `ExtraPattern(regex)` raises ValueError when RE2 cannot run it
    (backreferences, look-around, possessive quantifiers, ...) or the regex is not valid."""

    __slots__ = ("pattern", "_regexp")

    def __init__(self, regex: str) -> None:
        self.pattern = regex
        try:
            self._regexp: Any = re2._re2.RE2(regex.encode("utf-8"), _OPTIONS)
        except UnicodeEncodeError:
            raise ValueError("is not valid UTF-8") from None
        if not self._regexp.ok():
            error = self._regexp.error()
            raise ValueError(error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error))

    def search(self, text: str) -> bool:
        """Whether the pattern matches somewhere in `text` (one window: for validation on short texts)."""
        data = text.encode("utf-8", "surrogatepass")
        return bool(self._regexp.Match(_UNANCHORED, data, 0, len(data))[0][0] >= 0)

    def sub(self, label: object, text: str) -> str:
        """`text` with each non-empty match replaced by `label` (a `str`; typed like `re.Pattern.sub`'s
        replacement so that rules call both alike). See the module doc for the bounds."""
        if not isinstance(label, str):
            raise TypeError(f"an extra pattern's replacement is its label, got {label!r}")
        data = text.encode("utf-8", "surrogatepass")
        size = len(data)
        match = self._regexp.Match
        pieces: list[bytes] = []
        replacement = label.encode("utf-8")
        kept = pos = 0  # data[kept:] is not yet copied to pieces; the next search starts at pos
        while pos < size:
            end = min(size, pos + WINDOW)
            start, stop = match(_UNANCHORED, data, pos, end)[0]
            if start < 0:
                if end == size:
                    break
                pos = end - MAX_MATCH  # a match across the window's end lies within the next window
                continue
            if stop == end < size and start > pos:
                pos = start  # the match may go on past the window: look again from its start
                continue
            if stop == start:  # an empty match replaces nothing: step over one character
                pos = start + 1
                while pos < size and data[pos] & 0xC0 == 0x80:
                    pos += 1
                continue
            pieces += (data[kept:start], replacement)
            kept = pos = stop
            if len(pieces) >= 2 * MAX_MATCHES:
                return b"".join(pieces).decode("utf-8", "surrogatepass") + TRUNCATED
        if not pieces:
            return text
        pieces.append(data[kept:])
        return b"".join(pieces).decode("utf-8", "surrogatepass")
