"""Opaque keyset cursors: base64 of the sort key of the last item returned."""

from __future__ import annotations

import base64
import json
from typing import Any

from .problems import bad_request


def encode(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode().rstrip("=")


def decode(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise bad_request("cursor is not valid; use the nextCursor of a previous page") from None
    if not isinstance(key, list) or len(key) != arity:
        raise bad_request("cursor is not valid; use the nextCursor of a previous page")
    return key
