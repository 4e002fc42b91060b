"""Native backtraces: gdb (`#1  0x... in func (args) at file.c:12`, `from /lib/libc.so.6`) and sanitizers
(`    #0 0x4f3b2c in func /path/file.cc:12:3`, `#2 0x... (/lib/x.so+0x123)`).

gdb wraps long argument lists and prints locals below a frame; only lines starting with `#N` open frames.
"""

from __future__ import annotations

import dataclasses
import re

from .._inapp import default_in_app
from .._model import ChainLink, Frame
from ._common import make_frame

# Applied to one stripped line each (no trailing space: `$` is the end of the text).
# gdb separates the function from its argument list by one space; C++ parameter lists have none.
_GDB = re.compile(r"#(?P<index>\d++)\s++(?:0x[0-9a-fA-F]++ in )?(?P<func>.+?)(?: \((?P<args>.*)|$)")
_FROM = re.compile(r"\) from (?P<lib>\S++)\s*+$")
_AT = re.compile(r"\bat (?P<file>[^\s:]++):(?P<line>\d++)\s*+$")
# The function is the shortest text after `in` that ends in a non-space followed by spaces and a location to the
# end: tried only where a non-space meets a run of spaces, and each run is read once (`"#1 0x1 in a" + " " * n`
# no longer tries every split of the run). A library in parentheses holds no `(`, so `(((` is one pass too.
_SANITIZER = re.compile(
    r"#(?P<index>\d++)\s++0x[0-9a-fA-F]++\s++(?:in\s++(?P<func>.*?\S)\s++)?"
    r"(?:\((?P<lib>[^()+]++)\+0x[0-9a-fA-F]++\)|(?P<file>[^\s(]\S*?)(?::(?P<line>\d+))?(?::(?P<col>\d++))?)$"
)
_SANITIZER_SUMMARY = ("SUMMARY: ", "==", "ERROR: ")


def parse_native(lines: list[str]) -> list[ChainLink]:
    frames: list[Frame] = []
    exc_type, message = "", ""
    seen_zero = False
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith("#"):
            if frames and stripped.startswith(("at ", "from ")) and not frames[-1].filename:
                frames[-1] = _with_location(frames[-1], stripped)
            elif not exc_type and stripped.startswith(_SANITIZER_SUMMARY) and "Sanitizer" in stripped:
                exc_type, message = _sanitizer_kind(stripped)
            continue
        if stripped.startswith("#0 ") or stripped.startswith("#0\t"):
            if seen_zero:
                break  # a second stack (allocation/free site, other thread): the first one crashed
            seen_zero = True
        m = None if _looks_like_gdb(stripped) else _SANITIZER.match(stripped)
        if m and (m["lib"] or m["func"]):
            func = (m["func"] or "").strip()
            frames.append(
                make_frame("native", line, func, m["lib"] or "", m["file"] or m["lib"] or "", m["line"], m["col"])
            )
            continue
        m = _GDB.match(stripped)
        if m:
            func = m["func"].strip()
            lib_match = _FROM.search(stripped)
            at_match = _AT.search(stripped)
            lib = lib_match["lib"] if lib_match else ""
            file = at_match["file"] if at_match else lib
            frames.append(make_frame("native", line, func, lib, file, at_match["line"] if at_match else None))
    return [ChainLink(exc_type, message, tuple(frames))]


def _sanitizer_kind(line: str) -> tuple[str, str]:
    """`==1==ERROR: AddressSanitizer: heap-use-after-free on address ...` -> ("heap-use-after-free", line)."""
    _, _, after = line.partition("Sanitizer: ")
    kind = after.split(" ", 1)[0] if after else ""
    return kind, line.strip("= ")


def _looks_like_gdb(line: str) -> bool:
    if line.endswith("+0x") or _ends_with_sanitizer_module(line):
        return False
    return " (" in line and (line.endswith((")", ",")) or ") from " in line or ") at " in line)


_MODULE_OFFSET = re.compile(r"\+0x[0-9a-fA-F]++\)$")


def _ends_with_sanitizer_module(line: str) -> bool:
    """Whether the (stripped) line ends like `(/lib/x.so+0x1f)`: a `(`, then non-spaces up to `+0x<hex>)`.

    Decided from the last word instead of trying every `(` of the line: if any `(` of that word opens a match,
    the word's first `(` does, when at least one character lies between it and the `+0x`."""
    offset = _MODULE_OFFSET.search(line)
    if offset is None or offset.start() == 0 or line[offset.start() - 1].isspace():
        return False
    word = line[: offset.start()].rsplit(None, 1)[-1]
    opening = word.find("(")
    return 0 <= opening < len(word) - 1


def _with_location(frame: Frame, continuation: str) -> Frame:
    """gdb wrapped the argument list: `at file.c:12` or `from /lib/x.so` arrives on a later line."""
    at_match = _AT.search(continuation)
    if at_match:
        return dataclasses.replace(frame, filename=at_match["file"], lineno=int(at_match["line"]))
    lib = continuation[len("from ") :].strip()
    if lib and " " not in lib:
        return dataclasses.replace(frame, filename=lib, module=lib, in_app=default_in_app("native", lib, lib))
    return frame
