"""JavaScript stacks: V8/Node (`    at fn (file:1:2)`), Firefox and Safari (`fn@file:1:2`), and `cause` chains.

Node prints an error's cause below its frames as `[cause]: Type: message`; some libraries print `Caused by:`.
Both open the next (deeper) link.
"""

from __future__ import annotations

import re

from .._model import ChainLink
from ._common import ChainBuilder, make_frame, split_type_message

# Applied with `match` to one stripped line each. The look-ahead checks once that the line ends with `)`: without
# it, each `(` the shortest function name could stop at would scan the rest of the line again; an alias `[as x]`
# holds no `[`, so a line of `[as ` stays one pass.
_V8_WITH_FUNCTION = re.compile(r"at (?=.*\)$)(?:async )?(?:new )?(?P<func>.*?)(?: \[as [^\][]*+\])? ?\((?P<loc>.*)\)$")
_V8_LOCATION_ONLY = re.compile(r"at (?:async )?(?P<loc>\S++)$")
_GECKO = re.compile(r"(?P<func>[^@\s]*+(?:\s[^@\s]++)*+)@(?P<loc>\S*+)$")
_BARE_LOCATION = re.compile(r"(?P<loc>(?:https?|file|webpack|blob|chrome-extension)://\S+:\d+(?::\d++)?)$")
_LOCATION = re.compile(r"(?P<file>.+?)(?::(?P<line>\d+))?(?::(?P<col>\d++))?$")


def _split_location(loc: str) -> tuple[str, str | None, str | None]:
    if loc.startswith("eval at "):  # "eval at fn (file:1:2), <anonymous>:3:4": group on the outer location
        inner = loc.rfind("(")
        loc = loc[inner + 1 :].split(")", 1)[0] if inner >= 0 else loc
    m = _LOCATION.match(loc)
    if not m:
        return loc, None, None
    return m["file"], m["line"], m["col"]


def parse_javascript(lines: list[str]) -> list[ChainLink]:
    chain = ChainBuilder()
    for line in lines:
        stripped = line.strip()
        if stripped.endswith(" {"):  # Node opens the error's own properties after its last frame
            stripped = stripped[:-2]
        if not stripped:
            continue
        if stripped.startswith("at "):
            m = _V8_WITH_FUNCTION.match(stripped) or _V8_LOCATION_ONLY.match(stripped)
            if m:
                func = m.groupdict().get("func") or ""
                file, lineno, colno = _split_location(m["loc"])
                chain.frames.append(make_frame("javascript", line, func, "", file, lineno, colno))
                continue
        if "@" in stripped and ":" in stripped:
            m = _GECKO.match(stripped)
            if m:
                file, lineno, colno = _split_location(m["loc"])
                chain.frames.append(make_frame("javascript", line, m["func"], "", file, lineno, colno))
                continue
        m = _BARE_LOCATION.match(stripped)
        if m:
            file, lineno, colno = _split_location(m["loc"])
            chain.frames.append(make_frame("javascript", line, "", "", file, lineno, colno))
            continue
        for marker in ("[cause]:", "Caused by:"):
            if stripped.startswith(marker):
                chain.start(*split_type_message(stripped[len(marker) :].strip()))
                break
        else:
            if not chain.type and not chain.frames and not chain.links:
                chain.start(*split_type_message(stripped))
    return chain.finish()
