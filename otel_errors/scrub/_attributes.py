"""Recursive scrubbing of OTLP attribute values (scalars, bytes, arrays, kvlists) keeping their shape."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._keys import KeyMatcher

REDACTED = "[redacted]"
TRUNCATED = "...[truncated]"
# OTLP kvlists can nest; a hostile payload must not be able to exhaust the stack.
_MAX_DEPTH = 32
# Scrub this much past max_value_length so a secret straddling the cut is still recognised and removed.
_CUT_MARGIN = 4096


class AttributeWalker:
    __slots__ = ("_matcher", "_text", "_limit")

    def __init__(self, matcher: KeyMatcher, text: Callable[[str], str], max_value_length: int | None) -> None:
        self._matcher = matcher
        self._text = text
        self._limit = max_value_length

    def mapping(self, attributes: Mapping[Any, Any], path: str = "", depth: int = 0) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, value in attributes.items():
            name = key if isinstance(key, str) else str(key)
            full = f"{path}.{name}" if path else name
            if self._matcher.allowed(name) or (path and self._matcher.allowed(full)):
                out[key] = value
            elif self._matcher.sensitive(name):
                out[key] = redact(value, depth)
            else:
                out[key] = self.value(value, full, depth)
        return out

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
        limit = self._limit
        if limit is None or len(value) <= limit:
            return self._text(value)
        return self._text(value[: limit + _CUT_MARGIN])[:limit] + TRUNCATED

    def _bytes(self, value: bytes) -> bytes:
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            return value  # binary payload: nothing textual to scrub
        cleaned = self.string(decoded)
        return value if cleaned == decoded else cleaned.encode("utf-8", "surrogatepass")


def redact(value: Any, depth: int = 0) -> Any:
    """Everything under a sensitive key: scalars become `[redacted]`, containers keep their shape."""
    if value is None:
        return None
    if depth < _MAX_DEPTH:
        if isinstance(value, Mapping):
            return {k: redact(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [redact(v, depth + 1) for v in value]
        if isinstance(value, tuple):
            return tuple(redact(v, depth + 1) for v in value)
    return REDACTED
