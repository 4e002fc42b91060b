"""`key=value`, `key: value`, `"key": "value"` and `?key=value` in free text where the key is sensitive.

The regex only proposes pairs whose key contains a sensitive term; the `KeyMatcher` then makes the same decision
it makes for attribute keys, so `input_tokens=12` survives while `access_token=abc` becomes
`access_token=[redacted]`.

Linear time: a key starts only where no key character precedes it and is read once, possessively, at most
`KEY_MAX_CHARS` characters (a longer word is no key); the look-ahead that finds the sensitive term reads no further.
So text made of one sensitive word repeated (`"token" * 4000`) costs one bounded read per word start, not one
pass per occurrence of the term. Values are read possessively or within a bound.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ._keys import KeyMatcher, segments

_DIGITS_TO_ZERO = str.maketrans("0123456789", "0000000000")
# Anchor letters for the gate, best first: ones other gates already scan for, then rare ones. A letter not
# listed gets `find() == -1`, i.e. 99 after `% 100`, i.e. last.
_ANCHOR_PREFERENCE = "askzjqxvwkybgfmpuhdcl"


def _term_regex(term: str) -> str:
    # Segments may be joined by one of `_ . -` or nothing (camelCase): api_key, Api-Key, apiKey, APIKEY.
    return r"[_.\-]?".join(re.escape(seg) for seg in segments(term))


# Authentication schemes printed before a credential: `Authorization: Basic <credential>`.
_SCHEME = r"(?i:bearer|basic|token|digest|bot)"
# Longest key the rule reads: a longer run of key characters is not a key (and its gate reads no further).
KEY_MAX_CHARS = 128


def kv_pattern(terms: Iterable[str], placeholders: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted({_term_regex(t) for t in terms if segments(t)}, key=len, reverse=True))
    # The first letters of the terms: a position where none starts skips the whole alternation.
    firsts = "".join(sorted({segments(t)[0][0] for t in terms if segments(t)}))
    placeholder = "|".join(sorted({re.escape(p) for p in placeholders}))
    return re.compile(
        # the key, optionally quoted (also JSON-in-JSON `\"key\"`), must contain a sensitive term
        # (first, cheaply: a key character after an optional quote, which most positions of any text fail)
        r"(?<![\w.\-])(?=\\?[\"']?[\w.\-])(?P<kq>\\?[\"']?)"
        rf"(?P<key>(?=[\w.\-]{{0,{KEY_MAX_CHARS}}}?(?i:(?=[{firsts}])(?:{alternatives})))[\w.\-]{{1,{KEY_MAX_CHARS}}}+)"
        r"(?P=kq)"
        # `=` or `:`, but not `==`, `!=`, `::` or `:=`
        r"(?P<sep>[ \t]*+(?<![=!<>:])[:=](?![=:])[ \t]*+)"
        # already scrubbed (`[api_key]`, `Bearer [token]`): the more specific label stays; the pair is not even
        # proposed, so text scrubbed once costs no replacement call when it is checked again
        r"(?!(?:" + _SCHEME + r"[ \t]+)?\[(?:" + placeholder + r")\](?![\w\]]))"
        # an auth scheme stays readable: `Authorization: Basic [redacted]`
        r"(?P<scheme>" + _SCHEME + r"[ \t]++)?"
        r"(?:(?P<q>\\?[\"'])(?P<qv>[^\n]{0,4096}?)(?P=q)"  # quoted value, may contain spaces
        r"|(?P<br>\[[^\s\]]{0,512}+\])"  # bracketed value
        r"|(?P<raw>[^\s\"'\\&,;<>()\[\]{}]++)(?!\())",  # bare value up to a delimiter; `get_token()` is code
        re.ASCII,
    )


def kv_gate(terms: Iterable[str]) -> tuple[bytes, ...]:
    """Gate branches (see `_gates`): a sensitive term followed, within the same key, by a `=`/`:` separator.

    Each term is anchored on a letter of its first segment, preferring letters other gates already anchor on
    (a, s, k), so the sensitive keys add no extra scan of the text: `password` becomes `assword(?<=password)`.
    """
    branches = set()
    for term in terms:
        segs = segments(term.lower().translate(_DIGITS_TO_ZERO))
        if not segs:
            continue
        first = segs[0]
        k = min(range(len(first)), key=lambda i: (_ANCHOR_PREFERENCE.find(first[i]) % 100, i))
        # The literal after the anchor comes before the look-behind: `re` rejects most anchor hits on that
        # literal without entering the look-behind, which is what keeps a busy anchor like `a` cheap.
        anchor = first[k:] + (f"(?<={first})" if k else "")
        # Then the rest of the key after the term's last occurrence in it (so no character there starts the term
        # again; a term repeated along a word is not re-read from each occurrence), a quote, spaces, separator.
        # The key holds the term, so that rest is shorter than KEY_MAX_CHARS.
        again = r"[_.\-]?".join(segs)
        tail = rf"(?:(?!{again})[\w.\-]){{0,{KEY_MAX_CHARS}}}+\\?[\"']?[ \t]*+[:=]"
        branches.add((r"[_.\-]?".join([anchor, *segs[1:]]) + tail).encode())
    return tuple(sorted(branches))


# A quoted value an earlier rule already scrubbed (`"Bearer [token]"`, `"[api_key]"`) keeps its specific label.
_SCRUBBED = re.compile(r"(?:" + _SCHEME + r"\s++)?\[[a-z_]+\]")


def kv_replacer(matcher: KeyMatcher) -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        if not matcher.sensitive(m["key"]):
            return m[0]
        if m["qv"] is not None and _SCRUBBED.fullmatch(m["qv"]):
            return m[0]
        kq = m["kq"]
        head = f"{kq}{m['key']}{kq}{m['sep']}{m['scheme'] or ''}"
        q = m["q"]
        return f"{head}{q}[redacted]{q}" if q else f"{head}[redacted]"

    return replace
