"""The scrubbing rules: one named, ordered list. `docs/pii.md` documents exactly this list, in this order.

Order matters. Whole structures go first so their parts are not half-scrubbed by a later rule: a private key
block before anything inside it, URL credentials before the email rule would see `pass@host`, `Bearer <x>`
before the JWT and provider-key rules (the header keeps its readable `Bearer [token]`), an AWS secret key before
the access key id it is found next to, and provider keys before the `key=value` rule (which keeps an
already-specific `[api_key]`). Replacements never contain text that an earlier rule would match again, which is
what makes one pass idempotent.

Every pattern here runs on received text, so each is linear in it: runs are possessive where the next item
cannot continue them, and where a start position would read an unbounded run the read is bounded
(tests/test_regex_linear_time.py attacks each pattern).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import _aws, _iban, _personal
from ._cards import CARD, is_card
from ._config import ScrubConfig
from ._extras import ExtraPattern
from ._keys import KeyMatcher
from ._kv import kv_gate, kv_pattern, kv_replacer
from ._labels import BUILTIN_LABELS
from ._network import IPV4, IPV6_CANDIDATE, ipv6_plausible

Replacement = str | Callable[[re.Match[str]], str]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    label: str  # what a match becomes, for docs: "[email]"
    pattern: re.Pattern[str] | ExtraPattern  # an extra pattern's replacement is its label
    replacement: Replacement
    # See _gates: literal-first bytes regexes over the folded text, one must match for the rule to run.
    gate: tuple[bytes, ...] | None = None


def _keep_if(check: Callable[[str], bool], label: str) -> Callable[[re.Match[str]], str]:
    """Replacement that only fires when the candidate passes `check` (Luhn, IPv6 plausibility)."""
    return lambda m: label if check(m[0]) else m[0]


def _email(m: re.Match[str]) -> str:
    """`[email]`, keeping what precedes the last `= / ? & '` of the local part: in `user=bob@x.io`,
    `/users/bob@x.io` or `'bob@x.io'` that is a key, a path or a quote, not the address (`user=[email]`)."""
    local = m["local"]
    cut = max(local.rfind("="), local.rfind("/"), local.rfind("?"), local.rfind("&"), local.rfind("'")) + 1
    return local[:cut] + "[email]" if cut else "[email]"


def _c(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags | re.ASCII)


# Key body characters of most providers: URL-safe base64.
_B64 = r"[A-Za-z0-9_\-]"

_HEAD: tuple[Rule, ...] = (
    Rule(
        "private_key",
        "[private_key]",
        # A complete PEM/PGP block, or - when truncated - the header and whatever key body follows it. The block
        # ends at its END line and does not run past the next BEGIN: each header reads up to one of them.
        _c(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:(?:[^-]++|-(?!----BEGIN ))*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
            r"|[A-Za-z0-9+/=\s\\:,.\-]*+)"
        ),
        "[private_key]",
        (rb"-----begin [a-z0 ]*private key",),
    ),
    Rule(
        "url_password",
        "scheme://user:[password]@host",
        # The password runs to the last `@` before the path, so unencoded `@` in passwords is covered.
        _c(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*+://[^\s:/?#@\"'<>\[\]]*+):[^\s/?#\"'<>]*@"),
        r"\1:[password]@",
        (rb"@",),
    ),
    Rule(
        "bearer",
        "Bearer [token]",
        _c(r"\b((?i:bearer))(\s++)[A-Za-z0-9\-._~+/]{6,}+=*+"),
        r"\1\2[token]",
        (rb"arer(?<=bearer)",),
    ),
    Rule(
        "jwt",
        "[jwt]",
        _c(rf"(?<![\w\-])eyJ{_B64}{{2,}}+\.eyJ{_B64}{{2,}}+\.[A-Za-z0-9_\-+/=]*+"),
        "[jwt]",
        (rb"j(?<=eyj)\.?",),
    ),
    Rule(
        "openai_anthropic_key",
        "[api_key]",
        # sk-..., sk-proj-..., sk-svcacct-..., sk-admin-..., Anthropic sk-ant-api03-...
        _c(rf"(?<![\w\-])sk-(?:ant-|proj-|svcacct-|admin-)?{_B64}{{20,}}"),
        "[api_key]",
        (rb"-(?<=sk-)",),
    ),
    Rule("aws_secret_key", "[aws_secret]", _aws.AWS_SECRET, _aws.REPLACEMENT, _aws.GATE),
    Rule(
        "aws_access_key",
        "[api_key]",
        _c(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        "[api_key]",
        (rb"akia", rb"asia"),
    ),
    Rule(
        "github_token",
        "[api_key]",
        _c(r"(?<![\w\-])(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
        "[api_key]",
        (rb"h[pousr]_(?<=gh[pousr]_)", rb"hub_pat_(?<=github_pat_)"),
    ),
    Rule(
        "slack_token",
        "[api_key]",
        _c(r"(?<![\w\-])(?:xox[bpars]-[A-Za-z0-9\-]{10,}|xapp-[0-9]-[A-Za-z0-9\-]{10,})"),
        "[api_key]",
        (rb"-(?<=xox[bpars]-)", rb"-(?<=xapp-)"),
    ),
    Rule(
        "stripe_key",
        "[api_key]",
        _c(r"(?<![\w\-])[spr]k_(?:live|test)_[A-Za-z0-9]{10,}"),
        "[api_key]",
        (rb"k_(?:live|test)_",),
    ),
    Rule(
        "google_api_key",
        "[api_key]",
        _c(rf"(?<![\w\-])AIza{_B64}{{35}}(?![\w\-])"),
        "[api_key]",
        (rb"aiza",),
    ),
    Rule(
        "sendgrid_key",
        "[api_key]",
        _c(rf"(?<![\w\-])SG\.{_B64}{{16,}}+\.{_B64}{{16,}}+"),
        "[api_key]",
        (rb"sg\.",),
    ),
    Rule(
        "huggingface_token",
        "[api_key]",
        _c(r"(?<![\w\-])hf_[A-Za-z0-9]{30,}"),
        "[api_key]",
        (rb"hf_",),
    ),
)

_EMAIL = Rule(
    "email",
    "[email]",
    # Local part of word chars and . % + -; domain of labels with a letter TLD, so `pkg@1.2.3` and
    # `Object@1b6d3586` stay. The gate wants `x@label.` - decorators like `@app.route` still open it, harmlessly.
    # The local part takes RFC 5322 "atext"; see _email for what is kept of it.
    _c(
        r"(?<![\w.!#$%&'*+/=?^`{|}~\-])(?P<local>[\w.!#$%&'*+/=?^`{|}~\-]++)"
        r"@[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)*\.[A-Za-z][A-Za-z0-9\-]*+"
    ),
    _email,
    (rb"@[a-z0\-]+\.",),
)

_CARD = Rule(
    "card",
    "[card]",
    CARD,
    _keep_if(is_card, "[card]"),
    # The two shapes of CARD without its `\b`s and with the separators not forced equal: a necessary condition
    # (card characters are ASCII digits, spaces and dashes, contiguous in the fold). Shape 1 has 4+4+4+1..4
    # digits, so 8-digit counts and limits (`Limit 30000000`) and 12-hex-digit ids, which often hold 8 digits
    # in a row, no longer open it; 13+-digit runs (ms timestamps) still do, and the rule decides.
    (rb"0000[ \-]?0000[ \-]?0000[ \-]?0", rb"0000[ \-]?000000[ \-]?00000"),
)

_IBAN = Rule("iban", "[iban]", _iban.IBAN, _iban.replace_iban, _iban.GATE)
_SSN = Rule("ssn", "[ssn]", _personal.SSN, "[ssn]", _personal.SSN_GATE)
_PHONE = Rule("phone", "[phone]", _personal.PHONE, "[phone]", _personal.PHONE_GATE)

_IPV4 = Rule("ipv4", "[ip]", IPV4, "[ip]", (rb"\.0(?<=0\.0)0{0,2}\.0{1,3}\.0",))

_IPV6 = Rule(
    "ipv6",
    "[ip]",
    IPV6_CANDIDATE,
    _keep_if(ipv6_plausible, "[ip]"),
    # Compressed addresses contain `::`; full ones have `:group:`.
    (rb":(?::|[0a-f]{1,4}:)",),
)


def build_rules(config: ScrubConfig, matcher: KeyMatcher) -> tuple[Rule, ...]:
    """The ordered rule list for one configuration."""
    extras = tuple(Rule(name, f"[{name}]", ExtraPattern(regex), f"[{name}]") for name, regex in config.extra_patterns)
    secret_kv = Rule(
        "secret_kv",
        "key=[redacted]",
        kv_pattern(config.sensitive_keys, BUILTIN_LABELS + tuple(name for name, _ in config.extra_patterns)),
        kv_replacer(matcher),
        kv_gate(config.sensitive_keys),
    )
    rules = (*_HEAD, secret_kv, *_TAIL)
    if config.scrub_ips:
        rules += (_IPV4, _IPV6)
    return rules + extras


_TAIL = (_EMAIL, _CARD, _IBAN, _SSN, _PHONE)


def builtin_rule_names(scrub_ips: bool = True) -> tuple[str, ...]:
    """Names of the built-in rules in the order they run (docs and tests compare against this)."""
    names = [r.name for r in _HEAD] + ["secret_kv"] + [r.name for r in _TAIL]
    if scrub_ips:
        names += [_IPV4.name, _IPV6.name]
    return tuple(names)
