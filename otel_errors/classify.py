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
        re.compile(
            r"auth|permission|forbidden|unauthori[sz]ed|credential|accessdenied|token.{0,64}?expired|expiredtoken|"
            r"expiredsignature|invalidtoken|privilege|password",
            re.I,
        ),
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

# A type that says only that a call failed (api) or nothing (unknown) is refined by its message: client libraries
# raise one class for every status (httpx `HTTPStatusError`, requests and urllib `HTTPError`, aiohttp
# `ClientResponseError`, grpc `RpcError`, botocore `ClientError`, Azure `HttpResponseError`, Kubernetes
# `ApiException`, `SlackApiError`) and say in the message that authentication or authorization failed.
_REFINED_BY_MESSAGE = frozenset({Category.API, Category.UNKNOWN})
MESSAGE_READ = 512  # characters of the message the rules read (lower-cased): the libraries say it up front

# Ordered (anchors, pattern): a pattern is searched only when one of its anchors is in the lower-cased message, so
# a message that names no auth failure costs a few substring scans. Each pattern is literal alternatives with
# bounded repetition: linear in the bounded text.
_AUTH_MESSAGE_RULES: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    # httpx "Client error '401 Unauthorized' for url", requests "403 Client Error: Forbidden for url", urllib
    # "HTTP Error 401: Unauthorized", OpenAI/Anthropic "Error code: 401 - {...}", "status code 403"
    (
        ("401", "403"),
        re.compile(
            r"\b40[13] (?:unauthori[sz]ed|forbidden|client error)\b|"
            r"\b(?:http(?: error| status(?: code)?)?|status(?:[ _]code)?|error[ _]code)[ :=]{0,3}40[13]\b"
        ),
    ),
    # aiohttp "401, message='Unauthorized'", gRPC "StatusCode.UNAUTHENTICATED", AWS "(UnauthorizedOperation)",
    # "(AuthFailure)", "(NotAuthorized)", Azure "(AuthenticationFailed)", "(AuthorizationFailed)",
    # "(InvalidAuthenticationToken)", Slack "invalid_auth", "not_authed", Anthropic "authentication_error"
    (
        ("auth",),
        re.compile(
            r"\bunauthori[sz]ed|\bunauthenticated|\bnot_?authed|\bnotauthori[sz]ed|\binvalid_?auth|\bauthfailure|"
            r"\bauthentication[ _]?(?:failed|required|error)|\bauthori[sz]ation[ _]?failed|"
            r"\b(?:missing|invalid)authenticationtoken"
        ),
    ),
    # gRPC "StatusCode.PERMISSION_DENIED", Google APIs "PERMISSION_DENIED", AWS "(AccessDenied)",
    # "(AccessDeniedException)", "Permission denied"
    (("denied",), re.compile(r"\bpermission[ _]denied|\baccess[ _]?denied")),
    # Azure "Operation returned an invalid status 'Forbidden'", aiohttp "message='Forbidden'", Kubernetes
    # "(403) Reason: Forbidden"
    (("forbidden",), re.compile(r"['\"]forbidden['\"]|\breason: forbidden\b")),
    # AWS "(InvalidClientTokenId)", "(ExpiredToken)", "(UnrecognizedClientException)", "(InvalidAccessKeyId)",
    # "(SignatureDoesNotMatch)"; Slack "token_revoked", "token_expired"; OAuth "invalid_token", "invalid_grant",
    # "invalid_client"
    (
        (
            "tokenid",
            "expiredtoken",
            "token_",
            "unrecognizedclient",
            "accesskeyid",
            "signaturedoesnot",
            "invalid_token",
            "invalid_grant",
            "invalid_client",
        ),
        re.compile(
            r"\binvalidclienttokenid|\bexpiredtoken|\btoken_(?:revoked|expired)\b|\binvalid_(?:token|grant|client)\b|"
            r"\bunrecognizedclient|\binvalidaccesskeyid|\bsignaturedoesnotmatch"
        ),
    ),
    # PyJWT "Signature has expired", jsonwebtoken "jwt expired", "token has expired", "expired access token"
    (
        ("expired",),
        re.compile(
            r"\b(?:token|jwt|signature|credentials?) (?:has )?expired\b|"
            r"\bexpired (?:access |bearer |auth )?(?:token|credentials?)\b"
        ),
    ),
    (
        ("access token", "bearer token", "auth token", "api token", "refresh token", "id token"),
        re.compile(r"\binvalid (?:access|bearer|api|auth|refresh|id) token\b"),
    ),
    # OpenAI "Incorrect API key provided", Anthropic "invalid x-api-key", Stripe "Invalid API Key provided"
    (("api key", "api_key", "api-key", "apikey"), re.compile(r"\b(?:incorrect|invalid)[ _-](?:x-)?api[ _-]?key")),
    (("credential",), re.compile(r"\b(?:invalid|bad|incorrect|missing) credentials?\b")),
    (("jwt",), re.compile(r"\bjwt malformed\b")),
)


