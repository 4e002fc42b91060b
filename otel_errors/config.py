"""Typed configuration of the processor (the pure core). Complete defaults; validated on construction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .grouping import CONFIGS, DEFAULT_CONFIG, GroupingConfig
from .scrub import ScrubConfig

# A workspace id, whole: `fullmatch`, never `match` with `$` (which also matches before a trailing newline).
_WORKSPACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# The same rule for OpenAPI and pydantic, whose regex engine reads `$` as the end of the text only.
WORKSPACE_ID_REGEX = "^" + _WORKSPACE_ID.pattern + "$"


def is_workspace_id(value: object) -> bool:
    return isinstance(value, str) and _WORKSPACE_ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class WorkspaceRules:
    """What can differ per workspace: grouping (in-app prefixes) and PII scrubbing."""

    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    scrub: ScrubConfig = field(default_factory=ScrubConfig)
    # During a grouping upgrade: the algorithm the workspace used before, computed beside the new one so that
    # existing issues keep their occurrences (docs/grouping.md, "Upgrades").
    previous_grouping: GroupingConfig | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkspaceRules:
        """From a workspace's stored settings: {"scrub": {...}, "grouping": {"in_app_include": [...], ...}}.
        Raises ValueError with a message naming the bad key."""
        unknown = set(data) - {"scrub", "grouping"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}; expected scrub, grouping")
        grouping = data.get("grouping") or {}
        if not isinstance(grouping, Mapping):
            raise ValueError("grouping must be an object")
        unknown = set(grouping) - {"in_app_include", "in_app_exclude", "config_id", "previous_config_id"}
        if unknown:
            raise ValueError(f"unknown grouping settings: {', '.join(sorted(unknown))}")
        prefixes = {}
        for key in ("in_app_include", "in_app_exclude"):
            value = grouping.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or len(value) > 100:
                raise ValueError(f"grouping.{key} must be a list of at most 100 non-empty strings")
            prefixes[key] = tuple(value)
        ids = {}
        for key, default in (("config_id", DEFAULT_CONFIG.config_id), ("previous_config_id", "")):
            value = grouping.get(key, default)
            if not isinstance(value, str) or (value and value not in CONFIGS):
                raise ValueError(f"grouping.{key} must be one of {', '.join(sorted(CONFIGS))}")
            ids[key] = value
        scrub = data.get("scrub") or {}
        if not isinstance(scrub, Mapping):
            raise ValueError("scrub must be an object")

        def config(config_id: str) -> GroupingConfig:
            return replace(
                CONFIGS[config_id], in_app_include=prefixes["in_app_include"], in_app_exclude=prefixes["in_app_exclude"]
            )

        previous = ids["previous_config_id"]
        return cls(
            grouping=config(ids["config_id"]),
            scrub=ScrubConfig.from_dict(scrub),
            previous_grouping=config(previous) if previous and previous != ids["config_id"] else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "scrub": self.scrub.to_dict(),
            "grouping": {
                "config_id": self.grouping.config_id,
                "previous_config_id": self.previous_grouping.config_id if self.previous_grouping else "",
                "in_app_include": list(self.grouping.in_app_include),
                "in_app_exclude": list(self.grouping.in_app_exclude),
            },
        }


@dataclass(frozen=True, slots=True)
class ProcessorConfig:
    default_workspace: str = "default"
    # Numeric span/resource attribute summed over failed executions as "credits lost".
    credits_attribute: str = "credits.used"
    # Size limits: longer values are cut and end with TRUNCATION_MARKER (README, "Limits").
    max_type_length: int = 256
    max_message_length: int = 8 * 1024
    max_stacktrace_length: int = 64 * 1024
    max_attribute_value_length: int = 1024
    max_attributes: int = 64
    max_id_length: int = 256
    # The accepted window of occurrence times: at most this far in the future, at most max_age old. A record's own
    # time outside it falls back on the other times of the record (span end or start, log observed time); with none
    # inside, the record is refused (partial_success), since a time chosen at receipt would differ on every retry.
    max_clock_skew_seconds: int = 3600
    max_age_seconds: int = 90 * 86400
    # Short-lived per-trace state for propagation and enrichment: traces remembered, spans per trace, and an
    # estimate of its bytes (the least recently used traces go first).
    trace_state_traces: int = 20_000
    trace_state_spans_per_trace: int = 256
    trace_state_max_bytes: int = 64 * 1024 * 1024
    # Store user ids as a keyed hash (docs/pii.md); the key keeps them from being guessed by hashing candidates.
    hash_user_ids: bool = False
    user_id_hash_key: str = ""

    def __post_init__(self) -> None:
        if not is_workspace_id(self.default_workspace):
            raise ValueError(f"default_workspace {self.default_workspace!r} must match {WORKSPACE_ID_REGEX}")
        if not self.credits_attribute:
            raise ValueError("credits_attribute must not be empty")
        for name in (
            "max_type_length",
            "max_message_length",
            "max_stacktrace_length",
            "max_attribute_value_length",
            "max_attributes",
            "max_id_length",
            "trace_state_traces",
            "trace_state_spans_per_trace",
            "trace_state_max_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_clock_skew_seconds < 0 or self.max_age_seconds < 60:
            raise ValueError("max_clock_skew_seconds must be >= 0 and max_age_seconds >= 60")
