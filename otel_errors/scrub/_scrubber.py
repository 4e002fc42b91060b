"""The `Scrubber`: runs the ordered rules over free text, memoised, and never raises."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from ..stacktext import header_cut_at
from ._attributes import CUT_MARGIN, REDACTED, TRUNCATED, AttributeWalker
from ._config import ScrubConfig
from ._gates import GateSet, fold
from ._keys import KeyMatcher
from ._rules import Rule, build_rules

# Texts longer than this are scrubbed but not memoised, so the memo's memory stays bounded
# (memo_size x 2 x this, ~16 MB at the defaults in the worst case; ~4 MB for 2 KB traces).
_MEMO_MAX_CHARS = 8192
# The scrubber's own bound on one text (docs/pii.md, "Limits"): the rules never read more than this plus
# CUT_MARGIN characters of it. Above the longest text the processor stores (64 KiB stack traces), so that the
# processor's own cut and marker are what is stored; this only bounds what any caller can make the rules read.
TEXT_MAX_CHARS = 72 * 1024
# How much shorter than TEXT_MAX_CHARS a cut text's kept part starts: scrubbing the cut may lengthen it.
_CUT_SLACK = 256
# What a text becomes if a rule ever raises (a bug): losing the text beats storing it unscrubbed.
_FAILSAFE = "[redacted]"
_MAX_PASSES = 4
# Traces without their message remembered as clean or not (`Scrubber.exception`); ~2 KB each.
_TEMPLATES = 2048
# Rules whose matches cannot cross a `: ` before, or a line break after, a text, and whose gates cannot either:
# matches of digits with single space or dash separators (card) or of characters without whitespace (ipv4, ipv6,
# url_password), whose look-arounds read the one or two characters next to a match, which a space or a line
# break fails exactly as the text's start or end does. The ids and counts in messages open the card gate, and the
# `file.js:12:34` positions of JavaScript traces open the ipv6 gate (and URLs the url_password one), without a
# match that would change anything.
_LOCAL_RULES = frozenset({"card", "ipv4", "ipv6", "url_password"})
# What the attribute walk does with a top-level scalar under a key (`AttributeWalker.mapping`, in its order).
_SCRUB, _KEEP, _REDACT = 0, 1, 2
# Attribute keys remembered with their action and scrubbed text: keys are low-cardinality, and long ones are not
# remembered.
_KEYS = 4096
_KEY_MAX_CHARS = 256
# Attribute string values remembered with what the walk makes of them (`AttributeWalker.string`): tool names,
# models, URLs and query texts repeat on every span. Bounded: at most 2 x _VALUES x _VALUE_MAX_CHARS characters.
_VALUES = 4096
_VALUE_MAX_CHARS = 512


class Scrubber:
    """Scrubs PII and secrets from text and OTLP attributes according to a `ScrubConfig`.

    Thread-safe and pure: the same input always gives the same output, and `text(text(x)) == text(x)`.
    `memo_size` bounds an LRU memo keyed on the text: error tracking sees the same stack traces over and over.
    """

    __slots__ = (
        "config",
        "_rules",
        "_gates",
        "_matcher",
        "_walker",
        "_memo",
        "_clean_templates",
        "_local",
        "_key_actions",
        "_values",
    )

    def __init__(self, config: ScrubConfig | None = None, *, memo_size: int = 1024) -> None:
        self.config = config if config is not None else ScrubConfig()
        self._matcher = KeyMatcher(self.config.sensitive_keys, self.config.allow_keys)
        self._rules: tuple[Rule, ...] = build_rules(self.config, self._matcher)
        self._gates = GateSet([r.gate for r in self._rules])
        self._local = frozenset(i for i, r in enumerate(self._rules) if r.name in _LOCAL_RULES)
        self._memo: Callable[[str], str] = lru_cache(maxsize=memo_size)(self._scrub) if memo_size > 0 else self._scrub
        self._walker = AttributeWalker(self._matcher, self.text, self.config.max_value_length)
        self._clean_templates: dict[str, bool] = {}
        self._key_actions: dict[str, tuple[int, str, bool]] = {}
        self._values: dict[str, str] = {}

    @property
    def rule_names(self) -> tuple[str, ...]:
        """The rules this scrubber runs, in order."""
        return tuple(r.name for r in self._rules)

    def text(self, text: str) -> str:
        """Scrub one free-text value: an exception message, a stack trace, a log body. A text longer than
        TEXT_MAX_CHARS is cut (`_cut`)."""
        if not self.config.enabled or not text:
            return text
        try:
            if len(text) <= _MEMO_MAX_CHARS:
                return self._memo(text)
            if len(text) <= TEXT_MAX_CHARS:
                return self._scrub(text)
            return self._cut(text)
        except Exception:  # noqa: BLE001 - the ingest path must never fail because of scrubbing
            return _FAILSAFE

    def _cut(self, text: str) -> str:
        """A text over TEXT_MAX_CHARS: its start, scrubbed with CUT_MARGIN characters after it (a secret across the
        cut still goes), cut, followed by `...[truncated]` and scrubbed again (the cut or the marker may complete
        a match). At most TEXT_MAX_CHARS long and scrubbed to a fixed point, so `text()` leaves it as it is."""
        kept = self._scrub(text[: TEXT_MAX_CHARS + CUT_MARGIN])
        size = TEXT_MAX_CHARS - _CUT_SLACK
        while True:
            out = self._scrub(kept[:size] + TRUNCATED)
            if len(out) <= TEXT_MAX_CHARS:
                return out
            size = max(0, size - _CUT_SLACK)

    def exception(self, message: str, stacktrace: str) -> tuple[str, str]:
        """`(text(message), text(stacktrace))`, where the trace usually prints the message in it.

        Exact shortcut for the common case: when no rule's gate opens on the message, nor on the trace with the
        message cut out (memoized: the trace without its ids repeats), and the message sits in a header line
        (`Type: <message>` ending the line), no gate can open on the whole trace either: every gate pattern
        is contiguous text without `: ` or a line break inside, so none straddles the cut. Nothing to scrub
        then, in either. Otherwise both are scrubbed as texts.

        The same holds when only local rules' gates open on the message, or on the trace without it, and one pass
        of them leaves each unchanged (`_LOCAL_RULES`: ids open the card gate, JavaScript frame positions the ipv6
        one): on the whole trace only those rules would run, and their matches cannot reach past `: ` or the
        line's end, so they are the matches in either part, which changed nothing. (The cut itself, a NUL
        between `: ` and a line break, lies in no such match.)"""
        if (
            not self.config.enabled
            or not message
            or not stacktrace
            or len(stacktrace) > _MEMO_MAX_CHARS
            or self._gates.always
        ):
            return self.text(message), self.text(stacktrace)
        try:
            at = header_cut_at(message, stacktrace)
            if at < 0:
                return self.text(message), self.text(stacktrace)
            opened = self._gates.open(fold(message))
            if opened and not opened <= self._local:
                return self.text(message), self.text(stacktrace)
            template = stacktrace[:at] + "\x00" + stacktrace[at + len(message) :]
            clean = self._clean_templates.get(template)
            if clean is None:
                if len(self._clean_templates) >= _TEMPLATES:
                    self._clean_templates.clear()
                opened_template = self._gates.open(fold(template))
                clean = self._clean_templates[template] = not opened_template or (
                    opened_template <= self._local and self._run(template, opened_template) == template
                )
            if opened and not (clean and self._run(message, opened) == message):
                return self.text(message), self.text(stacktrace)
        except Exception:  # noqa: BLE001 - the ingest path must never fail because of scrubbing
            return self.text(message), self.text(stacktrace)
        # The message opened no gate (or only local ones that changed nothing): it is its own scrubbed text.
        return message, stacktrace if clean else self.text(stacktrace)

    def attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """A new attribute dict with the same shape: values under sensitive keys become `[redacted]`, other
        strings (also inside lists, bytes and nested kvlists) are scrubbed like text, and so are the keys (except
        allowed ones): `{"bob@example.com": 1}` -> `{"[email]": 1}`. Strings longer than
        `ATTRIBUTE_MAX_CHARS` (or `max_value_length`) are cut."""
        if not self.config.enabled:
            return dict(attributes)
        out = self._scalars(attributes)
        return out if out is not None else self._walker.mapping(attributes)

    def _scalars(self, attributes: Mapping[Any, Any]) -> dict[str, Any] | None:
        """`_walker.mapping(attributes)` for the common span, whose keys are `str` and values scalars; else None.

        Exact: for such a mapping the walk gives, per key in order, the value itself under an allowed key,
        `redact(value)` (None stays None, any other scalar becomes `[redacted]`) under a sensitive one, and
        otherwise the value for None/int/float/bool and `_walker.string(value)` for a string; each stored under
        the key, scrubbed unless allowed (`_walker.key`). The key's action and scrubbed text, and a string's
        result, depend on nothing else, so they are remembered (`_key_actions`, `_values`: bounded, cleared when
        full; exact types only, so an equal str subclass or a bool-for-int never hits). Two keys that scrub to
        the same text are left to the walk, which numbers them."""
        out: dict[str, Any] = {}
        actions, values = self._key_actions, self._values
        misses = None
        renamed = False  # until a key is renamed, the keys are the mapping's own, hence distinct
        for original, value in attributes.items():
            if type(original) is not str:
                return None
            remembered = actions.get(original)
            if remembered is None:
                remembered = self._key_action(original)
            action, key, scrubbed_key = remembered
            if scrubbed_key or renamed:
                renamed = True
                if key in out:
                    return None  # scrubbing made two keys equal: the walk numbers them
            kind = type(value)
            if kind is str:
                if action == _SCRUB:
                    scrubbed = values.get(value)
                    if scrubbed is None:
                        if misses is None:
                            misses = []
                        misses.append(key)
                        scrubbed = value  # placeholder, replaced by _fill
                    out[key] = scrubbed
                else:
                    out[key] = value if action == _KEEP else REDACTED
            elif value is None:
                out[key] = None
            elif kind is int or kind is float or kind is bool:
                out[key] = REDACTED if action == _REDACT else value
            else:
                return None
        if misses is not None:
            self._fill(out, misses)
        return out

    def _key_action(self, key: str) -> tuple[int, str, bool]:
        """What the walk does with a scalar under `key`, the key it stores it under (scrubbed unless allowed), and
        whether that differs from `key`."""
        if self._matcher.allowed(key):
            remembered = (_KEEP, key, False)
        else:
            scrubbed = self._walker.key(key, key)
            action = _REDACT if self._matcher.sensitive(key) else _SCRUB
            remembered = (action, scrubbed, scrubbed != key)
        # Not the failsafe of a rule that raised: that might not raise next time.
        if len(key) <= _KEY_MAX_CHARS and (remembered[1] is not _FAILSAFE or key == _FAILSAFE):
            if len(self._key_actions) >= _KEYS:
                self._key_actions.clear()  # crude but bounded; a miss only costs one recomputation
            self._key_actions[key] = remembered
        return remembered

    def _fill(self, out: dict[str, Any], misses: list[str]) -> None:
        """Replaces the not-yet-remembered strings `out[key]` by `_walker.string(out[key])`, and remembers them.

        They are decided at once (and without the text memo, which ids would only churn) when no rule's gate opens
        on them joined by line breaks: gates are searches
        for contiguous text that starts with a literal character, so one that opens on any single value opens
        on the join too; when none opens on the join, none would on a value, and each comes out unchanged.
        Likewise when only local rules' gates open (see `exception`) and one pass of them changes nothing in
        the join: their matches never span a line break, so each value would come out unchanged."""
        strings = [out[key] for key in misses]
        clean = False
        if not self._gates.always and self.config.max_value_length is None:
            joined = strings[0] if len(strings) == 1 else "\n".join(strings)
            if len(joined) <= _MEMO_MAX_CHARS:
                try:
                    opened = self._gates.open(fold(joined))
                    clean = not opened or (opened <= self._local and self._run(joined, opened) == joined)
                except Exception:  # noqa: BLE001 - a failing rule: the per-value scrub decides (and fails safe)
                    clean = False
        string, values = self._walker.string, self._values
        for key, value in zip(misses, strings, strict=True):
            scrubbed = value if clean else string(value)
            out[key] = scrubbed
            # Not the failsafe of a rule that raised: that might not raise next time.
            if len(value) <= _VALUE_MAX_CHARS and (scrubbed is not _FAILSAFE or value == _FAILSAFE):
                if len(values) >= _VALUES:
                    values.clear()
                values[value] = scrubbed

    def _scrub(self, text: str) -> str:
        # Rules are designed so one pass is a fixed point, but adjacent matches can expose a new one once a
        # neighbour became a label (`a@b.io=@c.io`). Re-running until nothing changes makes idempotence a
        # guarantee rather than a hope; clean text pays nothing, scrubbed text usually one extra cheap pass.
        for _ in range(_MAX_PASSES):
            scrubbed = self._pass(text)
            if scrubbed == text:
                return scrubbed
            text = scrubbed
        return text

    def _pass(self, text: str) -> str:
        # Gates read the original text's fold: replacements only insert labels, which never contain a later
        # rule's trigger, so an earlier rule cannot make a closed gate wrong.
        opened = self._gates.open(fold(text))
        if not opened:
            return text
        return self._run(text, opened)

    def _run(self, text: str, opened: frozenset[int]) -> str:
        """The opened rules, in order, over `text`."""
        for i, rule in enumerate(self._rules):
            if i in opened:
                text = rule.pattern.sub(rule.replacement, text)
        return text
