"""Normalization of what varies between occurrences of one bug: generated names, hashes, paths, versions.

Each function takes one field of one frame; `frame_key` combines them into the string that identifies a call
site independent of line numbers, columns, addresses, deploy paths and build hashes.
"""

from __future__ import annotations

import re

from ._model import Frame

# Everything up to the last separator on a line; applied with `match` (`sub` would retry at every later position).
_TYPE_SEPARATORS = re.compile(r".*(?:\.|::|\$|/|\\)")


def normalize_type(exc_type: str) -> str:
    """`json.decoder.JSONDecodeError`, `java.lang.X`, `Foo::Bar`, `Outer$Inner` -> the last segment."""
    name = exc_type.strip()
    if not name:
        return ""
    name = name.split(None, 1)[0] if " " in name else name
    name = _unqualified(name) or name
    return _TYPE_FAMILIES.get(name, name)


def _unqualified(name: str) -> str:
    """`_TYPE_SEPARATORS.sub("", name)`: on each line (`.` stops at `\n`), what follows the last separator."""
    if "\n" in name:
        return "\n".join(_unqualified(line) for line in name.split("\n"))
    qualifier = _TYPE_SEPARATORS.match(name)
    return name[qualifier.end() :] if qualifier else name


# Subclasses that assertion libraries pick by the form of the assertion (assertEquals on strings, on arrays...),
# not by the failure: one family, so one failing check is one type.
_TYPE_FAMILIES = {
    "AssertionFailedError": "AssertionError",
    "ComparisonFailure": "AssertionError",
    "ArrayComparisonFailure": "AssertionError",
    "AssertionFailure": "AssertionError",
}


# Generated names. Each rule keeps the stable part of the name and drops the counter or address.
_FUNCTION_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\$\$(Lambda|EnhancerBy\w*?|FastClassBy\w*?|Proxy)\$*[\w/$]*"), r"$$\1"),  # JVM generated classes
    (re.compile(r"lambda\$(\w+?)\$\d+"), r"lambda$\1"),  # Java lambdas: lambda$main$0
    (re.compile(r"\$\d+"), "$"),  # anonymous classes (Foo$1) and access$000
    (re.compile(r"/0x[0-9a-fA-F]+"), ""),  # hidden-class addresses
    (re.compile(r"\.func\d+(?:\.\d+)*"), ".func"),  # Go closures: main.main.func1.2
    (re.compile(r"(?<=__)\d+(?:_\d+)*"), ""),  # .NET compiler names: <Main>b__0_0, <>c__DisplayClass2_0
    (re.compile(r"block \(\d+ levels\)"), "block"),  # Ruby nested blocks
    (re.compile(r"^(?:IA__|__GI_+|__libc_|__)(?=[a-z])"), ""),  # libc/glib internal aliases: __GI_raise, IA__g_log
    (re.compile(r"\.(?:constprop|isra|part|cold|lto_priv)(?:\.\d+)*"), ""),  # compiler clones
    (re.compile(r"0x[0-9a-fA-F]+"), "0x"),  # addresses inside names
    (re.compile(r"__WEBPACK_IMPORTED_MODULE_\d+_*"), "__WEBPACK_MODULE_"),  # bundler import counters
)
_CPP_PARAMETERS = re.compile(r"(?<=[\w>])\((?:[^()]|\([^()]*\))*\)(?: const)?(?: &+)?$")


# Plain identifiers (most names) contain none of these, and skip every rule.
_MAY_NEED_RULES = re.compile(r"[\d$<(]|__|block |^IA")


def normalize_function(function: str) -> str:
    name = function.strip()
    if not name or not _MAY_NEED_RULES.search(name):
        return name
    for pattern, replacement in _FUNCTION_RULES:
        name = pattern.sub(replacement, name)
    if name.endswith(")") and "(" in name and name[0] != "(":  # C++ parameter lists: overloads differ, frames don't
        name = _CPP_PARAMETERS.sub("", name)
    if name.startswith(("Object.<anonymous>", "<anonymous>")):
        return "<anonymous>"
    return name


