"""compute_grouping: the fingerprint, title, culprit and explanation of one exception.

Order of precedence: an `error.fingerprint` attribute; else the chain's types and the root cause's contributing
frames (plus the failure kind when the type is a generic API error: the "shared call site" rule); else the type
and the parametrized message; else the normalized text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ._configs import CONFIGS, DEFAULT_CONFIG
from ._message import parametrize_message
from ._model import Component, ExceptionInput, GroupingConfig, GroupingResult
from ._normalize import normalize_type
from ._seed import seed_fingerprint
from ._stack import MEMO_MAX_CHARS, StackAnalysis, analyze_stack_parts

_HEX32 = re.compile(r"[0-9a-f]{32}")
_TITLE_LENGTH = 120
_KIND_LENGTH = 100

# Types that say "a call failed" without saying how: the same call site raises them for rate limits, auth
# failures, context-length errors and outages, so their frames alone would merge unrelated failures.
_GENERIC_TYPE = re.compile(
    r"(?:API|Api|HTTP|Http|Client|Service|Request|Response|Server|Provider|LLM|Llm|Model|Completion|Tool|Agent"
    r"|Web|Status|APIStatus|ApiStatus|HTTPStatus|HttpStatus|Upstream|Remote|Transport|BadRequest|Runtime)?"
    r"(?:Error|Exception|Failure|Throwable)|panic"
)


def compute_grouping(exc: ExceptionInput, config: GroupingConfig = DEFAULT_CONFIG) -> GroupingResult:
    """Group one exception under `config` (any registered config id). Pure and never raises."""
    try:
        return _compute(exc, config)
    except Exception:  # noqa: BLE001 - grouping must never drop an error: fall back to the text
        return _fallback(exc, config)


def _md5(parts: list[str]) -> str:
    return hashlib.md5("\x1f".join(parts).encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def _compute(exc: ExceptionInput, config: GroupingConfig) -> GroupingResult:
    if config.config_id not in CONFIGS:
        config = DEFAULT_CONFIG
    exc_type, message, stacktrace = str(exc.type or ""), str(exc.message or ""), str(exc.stacktrace or "")
    attributes = exc.attributes
    if type(attributes) is not dict and not isinstance(attributes, Mapping):  # `type` first: the common case
        attributes = {}
    stack, filled = analyze_stack_parts(
        stacktrace, message, config.in_app_include, config.in_app_exclude, config.max_frames
    )
    # `stack` with its root cause's message replaced by `filled` is the trace's analysis (see _stack).
    stack_message = stack.root_message if filled is None else filled
    # The reported message is the outermost exception's; for a chain the root cause's message is in the text.
    chained = len(stack.chain_types) > 1
    title_line = _first_line(message or (stack_message if not chained else ""))
    # Not chained and a message: the same expression as the title's (its first line), computed once.
    root_line = (
        title_line if message and not chained else _first_line((stack_message if chained else message) or stack_message)
    )
    # Parametrized once: the title shows the first _TITLE_LENGTH characters of what the fingerprint reads.
    root_message = parametrize_message(root_line)
    if title_line == root_line and len(root_line) <= 2 * _TITLE_LENGTH:
        title_text = root_message[:_TITLE_LENGTH].strip()
    else:
        title_text = parametrize_message(title_line, _TITLE_LENGTH)

    # From here on the result depends on nothing else than this key: memoized (see _RESULTS).
    override = attributes.get("error.fingerprint")
    memo_key: tuple[Any, ...] | None = None
    if override in (None, "") and config.config_id != "v0" and len(stacktrace) <= MEMO_MAX_CHARS:
        error_type = attributes.get("error.type")
        status = attributes.get("http.response.status_code", attributes.get("http.status_code"))
        memo_key = (
            id(config),
            id(stack),
            exc_type,
            title_text,
            root_message,
            _value_key(error_type),
            _value_key(status),
        )
        hit = _RESULTS.get(memo_key)
        if hit is not None and hit[0] is config and hit[1] is stack:
            return hit[2]
    result = _derive(config, exc_type, stacktrace, attributes, stack, title_text, root_message)
    if result is None:  # it reads the whole text: not memoized
        return _fallback(exc, config)
    if memo_key is not None:
        if len(_RESULTS) >= _RESULTS_SIZE:
            try:
                del _RESULTS[next(iter(_RESULTS))]  # oldest first: insertion order
            except (KeyError, RuntimeError, StopIteration):  # another thread got there first
                pass
        # The entry holds `config` and `stack`, so their ids in the key cannot be reused while it lives.
        _RESULTS[memo_key] = (config, stack, result)
    return result


# Results of `_derive` by (config, stack analysis, type, parametrized title and root message, and the attributes
# `_failure_kind` reads). Occurrences of one bug differ in ids that parametrization removes, so they hit. Only
# for memoized stack analyses (the key names them by identity), at most _RESULTS_SIZE entries, oldest out first;
# each entry keeps its stack analysis alive, hence a bound below the stack memo's.
_RESULTS: dict[tuple[Any, ...], tuple[GroupingConfig, StackAnalysis, GroupingResult]] = {}
_RESULTS_SIZE = 2048


def _value_key(value: Any) -> Any:
    """An attribute value as `_failure_kind` sees it: None, a str, else only its type and text (`1`, `1.0` and
    `True` are equal dict keys but print differently)."""
    if value is None or type(value) is str:
        return value
    return (type(value), str(value))


def clear_memo() -> None:
    _RESULTS.clear()


def _derive(
    config: GroupingConfig,
    exc_type: str,
    stacktrace: str,
    attributes: Mapping[str, Any],
    stack: StackAnalysis,
    title_text: str,
    root_message: str,
) -> GroupingResult | None:
    """The result for a stack analysis and parametrized messages; None: group on the text (`_fallback`)."""
    outer_type = normalize_type(exc_type) or (stack.chain_types[0] if stack.chain_types else "")
    chain_types = _chain_types(outer_type, stack)
    title = _title_of(outer_type, title_text)
    base = GroupingResult(
        fingerprint="",
        config_id=config.config_id,
        title=title,
        culprit=stack.culprit,
        frames=stack.frames,
        chain_types=chain_types,
    )

    override = attributes.get("error.fingerprint")
    if override not in (None, ""):
        text = str(override).strip().lower()
        fingerprint = text if _HEX32.fullmatch(text) else _md5([str(override)])
        return replace(
            base,
            fingerprint=fingerprint,
            component=Component(
                "override", True, "error.fingerprint attribute replaces the computed fingerprint", (str(override),)
            ),
        )

    if config.config_id == "v0":
        fingerprint = seed_fingerprint(exc_type, stacktrace)
        return replace(
            base,
            fingerprint=fingerprint,
            component=Component("seed", True, "type + first 500 characters of the trace, digits replaced", (exc_type,)),
        )

    type_component = Component("type", bool(chain_types), "" if chain_types else "no type", chain_types)
    if stack.keys:
        parts = ["frames", *chain_types, "|", *stack.keys]
        children = [type_component, stack.component]
        root_type = chain_types[-1] if chain_types else ""
        if _GENERIC_TYPE.fullmatch(root_type or "Error"):
            kind, source = _failure_kind(attributes, root_type, root_message)
            parts += ["kind", kind]
            children.append(Component("kind", True, f"generic type at a shared call site: {source}", (kind,)))
        else:
            children.append(Component("message", False, "ignored: frames identify the error", (root_message,)))
        return replace(base, fingerprint=_md5(parts), component=Component("v1", True, "", tuple(children)))

    if root_message:
        parts = ["message", *chain_types, "|", root_message]
        message_component = Component(
            "message", bool(root_message), "" if root_message else "no message", (root_message,)
        )
        return replace(
            base,
            fingerprint=_md5(parts),
            component=Component("v1", True, "", (type_component, stack.component, message_component)),
        )
    return None


def _chain_types(outer_type: str, stack: StackAnalysis) -> tuple[str, ...]:
    """The chain's types outermost first; the reported type names the outermost when the text lacks it."""
    types = stack.chain_types
    if not types:
        return (outer_type,) if outer_type else ()
    if outer_type and types[0] != outer_type:
        return (outer_type, *types[1:]) if len(types) > 1 else (outer_type,)
    return types


