"""From `exception.stacktrace` text to a chain of exceptions with frames.

The language is recognised from the first lines that look like frames, then one parser reads the text line by
line. Text no parser recognises yields a trace without frames; the caller falls back to normalized text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .._model import ChainLink, ParsedTrace
from ._dotnet import parse_dotnet
from ._go import parse_go
from ._javascript import parse_javascript
from ._jvm import parse_jvm
from ._native import parse_native
from ._php import parse_php
from ._python import parse_python
from ._ruby import parse_ruby

Parser = Callable[[list[str]], list[ChainLink]]

_PARSERS: dict[str, Parser] = {
    "python": parse_python,
    "java": parse_jvm,
    "dotnet": parse_dotnet,
    "javascript": parse_javascript,
    "go": parse_go,
    "ruby": parse_ruby,
    "php": parse_php,
    "native": parse_native,
}

# Applied with `match` to one stripped line each (a line of a 64 KiB trace may be the whole trace): possessive
# runs where the next item cannot be in the run, so a failing line costs one pass (tests/test_regex_linear_time.py).
_JAVA_AT = re.compile(
    r"at [\w$.<>/@-]++\((?:[\w$.-]+\.(?:java|kt|kts|scala|groovy|clj):\d++|Native Method|Unknown Source)\)$"
)
_DOTNET_AT = re.compile(r"at [^(]++\([^)]*+\)(?: in .+:line \d++)?$")
_JS_AT = re.compile(r"at .*(?::\d+:\d+\)?|\(native\)|<anonymous>\)?)$")
_GECKO = re.compile(r"^[^@\s]*+@\S*:\d+(?::\d++)?$")
_RUBY = re.compile(r"\.rb:\d++:in [`']")
_NATIVE = re.compile(r"#\d++\s++(?:0x[0-9a-fA-F]++\s|\S++ \(.*\) at )")
_PHP = re.compile(r"#\d++ (?:\S.*\(\d++\): |\{main\}|\[internal function\])")
_DETECT_LINES = 60
# The most of a text that is parsed: the processor keeps stack traces up to this length, and the API parses stored
# ones again on read. Each line's patterns are linear in the line, so this bounds one call's work.
MAX_TRACE_CHARS = 64 * 1024


def detect_language(lines: list[str]) -> str:
    """Name the format from the first lines that look like a frame; "" when nothing does."""
    for line in lines[:_DETECT_LINES]:
        s = line.strip()
        if not s:
            continue
        if s.startswith('File "') and ", line " in s:
            return "python"
        if s.startswith("at "):
            if _JAVA_AT.match(s):
                return "java"
            if _JS_AT.match(s):
                return "javascript"
            if (" in " in s and ":line " in s) or _DOTNET_AT.match(s):
                return "dotnet"
        if s.startswith("goroutine ") and s.endswith(":"):
            return "go"
        if s.startswith("#"):
            if _PHP.match(s):
                return "php"
            if _NATIVE.match(s):
                return "native"
        if _RUBY.search(s):
            return "ruby"
        if "@" in s and _GECKO.match(s):
            return "javascript"
    return ""


def parse_stacktrace(text: str) -> ParsedTrace:
    """Parse stack trace text of any supported runtime (its first MAX_TRACE_CHARS characters). Never raises:
    unknown text gives an empty chain."""
    try:
        lines = text[:MAX_TRACE_CHARS].splitlines()
        language = detect_language(lines)
        if not language:
            return ParsedTrace("", ())
        return ParsedTrace(language, tuple(_PARSERS[language](lines)))
    except Exception:  # noqa: BLE001 - a parser bug must not drop an error on the ingest path
        return ParsedTrace("", ())
