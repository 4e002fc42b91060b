"""Grouping: from an exception (type, message, stack trace text, attributes) to a fingerprint that names its issue.

See docs/grouping.md for the algorithm and its measured quality.
"""

from ._compute import compute_grouping
from ._configs import CONFIGS, DEFAULT_CONFIG
from ._details import details_json
from ._message import MESSAGE_PATTERNS, parametrize_message
from ._model import ChainLink, Component, ExceptionInput, Frame, GroupingConfig, GroupingResult, ParsedTrace
from ._normalize import normalize_type
from ._parsers import parse_stacktrace

__all__ = [
    "CONFIGS",
    "DEFAULT_CONFIG",
    "MESSAGE_PATTERNS",
    "ChainLink",
    "Component",
    "ExceptionInput",
    "Frame",
    "GroupingConfig",
    "GroupingResult",
    "ParsedTrace",
    "compute_grouping",
    "details_json",
    "normalize_type",
    "parametrize_message",
    "parse_stacktrace",
]
