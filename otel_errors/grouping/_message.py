"""Message parametrization: replace what varies between occurrences of one error with named placeholders.

The patterns are tried in order at each position (one alternation, one pass), so a URL is taken whole before
its numbers could be, and a UUID before its hex runs.
"""

from __future__ import annotations

import re

# (name, pattern), most specific first. The name is the placeholder: "<uuid>", "<url>", ...
MESSAGE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("url", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>)\]]+"),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    ("uuid", r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b"),
    ("timestamp", r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
                  r"|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"),
    ("ip", r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b|\b(?:[0-9a-fA-F]{1,4}:){4,7}[0-9a-fA-F]{1,4}\b"),
    ("hex", r"\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"),
    ("duration", r"\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|secs|seconds|m|min|minutes|h|hours)\b"),
    ("path", r"(?<![\w/])(?:[A-Za-z]:\\|/)(?:[\w.@+-]+[/\\])+[\w.@+-]*"),
    ("quoted", r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|`[^`\n]{0,200}`"),
    ("int", r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])|(?<=[_#:=-])\d+\b"),
)

_COMBINED = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in MESSAGE_PATTERNS))


def _placeholder(match: re.Match[str]) -> str:
    return f"<{match.lastgroup}>"


def parametrize_message(message: str, max_length: int = 512) -> str:
    """`User 42 not found at 10.0.0.1` -> `User <int> not found at <ip>`. Never raises."""
    try:
        text = message[: max_length * 2]
        return _COMBINED.sub(_placeholder, text)[:max_length].strip()
    except Exception:  # pragma: no cover - a pattern bug must not break ingest
        return message[:max_length]
