"""The stored explanation of a fingerprint: its representative frames, chain and component tree, as JSON.

Built only when an error is new (the store asks for it when it has not stored the fingerprint yet), from the
grouping result of that occurrence alone: never from another occurrence's, nor another workspace's.
"""

from __future__ import annotations

import json
from typing import Any

from ._model import GroupingResult

# Strings in the explanation quote attribute values (`error.fingerprint`, `error.type`) and frames as they came.
MAX_VALUE_LENGTH = 1024
MAX_FRAMES = 64
_MARKER = "…[truncated]"


def details_json(result: GroupingResult) -> str:
    return json.dumps(
        _bounded(
            {
                "configId": result.config_id,
                "frames": [f.to_dict() for f in result.frames[:MAX_FRAMES]],
                "chain": list(result.chain_types),
                "component": result.component.to_dict() if result.component else None,
            }
        ),
        ensure_ascii=False,
    )


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        value = value.replace("\x00", "")  # PostgreSQL text cannot hold NUL
        if len(value) > MAX_VALUE_LENGTH:
            return value[: MAX_VALUE_LENGTH - len(_MARKER)] + _MARKER
        return value
    if isinstance(value, list):
        return [_bounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _bounded(v) for k, v in value.items()}
    return value
