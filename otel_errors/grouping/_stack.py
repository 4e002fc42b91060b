"""The stack part of a fingerprint: which of the root cause's frames contribute, memoized per trace text.

Identical traces repeat on the ingest path, so parsing and frame selection are cached on the text and the
workspace's in-app settings (bounded memos; `_compute` keeps one more, of results per memoized analysis).

Most traces are *not* identical, though: Python, Java and JavaScript print the exception message inside the
trace, and messages carry ids (`order ord_3f9a... is closed`). `analyze_stack_for` therefore also memoizes on
the trace with the message cut out (a *template*: the message replaced by `_SLOT`), and per occurrence only
puts the message back into the root cause's message. That is exact, not a heuristic, under conditions checked
here: the message is "plain" (no line of it looks like a frame, a chain marker or anything else a parser or the
language detection reacts to), the slot sits once in the template and inside the root cause's message, and on
first sight the template, filled with the real message, gave exactly what parsing the real text gives.
Anything else takes the per-text memo, as before.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from ._inapp import apply_workspace_rules, why_not_in_app
from ._model import Component, Frame, ParsedTrace
from ._native_skip import is_irrelevant_native
from ._normalize import frame_key, normalize_function, normalize_path, normalize_type
from ._parsers import parse_stacktrace

MEMO_SIZE = 4096
_SIGNAL_HANDLER = "<signal handler called>"


@dataclass(frozen=True, slots=True)
class StackAnalysis:
    language: str
    chain_types: tuple[str, ...]  # normalized, outermost first
    root_type: str
    root_message: str
    frames: tuple[Frame, ...]  # the root cause's frames, innermost first, workspace rules applied
    keys: tuple[str, ...]  # the contributing frame keys, innermost first
    component: Component  # the "stacktrace" node of the explanation tree
    culprit: str


# Traces longer than this are analysed every time rather than memoized: the memo's memory stays bounded
# (MEMO_SIZE x 16 KiB) however large the traces hostile or unusual senders make.
MEMO_MAX_CHARS: Final = 16 * 1024


def analyze_stack(
    stacktrace: str, include: tuple[str, ...], exclude: tuple[str, ...], max_frames: int
) -> StackAnalysis:
    if len(stacktrace) > MEMO_MAX_CHARS:
        return _analyze(stacktrace, include, exclude, max_frames)
    return _analyze_memo(stacktrace, include, exclude, max_frames)


def _analyze(stacktrace: str, include: tuple[str, ...], exclude: tuple[str, ...], max_frames: int) -> StackAnalysis:
    return _select(parse_stacktrace(stacktrace), include, exclude, max_frames)


_analyze_memo = lru_cache(maxsize=MEMO_SIZE)(_analyze)


# -- message-free templates ------------------------------------------------------------------------------------

# Stands for the message inside a template. NUL never survives the processor (PostgreSQL text cannot hold it),
# and the spaces, colon, digit and hyphen make it a probe of its own: a template is only kept when both the slot
# and the first real message parse alike.
_SLOT: Final = "\x00otel-errors: message-slot 1\x00"
# The languages whose parsers were checked to treat a plain message line the same whatever its words.
_TEMPLATE_LANGUAGES: Final = frozenset({"python", "java", "javascript"})
# A line of a plain message may contain none of these anywhere ...
_NOT_PLAIN_ANYWHERE: Final = ("\x00", "@", "://", ".rb:")
# ... start with none of these (after indentation and Python's exception-group "| " bars) ...
_NOT_PLAIN_START: Final = (
    "at ",
    "File ",
    "...",
    "Suppressed:",
    "Caused by:",
    "[cause]:",
    "Traceback",
    "During handling",
    "The above exception",
    "goroutine ",
    "#",
    "|",
    "+-",
    "Exception in thread",
)
# ... nor end with this (Node opens an error's properties with " {").
_NOT_PLAIN_END: Final = "{"
# What `str.splitlines` splits on.
_LINE_BREAK: Final = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_BREAK_CHARS: Final = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# The first characters of _NOT_PLAIN_START: a line starting with none of them starts with none of its prefixes.
_START_CHARS: Final = frozenset(prefix[0] for prefix in _NOT_PLAIN_START)
# Python's exception-group bars, stripped before the checks of a line's start and end.
_BARS: Final = "|+-"
_BAR_CHARS: Final = frozenset(_BARS)
# Any of _NOT_PLAIN_ANYWHERE (one search: a generator of `in` tests costs more than the rest of `_plain_breaks`).
_NOT_PLAIN_TOKEN: Final = re.compile("|".join(re.escape(token) for token in _NOT_PLAIN_ANYWHERE))
# Templates by (text before the message, text after it, line breaks in the message, include, exclude, max_frames):
# the pair stands for the template text `before + _SLOT + after` (a trace holds no NUL, so the slot is there once
# and the pair is that text's split at it). The value: the key itself (the index below shares its strings) and the
# template's analysis with the root message's text around the slot (None: the template is not exact).
_TEMPLATES: dict[
    tuple[str, str, int, tuple[str, ...], tuple[str, ...], int],
    tuple[tuple[str, str, int, tuple[str, ...], tuple[str, ...], int], _Template | None],
] = {}
# The entries of _TEMPLATES by their key's shape (the two lengths and the rest of the key), most recent first, at
# most _PER_SHAPE each: a trace whose text around the message equals an entry key's (`startswith`/`endswith` with
# the shape's lengths: the same template text, compared without slicing or hashing the 2 KB) finds its template
# without building the key. An index only: a trace it does not find takes the lookup by the key, as before.
_SHAPES: dict[
    tuple[int, int, int, tuple[str, ...], tuple[str, ...], int],
    tuple[tuple[tuple[str, str, int, tuple[str, ...], tuple[str, ...], int], _Template | None], ...],
] = {}
_PER_SHAPE: Final = 4


@dataclass(frozen=True, slots=True)
class _Template:
    analysis: StackAnalysis
    # `analysis.root_message` split at its one slot (`_SLOT` sits once in it), else None (replace it then).
    around: tuple[str, str] | None


def clear_memo() -> None:
    """Empty both memos (tests and benchmarks measure cold grouping with it)."""
    _analyze_memo.cache_clear()
    _TEMPLATES.clear()
    _SHAPES.clear()


def _plain_breaks(message: str) -> int:
    """The number of line breaks in `message` (`len(_LINE_BREAK.findall(message))`) when it is plain, else -1.
    Plain: every supported parser reads each of its lines as message text, whatever words they hold."""
    if len(message) > 4096 or _NOT_PLAIN_TOKEN.search(message) is not None:
        return -1
    lines = message.splitlines()
    if not lines or not lines[0].strip() or lines[0][:1].isspace():
        return -1
    for line in lines:
        if line != line.rstrip():
            return -1
        stripped = line.lstrip()  # == line.strip(): nothing trails
        # A prefix starts with its first character: the set test only skips `startswith` calls that fail.
        if stripped[:1] in _START_CHARS and stripped.startswith(_NOT_PLAIN_START):
            return -1
        if stripped[:1] in _BAR_CHARS:
            bare = stripped.lstrip(_BARS).strip()
            if bare.startswith(_NOT_PLAIN_START) or bare.endswith(_NOT_PLAIN_END):
                return -1
        # Else `stripped.lstrip(_BARS).strip()` is `stripped`: no bar to strip, no space at either end.
        elif stripped.endswith(_NOT_PLAIN_END):
            return -1
    # `splitlines` makes one line per break and one after the last, minus that last one when it is empty.
    return len(lines) - 1 + (message[-1] in _BREAK_CHARS)


def _fill(template: StackAnalysis, message: str) -> StackAnalysis:
    """The analysis of the real text: the template with the real message put back into the root cause's."""
    return _with_root_message(template, _root_message(template, message))


