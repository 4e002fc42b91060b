"""Adversarial inputs for regular expressions, derived from each pattern's own text.

A backtracking engine stalls when one start position can be matched in many ways (nested or adjacent
quantifiers over the same characters), or when every start position scans far ahead before failing (a search
that is linear per attempt and quadratic in total). Both show on text that repeats what the pattern looks for,
almost matching, at length: the pattern's literal words and character classes, repeated, joined by separators,
padded with long runs of spaces or digits-and-dots, around a near-miss of a real match. `attacks()` builds those
from a compiled pattern's parse tree, so a new pattern is attacked with its own words without anyone writing
its cases.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

# Characters that separate, open, close or join tokens in the texts the product reads.
SEPARATORS = (" ", "\t", "\n", ".", ":", "=", "-", "_", "/", "\\", "(", ")", "[", "]", "{", "}", '"', "'", "@", ",")
SEPARATORS += ("#", "$", "+", "&", "?", "|", "<", ">", "*", "%", ";", "!", "~", "`", "^", "0", "a", "A", "\x00", "é")
# Fillers that make long runs around a near-match: spaces, digits-and-dots, hex, word characters, brackets.
FILLERS = (" ", "\t", "0", "1.", "1.2.", "0x1 ", "a", "aA0", "a.", "a-", "a_", "(", "[", "{", ":", "::", "=", "@", "/")
FILLERS += ("é", "ab@", "a=", "a:", "- ", ". ", "ff", "1:", "1-", "a/", "a b", "-1", "_1", "1 ")

# Attack families: each test of tests/test_regex_linear_time.py is named after one.
FAMILIES = (
    "repeated_words",
    "words_joined_by_separators",
    "long_runs_around_a_match",
    "repeated_near_misses",
    "alternating_words",
    "filler_runs",
)
# Inputs per family and pattern: spread evenly over what the family generates (it keeps every kind of input).
_PER_FAMILY = 72


@dataclass(frozen=True, slots=True)
class Attack:
    family: str
    name: str
    text: str


def _category_char(category: Any) -> str:
    name = str(category).lower()
    if "digit" in name:
        return "7" if "not" not in name else "x"
    if "space" in name:
        return " " if "not" not in name else "x"
    if "word" in name:
        return "k" if "not" not in name else " "
    return "x"


def _class_chars(items: list[tuple[Any, Any]]) -> list[str]:
    """A few characters a character class accepts (a negated class: characters it most likely accepts)."""
    out: list[str] = []
    if any(op == sre_c.NEGATE for op, _ in items):
        return ["x", " ", "0"]
    for op, av in items:
        if op == sre_c.LITERAL:
            out.append(chr(av))
        elif op == sre_c.RANGE:
            lo, hi = av
            out += [chr(lo), chr(hi)]
        elif op == sre_c.CATEGORY:
            out.append(_category_char(av))
    return out


def _walk(tree: Any, words: list[str], chars: list[str]) -> None:
    """Collects runs of literals (the pattern's words) and sample characters of its classes."""
    run: list[str] = []

    def flush() -> None:
        if run:
            words.append("".join(run))
            run.clear()

    for op, av in tree:
        if op == sre_c.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op == sre_c.NOT_LITERAL:
            chars.append("x" if av != ord("x") else "y")
        elif op == sre_c.IN:
            chars.extend(_class_chars(av))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
            _walk(av[2], words, chars)
        elif op == sre_c.SUBPATTERN:
            _walk(av[-1], words, chars)
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            _walk(av[1], words, chars)
        elif op == sre_c.ATOMIC_GROUP:
            _walk(av, words, chars)
        elif op == sre_c.BRANCH:
            for branch in av[1]:
                _walk(branch, words, chars)
        elif op == sre_c.GROUPREF_EXISTS:
            _walk(av[1], words, chars)
            if av[2] is not None:
                _walk(av[2], words, chars)
    flush()


def _sample(tree: Any, extra: int) -> str:
    """One text the pattern (nearly) matches: each repeat taken `extra` times past its minimum."""
    out: list[str] = []
    for op, av in tree:
        if op == sre_c.LITERAL:
            out.append(chr(av))
        elif op == sre_c.NOT_LITERAL:
            out.append("x" if av != ord("x") else "y")
        elif op == sre_c.ANY:
            out.append("x")
        elif op == sre_c.IN:
            chars = _class_chars(av)
            out.append(chars[0] if chars else "x")
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            count = lo + extra if hi == sre_c.MAXREPEAT else min(hi, lo + extra)
            out.append(_sample(sub, extra) * min(count, 64))
        elif op == sre_c.SUBPATTERN:
            out.append(_sample(av[-1], extra))
        elif op == sre_c.ATOMIC_GROUP:
            out.append(_sample(av, extra))
        elif op == sre_c.BRANCH:
            out.append(_sample(av[1][0], extra))
        elif op == sre_c.GROUPREF_EXISTS:
            out.append(_sample(av[1], extra))
    return "".join(out)


def _branches(tree: Any) -> list[Any]:
    """The top-level alternatives (a sample of each), looking through enclosing groups."""
    items = list(tree)
    while len(items) == 1 and items[0][0] == sre_c.SUBPATTERN:
        items = list(items[0][1][-1])
    for op, av in items:
        if op == sre_c.BRANCH:
            return list(av[1])
    return [items]


def _unique(items: list[str], limit: int) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))[:limit]