def _failure_kind(attributes: Mapping[str, Any], exc_type: str, message: str) -> tuple[str, str]:
    """The low-cardinality kind of a failure: error.type, else the HTTP status (5xx as a class), else the message."""
    error_type = attributes.get("error.type")
    if error_type not in (None, "") and normalize_type(str(error_type)) != exc_type:
        return "error.type=" + str(error_type)[:_KIND_LENGTH], "error.type attribute"
    status = attributes.get("http.response.status_code", attributes.get("http.status_code"))
    if status not in (None, ""):
        code = str(status).strip()
        if code.isdigit():
            return ("status=5xx" if code.startswith("5") else "status=" + code), "http.response.status_code"
    return "message=" + message[:_KIND_LENGTH], "parametrized message"


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].strip()


def _title_of(exc_type: str, text: str) -> str:
    title = f"{exc_type}: {text}" if exc_type and text else exc_type or text or "<unknown error>"
    return title[:_TITLE_LENGTH]


def _fallback(exc: ExceptionInput, config: GroupingConfig) -> GroupingResult:
    """No type, frames or message survived: group on the normalized text itself."""
    try:
        text = parametrize_message(str(exc.stacktrace or exc.message or "")[:2000], 500)
        exc_type = normalize_type(str(exc.type or ""))
    except Exception:  # noqa: BLE001 - the fallback itself must not raise
        text, exc_type = "", ""
    return GroupingResult(
        fingerprint=_md5(["fallback", exc_type, text]),
        config_id=config.config_id if config.config_id in CONFIGS else DEFAULT_CONFIG.config_id,
        title=(f"{exc_type}: {text}" if exc_type else text or "<unknown error>")[:_TITLE_LENGTH],
        culprit="",
        component=Component("fallback", True, "no frames, type or message: normalized text", (text[:200],)),
    )
