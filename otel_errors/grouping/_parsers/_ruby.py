"""Ruby backtraces: `file.rb:10:in 'meth': message (Type)` then `\tfrom file.rb:5:in 'caller'`."""

from __future__ import annotations

import re

from .._model import ChainLink
from ._common import ChainBuilder, make_frame

_FRAME = re.compile(
    r"(?:from\s++)?(?P<file>[^\s:][^:]*+):(?P<line>\d++):in [`'](?P<func>[^']*+)'(?::\s*(?P<rest>.*))?$"
)
_MESSAGE_AND_TYPE = re.compile(r"(?P<msg>.*) \((?P<type>[A-Z][\w:]*+)\)$")


def parse_ruby(lines: list[str]) -> list[ChainLink]:
    chain = ChainBuilder()
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        m = _FRAME.match(stripped)
        if m:
            if m["rest"] is not None and not chain.frames:
                tm = _MESSAGE_AND_TYPE.match(m["rest"])
                chain.start(tm["type"], tm["msg"]) if tm else chain.start("", m["rest"])
            chain.frames.append(make_frame("ruby", line, m["func"], "", m["file"], m["line"]))
            continue
        tm = _MESSAGE_AND_TYPE.match(stripped)
        if tm and not chain.type:
            chain.start(tm["type"], tm["msg"])
    return chain.finish()
