"""Size bounds on what is stored: truncation, bounded attribute values, and their JSON."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from ._otlp import AttrValue
from .scrub import CUT_MARGIN

TRUNCATION_MARKER = "…[truncated]"
_INF = float("inf")


def truncate(text: str, limit: int) -> str:
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        text = text.replace("\x00", "")
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(TRUNCATION_MARKER))] + TRUNCATION_MARKER


def bounded_value(value: AttrValue, limit: int, items: int | None = 16) -> Any:
    if isinstance(value, str):
        return truncate(value, limit)
    if isinstance(value, bytes):
        return value[: limit // 2].hex()
    if isinstance(value, list):
        return [bounded_value(v, limit, items) for v in value[:items]]
    if isinstance(value, dict):
        return {truncate(str(k), 128): bounded_value(v, limit, items) for k, v in list(value.items())[:items]}
    if isinstance(value, float) and (value != value or value in (_INF, -_INF)):
        return str(value)  # JSON has no NaN/Infinity
    return value


def bounded_for_scrubbing(attrs: dict[str, AttrValue], limit: int, count: int) -> dict[str, AttrValue]:
    """`attrs` as far as they can be stored: the first `count`, string values longer than `limit` and the
    scrubber's margin cut there (the same dict when nothing is cut). No scrubbing rule need read what will not be
    stored."""
    cut = limit + CUT_MARGIN  # what the scrubber reads past a cut: a secret straddling it is seen whole
    if len(attrs) > count:
        attrs = dict(itertools.islice(attrs.items(), count))
    for value in attrs.values():
        if isinstance(value, str) and len(value) > cut:
            return {k: v[:cut] if isinstance(v, str) and len(v) > cut else v for k, v in attrs.items()}
    return attrs


def context_json(context: dict[str, AttrValue], *, max_attributes: int, max_value_length: int) -> str:
    """The attributes as stored: at most `max_attributes`, keys of 128 and values of `max_value_length` characters."""
    if len(context) <= max_attributes and _plain_and_short(context, max_value_length):
        return _PLAIN_JSON(context)
    bounded: dict[str, Any] = {}
    for key, value in context.items():
        if len(bounded) >= max_attributes:
            break
        bounded[truncate(key, 128)] = bounded_value(value, max_value_length)
    return json.dumps(bounded, ensure_ascii=False, default=_json_default)


def _plain_and_short(context: dict[str, AttrValue], limit: int) -> bool:
    """Nothing to bound: short string keys, short strings and finite numbers only (the usual span)."""
    for key, value in context.items():
        if len(key) > 128 or "\x00" in key:
            return False
        if isinstance(value, str):
            if len(value) > limit or "\x00" in value:
                return False
        elif isinstance(value, float):
            if value != value or value in (_INF, -_INF):
                return False
        elif value is not None and not isinstance(value, int):  # int covers bool
            return False
    return True


def _plain_json_encoder() -> Callable[[dict[str, AttrValue]], str]:
    """`json.dumps(x, ensure_ascii=False)` for what `_plain_and_short` admits: the same text from one C encoder
    made once (`JSONEncoder.encode` makes a new one, through two Python frames, at every call). No circular-reference
    markers and no `default`: flat dicts of str/number/bool/None."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False).encode
    encode = make(None, None, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)

    def plain_json(context: dict[str, AttrValue]) -> str:
        return "".join(encode(context, 0))

    return plain_json


_PLAIN_JSON = _plain_json_encoder()


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
