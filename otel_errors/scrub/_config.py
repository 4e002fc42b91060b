"""Per-workspace scrubbing settings: a frozen, validated value object with JSON round-tripping."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ._extras import ExtraPattern
from ._keys import DEFAULT_SENSITIVE_KEYS
from ._labels import BUILTIN_LABELS

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Names the built-in rules already print; an extra pattern reusing one would make labels ambiguous.
_RESERVED = frozenset(BUILTIN_LABELS)


@dataclass(frozen=True, slots=True)
class ScrubConfig:
    """What to scrub. Every field has a safe default, so `ScrubConfig()` scrubs everything it knows.

    enabled:          master switch; False stores data untouched.
    scrub_ips:        replace IPv4/IPv6 addresses with `[ip]` (False keeps them, e.g. for abuse investigation).
    extra_patterns:   (name, regex) pairs run after the built-in rules; a match becomes `[name]`. Run by RE2
                      (linear time): a regex RE2 cannot run (backreferences, look-around) is rejected.
    allow_keys:       attribute keys (case-insensitive, exact) whose values are never touched.
    sensitive_keys:   terms that make a key sensitive (see `_keys.py`); its value becomes `[redacted]`.
                      Replaces the defaults: extend with `DEFAULT_SENSITIVE_KEYS + ("pin",)`.
    max_value_length: when set, longer strings are cut to this many characters after scrubbing.
    """

    enabled: bool = True
    scrub_ips: bool = True
    extra_patterns: tuple[tuple[str, str], ...] = ()
    allow_keys: tuple[str, ...] = ()
    sensitive_keys: tuple[str, ...] = DEFAULT_SENSITIVE_KEYS
    max_value_length: int | None = None

    def __post_init__(self) -> None:
        for name in ("enabled", "scrub_ips"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"ScrubConfig.{name} must be a bool, got {getattr(self, name)!r}")
        # Accept lists (JSON) but store tuples so the config stays hashable and immutable.
        object.__setattr__(self, "allow_keys", _strings("allow_keys", self.allow_keys, allow_empty=True))
        object.__setattr__(self, "sensitive_keys", _strings("sensitive_keys", self.sensitive_keys))
        object.__setattr__(self, "extra_patterns", _patterns(self.extra_patterns))
        limit = self.max_value_length
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 16):
            raise ValueError(f"ScrubConfig.max_value_length must be None or an int >= 16, got {limit!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScrubConfig:
        """Build from per-workspace JSON settings; missing keys take defaults, unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise ValueError(f"scrub settings must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise ValueError(f"unknown scrub setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        patterns = values.get("extra_patterns")
        if isinstance(patterns, Mapping):  # {"name": "regex"} is the natural JSON spelling
            values["extra_patterns"] = tuple(patterns.items())
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; `from_dict(to_dict())` gives an equal config."""
        return {
            "enabled": self.enabled,
            "scrub_ips": self.scrub_ips,
            "extra_patterns": [list(p) for p in self.extra_patterns],
            "allow_keys": list(self.allow_keys),
            "sensitive_keys": list(self.sensitive_keys),
            "max_value_length": self.max_value_length,
        }


def _strings(field: str, value: object, *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        raise ValueError(f"ScrubConfig.{field} must be a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"ScrubConfig.{field} entries must be non-empty strings, got {item!r}")
        if field == "sensitive_keys" and not any(ch.isalnum() for ch in item):
            raise ValueError(f"ScrubConfig.sensitive_keys entry {item!r} has no letters or digits")
    if not value and not allow_empty:
        raise ValueError(f"ScrubConfig.{field} must not be empty")
    return tuple(value)


def _patterns(value: object) -> tuple[tuple[str, str], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        raise ValueError(f"ScrubConfig.extra_patterns must be a list of [name, regex] pairs, got {value!r}")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for pair in value:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(isinstance(x, str) for x in pair):
            raise ValueError(f"ScrubConfig.extra_patterns entries must be [name, regex] string pairs, got {pair!r}")
        name, regex = pair
        if not _NAME.fullmatch(name):
            raise ValueError(f"extra pattern name {name!r} must match [a-z][a-z0-9_]* (it is printed as [{name}])")
        if name in _RESERVED or name in seen:
            raise ValueError(f"extra pattern name {name!r} is reserved or duplicated")
        try:
            compiled = ExtraPattern(regex)
        except ValueError as exc:
            raise ValueError(
                f"extra pattern {name!r} is not a valid regex for RE2 ({exc}); RE2 runs in linear time and has "
                "no backreferences, look-around or possessive quantifiers"
            ) from None
        if compiled.search(""):
            # A pattern matching the empty string would insert [name] between every character.
            raise ValueError(f"extra pattern {name!r} matches the empty string")
        if compiled.search(f"[{name}]"):
            # Scrubbing twice would then wrap the label again: [[name]] - the output must be a fixed point.
            raise ValueError(f"extra pattern {name!r} matches its own replacement [{name}]")
        seen.add(name)
        out.append((name, regex))
    return tuple(out)