def vocabulary(pattern: re.Pattern[Any]) -> tuple[list[str], list[str], list[str]]:
    """(literal words, class characters, near-matching samples) of a pattern, deduplicated, in a stable order."""
    source = pattern.pattern
    text = source.decode("latin-1") if isinstance(source, bytes) else source
    tree = sre_parse.parse(text, pattern.flags & ~re.DEBUG)
    words: list[str] = []
    chars: list[str] = []
    _walk(tree, words, chars)
    samples = [_sample(branch, extra) for branch in _branches(tree)[:16] for extra in (0, 1, 3)]
    samples.append(_sample(tree, 2))
    return _unique(words, 24), _unique(chars, 24), _unique(samples, 12)


def _fit(unit: str, size: int) -> str:
    return unit * max(1, size // max(1, len(unit)))


def _spread(items: list[Attack], limit: int) -> list[Attack]:
    """At most `limit` of `items`, evenly spaced, so every kind of input keeps some representatives."""
    unique = list({attack.text: attack for attack in items}.values())
    if len(unique) <= limit:
        return unique
    step = len(unique) / limit
    return [unique[int(i * step)] for i in range(limit)]


def _family(pattern: re.Pattern[Any], size: int, family: str) -> Iterator[Attack]:
    words, chars, samples = vocabulary(pattern)
    tokens = words + [c for c in chars if c not in words]

    def attack(name: str, text: str) -> Attack:
        return Attack(family, name, text)

    if family == "repeated_words":
        for token in tokens + samples:
            yield attack(f"{token!r} repeated", _fit(token, size))
    elif family == "words_joined_by_separators":
        for word in (words + samples)[:12]:
            for sep in SEPARATORS:
                yield attack(f"{word!r} joined by {sep!r}", _fit(word + sep, size))
    elif family == "long_runs_around_a_match":
        for sample in samples[:8]:
            for filler in FILLERS:
                pad = _fit(filler, size - 2 * len(sample))
                yield attack(f"{sample!r} around a {filler!r} run", sample + pad + sample)
                yield attack(f"{sample[:-1]!r} before a {filler!r} run", sample[:-1] + pad)
                yield attack(f"{sample!r} after a {filler!r} run", pad + sample)
    elif family == "repeated_near_misses":
        for sample in samples:
            for near in (sample[:-1], sample[1:], sample[: len(sample) // 2]):
                if near:
                    yield attack(f"near-miss {near!r} repeated", _fit(near, size))
                    for sep in (" ", "\n", ".", ":", "=", "-", "/", "("):
                        yield attack(f"near-miss {near!r} joined by {sep!r}", _fit(near + sep, size))
    elif family == "alternating_words":
        for first in tokens[:10]:
            for second in tokens[:10]:
                if first != second:
                    yield attack(f"{first!r}{second!r} alternating", _fit(first + second, size))
                    yield attack(f"{first!r} run then {second!r}", _fit(first, size - len(second)) + second)
    elif family == "filler_runs":
        for filler in FILLERS:
            yield attack(f"{filler!r} run", _fit(filler, size))
        yield attack("digits and dots", _fit("1.2.3.", size))
        yield attack("nested brackets", "(" * (size // 2) + ")" * (size // 2))
        yield attack("unclosed brackets", _fit("([{<", size))
        yield attack("letters and digits", _fit(string.ascii_letters + string.digits, size))
        yield attack("printable characters", _fit(string.printable, size))


def attacks(pattern: re.Pattern[Any], size: int, family: str) -> list[Attack]:
    """Inputs of about `size` characters aimed at `pattern`, of one family."""
    return _spread(list(_family(pattern, size, family)), _PER_FAMILY)


def cpu_seconds(call: Callable[[], object], *, tries: int = 3, enough: float = 0.0) -> float:
    """This thread's CPU time for `call()`, the least of up to `tries` runs (stopping once one is below `enough`):
    other processes on a shared machine then distort it little."""
    import time

    best = float("inf")
    for _ in range(tries):
        start = time.thread_time()
        call()
        best = min(best, time.thread_time() - start)
        if best < enough:
            break
    return best
