"""The stack part of a fingerprint: which of the root cause's frames contribute, memoized per trace text.

Identical traces repeat on the ingest path, so parsing and frame selection are cached on the text and the
workspace's in-app settings (a bounded LRU: the only state this package keeps).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

from ._inapp import apply_workspace_rules, why_not_in_app
from ._native_skip import is_irrelevant_native
from ._model import Component, Frame, ParsedTrace
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


@lru_cache(maxsize=MEMO_SIZE)
def analyze_stack(stacktrace: str, include: tuple[str, ...], exclude: tuple[str, ...], max_frames: int) -> StackAnalysis:
    parsed = parse_stacktrace(stacktrace)
    return _select(parsed, include, exclude, max_frames)


def _select(parsed: ParsedTrace, include: tuple[str, ...], exclude: tuple[str, ...], max_frames: int) -> StackAnalysis:
    root = parsed.root
    chain_types = tuple(normalize_type(link.type) for link in parsed.chain if link.type)
    if root is None:
        return StackAnalysis(parsed.language, chain_types, "", "", (), (), Component("stacktrace", False, "no frames parsed"), "")
    frames = root.frames
    if include or exclude:
        frames = tuple(dataclasses.replace(f, in_app=apply_workspace_rules(f, include, exclude)) for f in frames)
    entries: list[tuple[Frame, str, str]] = []  # (frame, key, hint) with hint "" when it contributes
    handler_index = next((i for i, f in enumerate(frames) if f.function.startswith(_SIGNAL_HANDLER)), -1)
    native = parsed.language == "native"
    # Unknown native frames (`??`) identify nothing, so they do not count as in-app frames here.
    any_in_app = any(f.in_app and not (native and f.function in ("", "??")) for f in frames[handler_index + 1:])
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
        keys = _library_keys(frames[handler_index + 1:], max_frames)
        library_fallback = bool(keys)
    culprit = next((_culprit(f, parsed.language) for f, _, h in entries if not h), "")
    values: tuple[Component, ...] = tuple(
        Component("frame", not hint, hint, (key or frame.raw,)) for frame, key, hint in entries
    )
    if len(entries) < len(frames):
        rest = len(frames) - len(entries)
        values += (Component("frames", False, f"ignored: {rest} more frames beyond the first {max_frames}"),)
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
