"""Recursive scrubbing of OTLP attribute keys and values (scalars, bytes, arrays, kvlists) keeping their shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._keys import KeyMatcher

REDACTED = "[redacted]"
TRUNCATED = "...[truncated]"
# OTLP kvlists can nest; a hostile payload must not be able to exhaust the stack.
_MAX_DEPTH = 32
# Scrub this much past the cut so a secret straddling the cut is still recognised and removed.
CUT_MARGIN = 4096
# The scrubber's own bound on an attribute string (key or value), whatever `max_value_length` says: the rules
# never read more than this plus CUT_MARGIN characters of one. The processor cuts values far shorter first.
ATTRIBUTE_MAX_CHARS = 16 * 1024


class AttributeWalker:
    __slots__ = ("_matcher", "_text", "_limit")

    def __init__(self, matcher: KeyMatcher, text: Callable[[str], str], max_value_length: int | None) -> None:
        self._matcher = matcher
        self._text = text
        self._limit = ATTRIBUTE_MAX_CHARS if max_value_length is None else min(max_value_length, ATTRIBUTE_MAX_CHARS)

    def mapping(self, attributes: Mapping[Any, Any], path: str = "", depth: int = 0) -> dict[Any, Any]:
        out = _Keyed()
        for key, value in attributes.items():
            name = key if isinstance(key, str) else str(key)
            full = f"{path}.{name}" if path else name
            if self._matcher.allowed(name) or (path and self._matcher.allowed(full)):
                out.put(key, value)
            elif self._matcher.sensitive(name):
                out.put(self.key(key, name), self.redact(value, depth))
            else:
                out.put(self.key(key, name), self.value(value, full, depth))
        return out.items

    def key(self, key: Any, name: str) -> Any:
        """A key scrubbed like text (`bob@example.com` -> `[email]`); the key itself when that changes nothing."""
        cleaned = cut(self._text, name, ATTRIBUTE_MAX_CHARS)
        return key if cleaned == name else cleaned

    def value(self, value: Any, path: str, depth: int) -> Any:
        if isinstance(value, str):
            return self.string(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, (bytes, bytearray)):
            return self._bytes(bytes(value))
        if depth >= _MAX_DEPTH:
            return REDACTED
        if isinstance(value, Mapping):
            return self.mapping(value, path, depth + 1)
        if isinstance(value, list):
            return [self.value(v, path, depth + 1) for v in value]
        if isinstance(value, tuple):
            return tuple(self.value(v, path, depth + 1) for v in value)
        # Unknown type: keep it if its text is clean, otherwise store the scrubbed text.
        try:
            as_text = str(value)
        except Exception:  # noqa: BLE001 - a broken __str__ must not break ingest
            return REDACTED
        cleaned = self.string(as_text)
        return value if cleaned == as_text else cleaned

    def string(self, value: str) -> str:
        """What a string value becomes under a key that is neither allowed nor sensitive."""
        return cut(self._text, value, self._limit)

    def redact(self, value: Any, depth: int = 0) -> Any:
        """Everything under a sensitive key: scalars become `[redacted]`, containers keep their shape (and their
        keys are scrubbed like any key)."""
        if value is None:
            return None
        if depth < _MAX_DEPTH:
            if isinstance(value, Mapping):
                out = _Keyed()
                for k, v in value.items():
                    out.put(self.key(k, k if isinstance(k, str) else str(k)), self.redact(v, depth + 1))
                return out.items
            if isinstance(value, list):
                return [self.redact(v, depth + 1) for v in value]
            if isinstance(value, tuple):
                return tuple(self.redact(v, depth + 1) for v in value)
        return REDACTED

    def _bytes(self, value: bytes) -> bytes:
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            return value  # binary payload: nothing textual to scrub
        cleaned = self.string(decoded)
        return value if cleaned == decoded else cleaned.encode("utf-8", "surrogatepass")


def cut(text: Callable[[str], str], value: str, limit: int) -> str:
    """`text(value)`, or for a longer value its first `limit` characters (scrubbed with CUT_MARGIN more, so that
    a secret across the cut still goes) followed by `...[truncated]`."""
    if len(value) <= limit:
        return text(value)
    return text(value[: limit + CUT_MARGIN])[:limit] + TRUNCATED


class _Keyed:
    """A mapping being built in which a key that scrubbing made equal to an earlier one (two addresses both
    became `[email]`) gets `#2`, `#3`, ... appended instead of replacing that one's value."""

    __slots__ = ("items", "_suffixes")

    def __init__(self) -> None:
        self.items: dict[Any, Any] = {}
        self._suffixes: dict[Any, int] = {}  # the last suffix given per key: a run of equal keys stays linear

    def put(self, key: Any, value: Any) -> None:
        items = self.items
        if key in items:
            n = self._suffixes.get(key, 1) + 1
            while f"{key}#{n}" in items:
                n += 1
            self._suffixes[key] = n
            key = f"{key}#{n}"
        items[key] = value
