"""Classification rules: category, source and severity of an occurrence (docs/classification.md).

Rules first, attributes override: `error.category`, `error.source` and `error.severity` on the span or log record
replace whatever the rules would say.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import IntEnum

from ._otlp import AttrValue, to_int


class Severity(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Category(IntEnum):
    API = 1
    TIMEOUT = 2
    VALIDATION = 3
    AUTH = 4
    SYSTEM = 5
    UNKNOWN = 6

    @property
    def label(self) -> str:
        return self.name.lower()


class Source(IntEnum):
    AGENT = 1
    API = 2
    DATABASE = 3
    INTEGRATION = 4
    SYSTEM = 5

    @property
    def label(self) -> str:
        return self.name.lower()


SEVERITY_BY_LABEL = {s.label: s for s in Severity}
CATEGORY_BY_LABEL = {c.label: c for c in Category}
SOURCE_BY_LABEL = {s.label: s for s in Source}

# Ordered: the first pattern that matches the exception type (or `error.type`) decides the category.
_TYPE_CATEGORY_RULES: tuple[tuple[Category, re.Pattern[str]], ...] = (
    (Category.TIMEOUT, re.compile(r"timeout|timedout|deadline", re.I)),
    (
        Category.AUTH,
        # `token` then `expired` within 64 characters: unbounded, each `token` would read the rest of the text.
        re.compile(r"auth|permission|forbidden|unauthori[sz]ed|credential|accessdenied|token.{0,64}?expired", re.I),
    ),
    (
        Category.API,
        re.compile(r"api|http|ratelimit|rate_limit|connection|request|response|grpc|rpc|unavailable|server", re.I),
    ),
    (
        Category.VALIDATION,
        re.compile(
            r"valu|type|key|index|attribute|invalid|validat|schema|pars|decode|format|notfound|not_found|"
            r"argument|assert|illegal|contextlength|context_length",
            re.I,
        ),
    ),
    (
        Category.SYSTEM,
        re.compile(
            r"memory|oserror|ioerror|system|runtime|recursion|overflow|segfault|panic|"
            r"nullpointer|zerodivision|os\.|disk|process",
            re.I,
        ),
    ),
)

# gRPC status codes (rpc.grpc.status_code) that say what went wrong.
_GRPC_CATEGORY = {
    4: Category.TIMEOUT,  # DEADLINE_EXCEEDED
    16: Category.AUTH,  # UNAUTHENTICATED
    7: Category.AUTH,  # PERMISSION_DENIED
    3: Category.VALIDATION,  # INVALID_ARGUMENT
    5: Category.VALIDATION,  # NOT_FOUND
    9: Category.VALIDATION,  # FAILED_PRECONDITION
    11: Category.VALIDATION,  # OUT_OF_RANGE
    8: Category.API,  # RESOURCE_EXHAUSTED
    14: Category.API,  # UNAVAILABLE
    13: Category.API,  # INTERNAL
    2: Category.API,  # UNKNOWN
}

_FATAL_TYPES = re.compile(
    r"memoryerror|outofmemory|stackoverflow|segmentation|sigsegv|sigabrt|fatal|panic|systemexit|"
    r"keyboardinterrupt|crash",
    re.I,
)


def http_status_category(status: int) -> Category | None:
    if status in (401, 403):
        return Category.AUTH
    if status in (408, 504):
        return Category.TIMEOUT
    if 400 <= status < 500:
        return Category.VALIDATION if status != 429 else Category.API
    if 500 <= status < 600:
        return Category.API
    return None


_CATEGORY_KEYS = (
    "error.category",
    "http.response.status_code",
    "http.status_code",
    "rpc.grpc.status_code",
    "error.type",
)
_category_memo: dict[tuple[object, ...], Category] = {}


def category(exception_type: str, attrs: Mapping[str, AttrValue]) -> Category:
    """Memoized on the few inputs the rules read (types and status codes repeat; the rules are regexes)."""
    key = (exception_type, *(attrs.get(k) for k in _CATEGORY_KEYS))
    try:
        found = _category_memo.get(key)
    except TypeError:  # an unhashable attribute value (array/kvlist): decide without the memo
        return _category(exception_type, attrs)
    if found is None:
        if len(_category_memo) >= 4096:
            _category_memo.clear()
        found = _category_memo[key] = _category(exception_type, attrs)
    return found


def _category(exception_type: str, attrs: Mapping[str, AttrValue]) -> Category:
    override = attrs.get("error.category")
    if isinstance(override, str) and override.lower() in CATEGORY_BY_LABEL:
        return CATEGORY_BY_LABEL[override.lower()]
    status = to_int(attrs.get("http.response.status_code", attrs.get("http.status_code")))
    if status is not None and (by_status := http_status_category(status)) is not None:
        return by_status
    grpc = to_int(attrs.get("rpc.grpc.status_code"))
    if grpc is not None and grpc in _GRPC_CATEGORY:
        return _GRPC_CATEGORY[grpc]
    error_type = attrs.get("error.type")
    for candidate in (exception_type, error_type if isinstance(error_type, str) else ""):
        if not candidate:
            continue
        for cat, pattern in _TYPE_CATEGORY_RULES:
            if pattern.search(candidate):
                return cat
    return Category.UNKNOWN


def source(attrs: Mapping[str, AttrValue]) -> Source:
    """Where in the agent the error arose, from the span's (or log's) attribute namespaces."""
    override = attrs.get("error.source")
    if isinstance(override, str) and override.lower() in SOURCE_BY_LABEL:
        return SOURCE_BY_LABEL[override.lower()]
    has_http = has_rpc = has_integration = False
    for key in attrs:
        if key.startswith("gen_ai."):
            return Source.AGENT
        if key.startswith("db."):
            return Source.DATABASE
        if key.startswith(("http.", "url.")):
            has_http = True
        elif key.startswith("rpc."):
            has_rpc = True
        elif key.startswith(("messaging.", "faas.", "peer.service", "cloud.")):
            has_integration = True
    if has_integration:
        return Source.INTEGRATION
    if has_http or has_rpc:
        return Source.API
    return Source.SYSTEM


def severity(
    exception_type: str,
    attrs: Mapping[str, AttrValue],
    *,
    escaped_span: bool,
    escaped_execution: bool,
    log_severity_number: int | None = None,
) -> Severity:
    """Documented in docs/classification.md: attribute, fatal kinds, log level, then how far it escaped."""
    override = attrs.get("error.severity")
    if isinstance(override, str) and override.lower() in SEVERITY_BY_LABEL:
        return SEVERITY_BY_LABEL[override.lower()]
    if _is_fatal(exception_type):
        return Severity.CRITICAL
    if log_severity_number is not None and log_severity_number > 0:
        if log_severity_number >= 21:  # FATAL..FATAL4
            return Severity.CRITICAL
        if log_severity_number >= 17:  # ERROR..ERROR4
            return Severity.HIGH if escaped_execution else Severity.MEDIUM
        if log_severity_number >= 13:  # WARN
            return Severity.LOW
        return Severity.LOW
    if escaped_execution:
        return Severity.HIGH
    if escaped_span:
        return Severity.MEDIUM
    return Severity.LOW


_fatal_memo: dict[str, bool] = {}


def _is_fatal(exception_type: str) -> bool:
    """Memoized: types repeat, and the pattern is a case-insensitive alternation (a slow scan)."""
    found = _fatal_memo.get(exception_type)
    if found is None:
        if len(_fatal_memo) >= 4096:
            _fatal_memo.clear()
        found = _fatal_memo[exception_type] = _FATAL_TYPES.search(exception_type) is not None
    return found
