"""Java and Kotlin stack traces as `Throwable.printStackTrace` prints them.

`Caused by:` opens the next (deeper) link; `... N more` means "the enclosing trace's last N frames", which we
copy so the root cause keeps its full call path; `Suppressed:` blocks are side exceptions and are skipped.
"""

from __future__ import annotations

import re

from .._model import ChainLink
from ._common import ChainBuilder, make_frame, split_type_message

# at [module@version/]pkg.Class.method(File.java:12)   ("app//" and "java.base/" module prefixes)
_FRAME = re.compile(r"at (?:[\w.$@-]*+/++)?(?P<qual>[^\s(]++)\((?P<loc>[^)]*+)\)")
_MORE = re.compile(r"\.\.\. (\d++) more")


def _location(loc: str) -> tuple[str, str | None]:
    file, _, line = loc.partition(":")
    if file in ("Native Method", "Unknown Source"):
        return "", None
    return file, line or None


def parse_jvm(lines: list[str]) -> list[ChainLink]:
    chain = ChainBuilder()
    suppressed_indent = -1  # indentation of an open "Suppressed:" block, -1 when none
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        if suppressed_indent >= 0:
            if indent > suppressed_indent or (stripped.startswith(("at ", "...")) and indent >= suppressed_indent):
                continue
            suppressed_indent = -1
        if stripped.startswith("at "):
            m = _FRAME.match(stripped)
            if m:
                qual = m["qual"]
                module, _, function = qual.rpartition(".")
                file, lineno = _location(m["loc"])
                chain.frames.append(make_frame("java", line, function, module, file, lineno))
            continue
        if stripped.startswith("..."):
            m = _MORE.match(stripped)
            if m and chain.links:
                enclosing = chain.links[-1].frames
                count = int(m.group(1))
                if 0 < count <= len(enclosing):
                    chain.frames.extend(enclosing[-count:])
            continue
        if stripped.startswith("Suppressed:"):
            suppressed_indent = indent
            continue
        if stripped.startswith("Caused by:"):
            chain.start(*split_type_message(stripped[len("Caused by:") :].strip()))
            continue
        if not chain.type and not chain.frames and not chain.links:
            chain.start(*split_type_message(stripped))
    return _with_thread_prefix_removed(chain.finish())


def _with_thread_prefix_removed(links: list[ChainLink]) -> list[ChainLink]:
    """`Exception in thread "main" java.lang.X: msg` -> type java.lang.X."""
    if links and links[0].type.startswith("Exception in thread"):
        first = links[0]
        rest = first.type.split('" ', 1)[-1]
        links[0] = ChainLink(rest, first.message, first.frames)
    return links