def _root_message(template: StackAnalysis, message: str) -> str:
    """The root cause's message of the real text.

    Parsers keep the stripped rest of the header line after `Type: `, cut at the line's end: a multi-line
    message contributes its first line."""
    text = template.root_message.replace(_SLOT, message)
    if _LINE_BREAK.search(message):
        lines = text.splitlines()
        text = lines[0] if lines else ""
    return text.strip()


def _filled_root_message(entry: _Template, message: str, breaks: int) -> str:
    """`_root_message(entry.analysis, message)` for a message with `breaks` line breaks."""
    if breaks or entry.around is None:
        return _root_message(entry.analysis, message)
    before, after = entry.around  # no line break in the message: the replaced text is the concatenation
    return (before + message + after).strip()


def _with_root_message(t: StackAnalysis, root_message: str) -> StackAnalysis:
    # A plain constructor call: dataclasses.replace costs several times more on this hot path.
    return StackAnalysis(t.language, t.chain_types, t.root_type, root_message, t.frames, t.keys, t.component, t.culprit)


def analyze_stack_for(
    stacktrace: str, message: str, include: tuple[str, ...], exclude: tuple[str, ...], max_frames: int
) -> StackAnalysis:
    """`analyze_stack(stacktrace, ...)`, memoized on the trace without `message` when that is exact."""
    analysis, root_message = analyze_stack_parts(stacktrace, message, include, exclude, max_frames)
    return analysis if root_message is None else _with_root_message(analysis, root_message)


