"""Reading OTLP protobuf messages: attribute values and ids, without building objects for what we skip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

AttrValue: TypeAlias = str | bool | int | float | bytes | list[Any] | dict[str, Any] | None

# Bounds so one absurd attribute cannot blow up memory or the stored row (limits are documented in the README).
MAX_ARRAY_ITEMS = 64
MAX_NESTING = 4
_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value", "bytes_value"})


def any_value(value: Any, depth: int = 0) -> AttrValue:
    """Convert an OTLP `AnyValue` to a plain Python value (bounded in depth and size)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "string_value":
        return str(value.string_value)
    if kind == "int_value":
        return int(value.int_value)
    if kind == "double_value":
        return float(value.double_value)
    if kind == "bool_value":
        return bool(value.bool_value)
    if kind == "bytes_value":
        return bytes(value.bytes_value)
    if depth >= MAX_NESTING:
        return None
    if kind == "array_value":
        return [any_value(v, depth + 1) for v in value.array_value.values[:MAX_ARRAY_ITEMS]]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value, depth + 1) for kv in value.kvlist_value.values[:MAX_ARRAY_ITEMS]}
    return None


def attributes(key_values: Iterable[Any]) -> dict[str, AttrValue]:
    """All attributes as a dict (a repeated key: the last value wins, at the first one's position)."""
    out: dict[str, AttrValue] = {}
    for kv in key_values:
        # Hot path: scalars inline (protobuf already hands out exact str/int/float/bool/bytes objects), and a
        # non-empty string is known to be the value set without asking which one is.
        value = kv.value
        text = value.string_value
        if text:
            out[kv.key] = text
            continue
        kind = value.WhichOneof("value")
        out[kv.key] = getattr(value, kind) if kind in _SCALARS else any_value(value)
    return out


def selected_attributes(key_values: Iterable[Any], keys: frozenset[str]) -> dict[str, AttrValue]:
    """`attributes(key_values)` restricted to `keys`: only their values are converted."""
    out: dict[str, AttrValue] = {}
    for kv in key_values:
        key = kv.key
        if key in keys:
            value = kv.value  # the same conversion as `attributes`, with its string shortcut
            text = value.string_value
            if text:
                out[key] = text
                continue
            kind = value.WhichOneof("value")
            out[key] = getattr(value, kind) if kind in _SCALARS else any_value(value)
    return out


def first_str(keys: tuple[str, ...], *sources: Mapping[str, AttrValue]) -> str:
    """First non-empty value of `keys`, looked up source by source (span attributes, then resource)."""
    for source in sources:
        for key in keys:
            value = source.get(key)
            if value is not None and value != "":
                return value if isinstance(value, str) else str(value)
    return ""


def first_number(keys: tuple[str, ...], *sources: Mapping[str, AttrValue]) -> float:
    for source in sources:
        for key in keys:
            value = source.get(key)
            if isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    continue
    return 0.0


def to_int(value: AttrValue) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