# Path segments that change per deploy: releases, versions, build ids, content hashes, dates. Applied with
# `fullmatch`; the version groups are possessive (more groups never hurt: the rest is any of `[\w.+-]`).
_VOLATILE_SEGMENT = re.compile(
    r"(?:v?\d++(?:[._-]\d++)++[\w.+-]*+|\d{3,}|[0-9a-f]{7,}|[\w-]*-[0-9a-f]{7,})",
    re.IGNORECASE,
)
# `name-1.2.3`, `pkg_v2.0.1-beta`: word characters, then a version at the end. Matched on the reversed segment
# so that each character is read once; forwards, every separator in a long `1.2.3.4...` run would re-read it.
_WORDISH_SEGMENT = re.compile(r"[\w.-]*+")
_REVERSED_VERSION_SUFFIX = re.compile(r"(?:\w+[-.])?(?:\d+\.)+\d+v?[-_.]", re.IGNORECASE)
_INTERPRETER_DIR = re.compile(r"^(python|pypy|ruby|node|php|go)[\d.]+$")
# A long hash is read at most 128 characters from each of its `.`/`-` (a run of `-1-1-1...` with no `.` after
# would otherwise be read again from each of them).
_CONTENT_HASH = re.compile(
    r"[.\-_~](?=[0-9a-zA-Z]*\d)[0-9a-fA-F]{6,}+(?=\.)"
    r"|[.\-](?=[0-9a-zA-Z]*\d)[0-9a-zA-Z_-]{16,128}+(?=\.)"
)
_URL_PREFIX = re.compile(r"^(?:[a-zA-Z][\w+.-]*:/*(?:[^/]*@)?[^/]*)?/?")
_QUERY = re.compile(r"[?#].*$")


def normalize_path(path: str, keep: int = 2) -> str:
    """The last `keep` stable segments of a path: deploy prefixes, versions and content hashes dropped.

    `/srv/releases/20240101/app/tools.py` -> `app/tools.py`; `https://cdn/x/main.3f2a9c1b.js?v=2` -> `x/main.js`.
    """
    if not path:
        return ""
    p = path.replace("\\", "/")
    if "://" in p or p.startswith(("webpack:", "file:", "node:")):
        p = _URL_PREFIX.sub("", p)
    if "?" in p or "#" in p:
        p = _QUERY.sub("", p)
    for marker in ("site-packages/", "dist-packages/", "node_modules/", "/gems/", "/pkg/mod/", "/vendor/"):
        cut = p.rfind(marker)
        if cut >= 0:
            p = p[cut + len(marker) :]
            keep = 3
            break
    segments = [s for s in p.split("/") if s and s != "."]
    if not segments:
        return ""
    basename = _CONTENT_HASH.sub("", segments[-1])
    stable: list[str] = [basename]
    for segment in reversed(segments[:-1]):
        if len(stable) >= keep:
            break
        if segment == ".." or _is_volatile(segment):
            continue
        stable.append(_INTERPRETER_DIR.sub(r"\1", segment))
    stable.reverse()
    return "/".join(stable)


def _is_volatile(segment: str) -> bool:
    if _VOLATILE_SEGMENT.fullmatch(segment):
        return True
    return _WORDISH_SEGMENT.fullmatch(segment) is not None and _REVERSED_VERSION_SUFFIX.match(segment[::-1]) is not None


def frame_key(frame: Frame, language: str) -> str:
    """What identifies a call site: module+function where the runtime names modules, else file+function."""
    function = normalize_function(frame.function)
    if language in ("java", "dotnet", "go", "php") and frame.module:
        return f"{normalize_function(frame.module)}.{function}"
    if language == "native":
        if function and function != "??":
            return function
        return ""  # an unknown frame identifies nothing
    if language == "python" and frame.module:
        return f"{frame.module}:{function}"
    file = normalize_path(frame.filename)
    if not function and not file:
        return ""
    return f"{file}:{function}"