def analyze_stack_parts(
    stacktrace: str, message: str, include: tuple[str, ...], exclude: tuple[str, ...], max_frames: int
) -> tuple[StackAnalysis, str | None]:
    """`analyze_stack_for` in parts, for callers that read only the root message of what varies:
    `(analysis, None)`, or `(template, root_message)` when the analysis of the text is the template with that
    root cause's message (every other field is the template's). The returned analysis is a memoized object
    (the same one for the next trace of the same shape) when the trace is at most MEMO_MAX_CHARS long."""
    at = stacktrace.find(message) if message and len(stacktrace) <= MEMO_MAX_CHARS else -1
    # The message must occur once (`replace` would put in more than one slot): no occurrence after the first.
    end = at + len(message)
    if at < 0 or stacktrace.find(message, end) >= 0 or "\x00" in stacktrace:
        return analyze_stack(stacktrace, include, exclude, max_frames), None
    # The number of message lines is part of the key: language detection reads a fixed number of lines.
    breaks = _plain_breaks(message)
    if breaks < 0:
        return analyze_stack(stacktrace, include, exclude, max_frames), None
    shape = (at, len(stacktrace) - end, breaks, include, exclude, max_frames)
    for key, entry in _SHAPES.get(shape, ()):
        # The lengths are the shape's: equal ends mean `stacktrace == key[0] + message + key[1]`, the same template.
        if stacktrace.startswith(key[0]) and stacktrace.endswith(key[1]):
            if entry is None:
                return analyze_stack(stacktrace, include, exclude, max_frames), None
            return entry.analysis, _filled_root_message(entry, message, breaks)
    key = (stacktrace[:at], stacktrace[end:], breaks, include, exclude, max_frames)
    found = _TEMPLATES.get(key)
    if found is not None:
        _index(shape, found)  # the stored key: the index holds no copy of its text
        key, entry = found
        if entry is None:
            return analyze_stack(stacktrace, include, exclude, max_frames), None
        return entry.analysis, _filled_root_message(entry, message, breaks)
    real = analyze_stack(stacktrace, include, exclude, max_frames)
    if len(_TEMPLATES) >= MEMO_SIZE:
        try:
            old = next(iter(_TEMPLATES))  # oldest first: insertion order
            del _TEMPLATES[old]
            _unindex(old)
        except (KeyError, RuntimeError, StopIteration):  # another thread got there first
            pass
    # == stacktrace.replace(message, _SLOT): the message occurs once.
    template = _template(key[0] + _SLOT + key[1], message, real, include, exclude, max_frames)
    if template is None:
        found = (key, None)
    else:
        parts = template.root_message.split(_SLOT)
        found = (key, _Template(template, (parts[0], parts[1]) if len(parts) == 2 else None))
    _TEMPLATES[key] = found
    _index(shape, found)
    return real, None


