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

# gdb separates the function from its argument list by one space; C++ parameter lists have none.
_GDB = re.compile(r"#(?P<index>\d+)\s+(?:0x[0-9a-fA-F]+ in )?(?P<func>.+?)(?: \((?P<args>.*)|$)")
_FROM = re.compile(r"\) from (?P<lib>\S+)\s*$")
_AT = re.compile(r"\bat (?P<file>[^\s:]+):(?P<line>\d+)\s*$")
_SANITIZER = re.compile(
    r"#(?P<index>\d+)\s+0x[0-9a-fA-F]+\s+(?:in\s+(?P<func>.+?)\s+)?"
    r"(?:\((?P<lib>[^)+]+)\+0x[0-9a-fA-F]+\)|(?P<file>[^\s(]\S*?)(?::(?P<line>\d+))?(?::(?P<col>\d+))?)\s*$"
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
    if line.endswith("+0x") or _SANITIZER_MODULE.search(line):
        return False
    return " (" in line and (line.endswith((")", ",")) or ") from " in line or ") at " in line)


_SANITIZER_MODULE = re.compile(r"\(\S+\+0x[0-9a-fA-F]+\)\s*$")


def _with_location(frame: Frame, continuation: str) -> Frame:
    """gdb wrapped the argument list: `at file.c:12` or `from /lib/x.so` arrives on a later line."""
    at_match = _AT.search(continuation)
    if at_match:
        return dataclasses.replace(frame, filename=at_match["file"], lineno=int(at_match["line"]))
    lib = continuation[len("from ") :].strip()
    if lib and " " not in lib:
        return dataclasses.replace(frame, filename=lib, module=lib, in_app=default_in_app("native", lib, lib))
    return frame
