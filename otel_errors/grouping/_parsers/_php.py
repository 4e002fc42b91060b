"""PHP: `Type: message in /path/file.php:12` + `Stack trace:` + `#0 /path/file.php(20): Class->method()`.

`Next Type: ...` blocks follow the previous (deeper) exception, so PHP prints the root cause first.
"""

from __future__ import annotations

import re

from .._model import ChainLink
from ._common import ChainBuilder, make_frame, split_type_message

_FRAME = re.compile(
    r"#\d++\s++(?:(?P<file>[^(]++)\((?P<line>\d++)\)|\[internal function\]|\{main\})(?::\s*(?P<call>.+))?$"
)
_HEADER = re.compile(
    r"(?:PHP )?(?:Fatal error:\s+)?(?:Uncaught\s+)?(?P<text>.+?)(?: in (?P<file>\S+?):(?P<line>\d+))?$"
)


def parse_php(lines: list[str]) -> list[ChainLink]:
    chain = ChainBuilder()
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped == "Stack trace:" or stripped.startswith("thrown in "):
            continue
        if stripped.startswith("#"):
            m = _FRAME.match(stripped)
            if m:
                call = (m["call"] or "").split("(", 1)[0]
                module, _, function = call.rpartition("->") if "->" in call else call.rpartition("::")
                chain.frames.append(make_frame("php", line, function, module, (m["file"] or "").strip(), m["line"]))
            continue
        if stripped.startswith("Next "):
            stripped = stripped[5:]
        elif chain.type:
            continue
        m = _HEADER.match(stripped)
        if m:
            exc_type, message = split_type_message(m["text"])
            chain.start(exc_type, message)
    links = chain.finish()
    links.reverse()  # printed root cause first; we return outermost first
    return links