def _index(
    shape: tuple[int, int, int, tuple[str, ...], tuple[str, ...], int],
    found: tuple[tuple[str, str, int, tuple[str, ...], tuple[str, ...], int], _Template | None],
) -> None:
    """Put a _TEMPLATES item first among its shape's (a new tuple: readers see the old one or the new one whole)."""
    keys = _SHAPES.get(shape, ())
    # By equality, not identity: compiled (setup.py), a tuple may be rebuilt around the same strings. Equal keys
    # share their strings, so the comparison stops at the first, identical, text.
    if any(item[0] == found[0] for item in keys):
        return
    if not keys and len(_SHAPES) >= MEMO_SIZE:
        try:
            del _SHAPES[next(iter(_SHAPES))]  # oldest first: insertion order
        except (KeyError, RuntimeError, StopIteration):  # another thread got there first
            pass
    _SHAPES[shape] = (found, *keys[: _PER_SHAPE - 1])


def _unindex(key: tuple[str, str, int, tuple[str, ...], tuple[str, ...], int]) -> None:
    """Drop an evicted key from the index, so that the index holds no text the memo let go."""
    shape = (len(key[0]), len(key[1]), *key[2:])
    keys = _SHAPES.get(shape, ())
    if any(item[0] == key for item in keys):
        rest = tuple(item for item in keys if item[0] != key)
        if rest:
            _SHAPES[shape] = rest
        else:
            _SHAPES.pop(shape, None)


def _template(
    template_text: str,
    message: str,
    real: StackAnalysis,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    max_frames: int,
) -> StackAnalysis | None:
    """The template's analysis when it is exact for every plain message; None when it is not."""
    if real.language not in _TEMPLATE_LANGUAGES:
        return None
    # The slot ends its line after a space (`Type: <slot>`): no token of the checks above can straddle it.
    slot_line = next(line for line in template_text.splitlines() if _SLOT in line)
    if not slot_line.endswith(" " + _SLOT) or any(token in slot_line[: -len(_SLOT)] for token in _NOT_PLAIN_ANYWHERE):
        return None
    template = _select(parse_stacktrace(template_text), include, exclude, max_frames)
    if _SLOT not in template.root_message or template.language != real.language:
        return None
    return template if _fill(template, message) == real else None


_EXPLAINED_FRAMES = 64


def _label(frame: Frame) -> str:
    """`module or file name : function`, without the directory (local paths stay out of the explanation)."""
    where = frame.module or frame.filename.replace("\\", "/").rpartition("/")[2]
    return f"{where}:{frame.function}" if frame.function else where or frame.raw[:120]


