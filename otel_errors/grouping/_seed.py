"""The seed's fingerprint, kept to compare against and to keep matching issues stored under config "v0"."""

from __future__ import annotations

import hashlib
import re

_LINE_COLUMN = re.compile(r":\d+:\d+")
_QUOTED = re.compile(r'"[^"]*"')
_DIGITS = re.compile(r"\d+")


def seed_fingerprint(exc_type: str, stacktrace: str) -> str:
    """md5 of the type and the first 500 characters of the trace, digits replaced."""
    normalized = _DIGITS.sub("N", _QUOTED.sub('""', _LINE_COLUMN.sub("", stacktrace)))
    return hashlib.md5(f"{exc_type}:{normalized[:500]}".encode(), usedforsecurity=False).hexdigest()
