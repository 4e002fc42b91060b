"""Go panics and goroutine dumps.

A frame is two lines: `pkg/path.Func(args)` then `\t/path/file.go:12 +0x1d`. Only the first goroutine counts:
it is the one that panicked (or, in a dump, the one that was running).
"""

from __future__ import annotations

import re

from .._model import ChainLink, Frame
from ._common import make_frame

_FUNCTION = re.compile(r"(?:created by )?(?P<func>[^\s(]++)\(.*\)(?: in goroutine \d++)?$|created by (?P<creator>\S+)")
_FILE = re.compile(r"(?P<file>\S+\.(?:go|s)):(?P<line>\d++)(?: \+0x[0-9a-f]++)?$")


def _split_function(qualified: str) -> tuple[str, str]:
    """`github.com/x/y/pkg.(*T).Method` -> ("github.com/x/y/pkg", "(*T).Method")."""
    slash = qualified.rfind("/")
    dot = qualified.find(".", slash + 1)
    if dot < 0:
        return "", qualified
    return qualified[:dot], qualified[dot + 1 :]


def parse_go(lines: list[str]) -> list[ChainLink]:
    message = ""
    frames: list[Frame] = []
    goroutines_seen = 0
    pending: tuple[str, str, str] | None = None  # (raw, module, function) waiting for its file line
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("panic: ") and not message:
            message = stripped[len("panic: ") :]
            continue
        if stripped.startswith("goroutine ") and stripped.endswith(":"):
            goroutines_seen += 1
            if goroutines_seen > 1:
                break
            continue
        if goroutines_seen == 0:
            if not message and stripped.startswith(("fatal error: ", "runtime error: ")):
                message = stripped
            continue
        if pending is not None:
            m = _FILE.match(stripped)
            if m:
                raw, module, function = pending
                frames.append(make_frame("go", raw + " " + stripped, function, module, m["file"], m["line"]))
                pending = None
                continue
        m = _FUNCTION.match(stripped)
        if m:
            module, function = _split_function(m["func"] or m["creator"] or "")
            pending = (stripped, module, function)
    exc_type = "panic"
    if message.startswith("runtime error: "):
        exc_type = "runtime.Error"
    return [ChainLink(exc_type, message, tuple(frames))]