def _select(parsed: ParsedTrace, include: tuple[str, ...], exclude: tuple[str, ...], max_frames: int) -> StackAnalysis:
    root = parsed.root
    chain_types = tuple(normalize_type(link.type) for link in parsed.chain if link.type)
    if root is None:
        return StackAnalysis(
            parsed.language, chain_types, "", "", (), (), Component("stacktrace", False, "no frames parsed"), ""
        )
    frames = root.frames
    if include or exclude:
        frames = tuple(dataclasses.replace(f, in_app=apply_workspace_rules(f, include, exclude)) for f in frames)
    entries: list[tuple[Frame, str, str]] = []  # (frame, key, hint) with hint "" when it contributes
    handler_index = next((i for i, f in enumerate(frames) if f.function.startswith(_SIGNAL_HANDLER)), -1)
    native = parsed.language == "native"
    # Unknown native frames (`??`) identify nothing, so they do not count as in-app frames here.
    any_in_app = any(f.in_app and not (native and f.function in ("", "??")) for f in frames[handler_index + 1 :])
    keys: list[str] = []
    root_type = normalize_type(root.type)
    for index, frame in enumerate(frames):
        if len(keys) >= max_frames:
            break  # the rest cannot contribute: summarized below, not normalized (the hot path stays short)
        if index <= handler_index:
            entries.append((frame, "", "ignored: crash handler frame above the signal"))
            continue
        if any_in_app and not frame.in_app:
            entries.append((frame, "", "ignored: " + why_not_in_app(frame)))
            continue
        key = frame_key(frame, parsed.language)
        if not key:
            hint = "ignored: unknown function"
        elif parsed.language == "native" and is_irrelevant_native(key):
            hint = "ignored: crash machinery, allocator or event-loop frame"
        elif root_type and frame.module.rpartition(".")[2] == root_type:
            hint = "ignored: inside the exception's own class (construction, not the failing call)"
        else:
            if root_type == "AssertionError":
                key = _suite_key(frame, key)
            if keys and keys[-1] == key:
                hint = "ignored: recursion (repeats the frame above)"
            else:
                hint = ""
                keys.append(key)
        entries.append((frame, key, hint))
    library_fallback = False
    if not keys and parsed.language == "native":
        # Stripped binaries: every function is `??`. The libraries on the crashing path still say something.
        keys = _library_keys(frames[handler_index + 1 :], max_frames)
        library_fallback = bool(keys)
    culprit = next((_culprit(f, parsed.language) for f, _, h in entries if not h), "")
    values: tuple[Component, ...] = tuple(
        Component("frame", not hint, hint, (key or frame.raw,)) for frame, key, hint in entries
    )
    # The frames after the contributing ones, each with its reason (cheap: not normalized), up to a bound.
    listed = frames[len(entries) : len(entries) + _EXPLAINED_FRAMES]
    values += tuple(
        Component(
            "frame",
            False,
            "ignored: "
            + (why_not_in_app(f) if any_in_app and not f.in_app else f"beyond the first {max_frames} in-app frame(s)"),
            (_label(f),),
        )
        for f in listed
    )
    if len(entries) + len(listed) < len(frames):
        rest = len(frames) - len(entries) - len(listed)
        values += (Component("frames", False, f"ignored: {rest} more frames"),)
    if library_fallback:
        values += (Component("libraries", True, "no named frame: the crashing path's libraries", tuple(keys)),)
    note = "" if any_in_app else ("no in-app frames: all frames considered" if keys else "no usable frames")
    component = Component("stacktrace", bool(keys), note, values)
    return StackAnalysis(
        parsed.language, chain_types, normalize_type(root.type), root.message, frames, tuple(keys), component, culprit
    )


def _culprit(frame: Frame, language: str) -> str:
    function = normalize_function(frame.function) or "?"
    if language in ("java", "dotnet", "go") and frame.module:
        return f"{frame.module} in {function}"
    where = normalize_path(frame.filename, keep=3) or frame.module
    return f"{where} in {function}" if where else function


def _suite_key(frame: Frame, key: str) -> str:
    """A failed assertion groups on its suite (class or file), not its check: one bug fails several checks."""
    if frame.module:
        return frame.module
    return key.rpartition(":")[0] or key


def _library_keys(frames: tuple[Frame, ...], max_frames: int) -> list[str]:
    keys: list[str] = []
    for frame in frames:
        lib = frame.module.rsplit("/", 1)[-1].split(".so", 1)[0]
        if lib and frame.in_app and (not keys or keys[-1] != "?? in " + lib):
            keys.append("?? in " + lib)
        if len(keys) >= max_frames:
            break
    return keys