def names_auth_failure(message: str) -> bool:
    """The message says that authentication or authorization failed, in the words of a client library."""
    text = message[:MESSAGE_READ].lower()
    for anchors, pattern in _AUTH_MESSAGE_RULES:
        if any(anchor in text for anchor in anchors) and pattern.search(text) is not None:
            return True
    return False


# gRPC status codes that say what went wrong: numbers (`rpc.grpc.status_code`), or names (`rpc.response.status_code`
# of the newer RPC conventions, and `error.type`).
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
_GRPC_STATUS_BY_NAME = {
    "DEADLINE_EXCEEDED": 4,
    "UNAUTHENTICATED": 16,
    "PERMISSION_DENIED": 7,
    "INVALID_ARGUMENT": 3,
    "NOT_FOUND": 5,
    "FAILED_PRECONDITION": 9,
    "OUT_OF_RANGE": 11,
    "RESOURCE_EXHAUSTED": 8,
    "UNAVAILABLE": 14,
    "INTERNAL": 13,
    "UNKNOWN": 2,
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
    "rpc.response.status_code",
    "error.type",
)
# (category, whether the message may refine it) per exception type and the attributes the rules read.
_category_memo: dict[tuple[object, ...], tuple[Category, bool]] = {}


def category(exception_type: str, attrs: Mapping[str, AttrValue], *, message: str = "") -> Category:
    """Memoized on the few inputs the rules read but the message (types and status codes repeat; the rules are
    regexes); the message is read only for a type the rules leave at api or unknown."""
    key = (exception_type, *(attrs.get(k) for k in _CATEGORY_KEYS))
    try:
        found = _category_memo.get(key)
    except TypeError:  # an unhashable attribute value (array/kvlist): decide without the memo
        found = _category(exception_type, attrs)
    else:
        if found is None:
            if len(_category_memo) >= 4096:
                _category_memo.clear()
            found = _category_memo[key] = _category(exception_type, attrs)
    decided, refine = found
    if refine and message and names_auth_failure(message):
        return Category.AUTH
    return decided


def _grpc_status(value: AttrValue | None) -> int | None:
    """A gRPC status code given as its number or its name."""
    if isinstance(value, str) and value in _GRPC_STATUS_BY_NAME:
        return _GRPC_STATUS_BY_NAME[value]
    return to_int(value)


def _status_in_error_type(value: AttrValue | None) -> Category | None:
    """`error.type` holding a status code, as the HTTP and RPC conventions set it when a call failed without an
    exception type: an HTTP status (three digits) or a gRPC status name."""
    if not isinstance(value, str):
        return None
    if len(value) == 3 and value.isdigit():
        return http_status_category(int(value))
    grpc = _GRPC_STATUS_BY_NAME.get(value)
    return _GRPC_CATEGORY.get(grpc) if grpc is not None else None


def _category(exception_type: str, attrs: Mapping[str, AttrValue]) -> tuple[Category, bool]:
    """The category by the rules, and whether the message may refine it (docs/classification.md)."""
    override = attrs.get("error.category")
    if isinstance(override, str) and override.lower() in CATEGORY_BY_LABEL:
        return CATEGORY_BY_LABEL[override.lower()], False
    status = to_int(attrs.get("http.response.status_code", attrs.get("http.status_code")))
    if status is not None and (by_status := http_status_category(status)) is not None:
        return by_status, False
    grpc = _grpc_status(attrs.get("rpc.grpc.status_code", attrs.get("rpc.response.status_code")))
    if grpc is not None and grpc in _GRPC_CATEGORY:
        return _GRPC_CATEGORY[grpc], False
    error_type = attrs.get("error.type")
    by_error_type = _status_in_error_type(error_type)
    if by_error_type is not None:
        return by_error_type, False
    for candidate in (exception_type, error_type if isinstance(error_type, str) else ""):
        if not candidate:
            continue
        for cat, pattern in _TYPE_CATEGORY_RULES:
            if pattern.search(candidate):
                return cat, cat in _REFINED_BY_MESSAGE
    return Category.UNKNOWN, True


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
