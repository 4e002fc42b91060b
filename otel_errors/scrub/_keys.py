"""Which attribute / text keys are sensitive (their whole value is redacted).

Matching works on a normalised key: lower-cased, camelCase split, and every run of non-alphanumerics turned into
one `_` (`X-Api-Key` -> `x_api_key`, `awsSecretAccessKey` -> `aws_secret_access_key`). A sensitive term matches
  * as a substring (written with `_` or with no separator: `api_key` / `apikey`) when the term has 5+ letters
    (`db_password`, `setcookie`, `xapikey`), because long terms rarely occur by accident inside another word; or
  * as whole segments only when shorter (`auth` matches `x_auth`, `auth_header`, never `author`).
A key that also has a "measurement" segment (count, tokens, usage, length, ...) is not sensitive: OTel GenAI keys
such as `gen_ai.usage.input_tokens` or `llm.token_count.prompt` carry numbers, not secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_SENSITIVE_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "secret",
    "token",
    "auth",
    "authorization",
    "api_key",
    "apikey",
    "access_key",
    "credential",
    "credentials",
    "cookie",
    "session",
    "private_key",
    "signature",
)

# Segments that turn a key into a measurement of a secret rather than the secret itself.
_BENIGN_SEGMENTS = frozenset(
    {
        "count",
        "counts",
        "tokens",
        "tokenizer",
        "usage",
        "length",
        "len",
        "size",
        "type",
        "limit",
        "ttl",
        "expires",
        "expiry",
        "expiration",
    }
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SUBSTRING_MIN = 5  # terms with at least this many letters may match inside a longer segment
_CACHE_MAX = 4096  # distinct keys remembered; attribute keys are low-cardinality
_CACHE_KEY_MAX_CHARS = 256  # longer keys are not remembered, so the cache holds at most ~1 MB of them


def segments(key: str) -> list[str]:
    """`X-Api-Key` -> [x, api, key]; `awsSecretAccessKey` -> [aws, secret, access, key]."""
    return [seg for seg in _NON_ALNUM.split(_CAMEL.sub("_", key).lower()) if seg]


class KeyMatcher:
    """Decides whether a key is sensitive; memoises answers because the same keys repeat on every span."""

    __slots__ = ("_whole", "_variants", "_allow", "_cache")

    def __init__(self, sensitive: Iterable[str], allow: Iterable[str] = ()) -> None:
        whole: list[tuple[str, ...]] = []
        variants: set[str] = set()
        for term in sensitive:
            segs = tuple(segments(term))
            if len("".join(segs)) >= _SUBSTRING_MIN:
                variants.update(("_".join(segs), "".join(segs)))
            elif segs:
                whole.append(segs)
        self._whole = tuple(whole)
        self._variants = tuple(sorted(variants))
        self._allow = frozenset(k.lower() for k in allow)
        self._cache: dict[str, bool] = {}

    def allowed(self, key: str) -> bool:
        """True when the key is on the allow list: its value is stored untouched."""
        return bool(self._allow) and key.lower() in self._allow

    def sensitive(self, key: str) -> bool:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._compute(key)
            if len(key) <= _CACHE_KEY_MAX_CHARS:
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()  # crude but bounded; a miss only costs one recomputation
                self._cache[key] = hit
        return hit

    def _compute(self, key: str) -> bool:
        if self.allowed(key):
            return False
        segs = segments(key)
        if not segs or _BENIGN_SEGMENTS.intersection(segs):
            return False
        normalised = "_".join(segs)
        if any(v in normalised for v in self._variants):
            return True
        n = len(segs)
        for term in self._whole:
            m = len(term)
            if any(tuple(segs[i : i + m]) == term for i in range(n - m + 1)):
                return True
        return False
