"""Limited exposure for viewers: stack traces with in-app frames only, and no directories anywhere.

Applied to whole response models, so every endpoint (lists, details, samples, occurrences, the ErrorTracking
object) is covered by one walk rather than by each route remembering to do it: `stack_trace` fields become the
in-app frames, `frames` lists keep in-app frames with file names only, and every other text - messages, titles,
culprits, the grouping explanation, attributes and metadata at any depth - loses the directories of the absolute
paths it holds (`/home/bob/app/x.py` -> `x.py`, `C:\\Users\\bob\\x.cs` -> `x.cs`). URLs keep theirs.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, TypeVar

from pydantic import BaseModel

from otel_errors.grouping import parse_stacktrace

from .deps import Principal

Model = TypeVar("Model", bound=BaseModel)
_MARK = "[stack trace limited to in-app frames for viewers]"


def _basename(path: str) -> str:
    return posixpath.basename(path.replace("\\", "/")) if path else ""


def viewer_stack_trace(text: str) -> str:
    """Each exception of the chain as `Type: message`, then its in-app frames as `  in function (file:line)`."""
    if not text:
        return text
    parsed = parse_stacktrace(text)
    lines = [_MARK]
    for link in parsed.chain:
        if not link.type and not link.message and not link.frames:
            continue
        lines.append(f"{link.type}: {strip_directories(link.message)}" if link.message else link.type)
        for frame in reversed(link.frames):  # print order: outermost first, like the runtimes do
            if not frame.in_app:
                continue
            where = frame.module or _basename(frame.filename)
            suffix = f":{frame.lineno}" if frame.lineno is not None else ""
            lines.append(f"  in {frame.function or '?'} ({where}{suffix})")
    return "\n".join(lines)


# An absolute path (POSIX, `~`, `file://` or a Windows drive) not inside a URL or a word: its directories go.
# Linear: every part is a possessive run of one character class.
_POSIX_PATH = re.compile(r"(?<![\w.:/~\\-])(?:file://)?~?/(?:[\w.@+\-]++/)++(?=[\w.@+\-])")
_WINDOWS_PATH = re.compile(r"(?<![\w])[A-Za-z]:\\(?:[^\\\s\"'<>|]++\\)++")
_MAX_TEXT = 64 * 1024


def strip_directories(text: str) -> str:
    """`text` with the directories of its absolute paths removed (bounded: longer texts are cut first)."""
    if "/" not in text and "\\" not in text:
        return text
    text = text[:_MAX_TEXT]
    return _WINDOWS_PATH.sub("", _POSIX_PATH.sub("", text))


def _frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**f, "filename": _basename(str(f.get("filename") or ""))} for f in frames if f.get("inApp", True)]


def _walk(value: Any) -> Any:
    if isinstance(value, BaseModel):
        updates: dict[str, Any] = {}
        for name in type(value).model_fields:
            current = getattr(value, name)
            if name == "stack_trace" and isinstance(current, str):
                updates[name] = viewer_stack_trace(current)
            elif name == "frames" and isinstance(current, list):
                updates[name] = _frames(current)
            else:
                walked = _walk(current)
                if walked is not current:
                    updates[name] = walked
        return value.model_copy(update=updates) if updates else value
    if isinstance(value, str):
        stripped = strip_directories(value)
        return value if stripped == value else stripped
    if isinstance(value, list):
        walked_items = [_walk(v) for v in value]
        return walked_items if any(a is not b for a, b in zip(walked_items, value, strict=True)) else value
    if isinstance(value, dict):
        walked_values = {k: _walk(v) for k, v in value.items()}
        changed = any(walked_values[k] is not v for k, v in value.items())
        return walked_values if changed else value
    return value


def for_principal(model: Model, principal: Principal, policy: str) -> Model:
    """`policy` "in_app" limits viewers' stack traces; "full" shows everyone everything."""
    if policy == "full" or principal.role != "viewer":
        return model
    result: Model = _walk(model)
    return result


def for_principal_value(value: Any, principal: Principal, policy: str) -> Any:
    """`for_principal` for plain JSON values (the stream's event data)."""
    if policy == "full" or principal.role != "viewer":
        return value
    return _walk(value)
