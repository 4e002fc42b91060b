""".NET `Exception.ToString()` output, inner exceptions included.

The header line lists the chain outermost first, joined by ` ---> `. The innermost exception's frames are printed
first; each `--- End of inner exception stack trace ---` hands the following frames to the next outer link.
"""

from __future__ import annotations

import re

from .._model import ChainLink, Frame
from ._common import make_frame, split_type_message

# at Namespace.Class.Method[T](args) in C:\\path\\File.cs:line 42   (on a stripped line: no trailing space)
# The name runs to the first `(`, taken in one possessive pass (`_qualified` drops generic arguments); the file is
# the shortest text that the optional `:line N` and the line's end can follow.
_FRAME = re.compile(r"at (?P<qual>[^(]++)\((?P<args>[^)]*+)\)(?: in (?P<file>.+?)(?::line (?P<line>\d++))?)?$")
_END_OF_INNER = "--- End of inner exception stack trace ---"


def _qualified(name: str) -> str:
    """`Acme.Repo.Load[T]` -> `Acme.Repo.Load`: the generic arguments printed before the parameter list go."""
    if name.endswith("]"):
        # The earliest `[` after the previous `]` opens the argument list (a name keeps one character at least).
        start = name.find("[", max(name.rfind("]", 0, len(name) - 1) + 1, 1))
        if start > 0:
            return name[:start]
    return name


def parse_dotnet(lines: list[str]) -> list[ChainLink]:
    header: list[tuple[str, str]] = []
    frame_groups: list[list[Frame]] = [[]]  # innermost link's frames first
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("at "):
            m = _FRAME.match(stripped)
            if m:
                module, _, function = _qualified(m["qual"]).strip().rpartition(".")
                frame_groups[-1].append(make_frame("dotnet", line, function, module, m["file"] or "", m["line"]))
            continue
        if stripped.startswith(_END_OF_INNER):
            frame_groups.append([])
            continue
        if stripped.startswith("---"):
            continue  # "--- End of stack trace from previous location ---"
        if not header:
            header = [split_type_message(part) for part in stripped.split(" ---> ")]
        elif stripped.startswith("--->"):
            header.append(split_type_message(stripped[4:].strip()))
    if not header:
        header = [("", "")]
    # Pair frame groups with links innermost-first; links without printed frames get none.
    links: list[ChainLink] = []
    for depth, (exc_type, message) in enumerate(reversed(header)):
        frames = frame_groups[depth] if depth < len(frame_groups) else []
        links.append(ChainLink(exc_type, message, tuple(frames)))
    links.reverse()
    return links
