"""Alert rules and the decisions made on them, pure (docs/alerts.md): what a rule of each kind needs, its defaults,
which errors it matches, when its condition holds, and how a webhook is signed and retried.

No I/O: the evaluator (`otel_errors.exporter.alerts`) reads the rollups and hands plain numbers here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from . import analytics
from .classify import Category, Severity

RuleKind = Literal["new_error", "regression", "spike", "error_rate", "frequency"]
KINDS: tuple[RuleKind, ...] = ("new_error", "regression", "spike", "error_rate", "frequency")
# Kinds about one error (subject: its id); the others watch the workspace (subject: '').
PER_ERROR: frozenset[str] = frozenset({"new_error", "regression", "frequency"})
# The per-minute rollup is kept for 2 hours: windows and baselines read from it must fit.
MAX_MINUTES = 115


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as stored, without its identity. Fields a kind does not read keep their defaults.

    - new_error:  fires on an error's first occurrence; resolves after `window_minutes` without an occurrence.
    - regression: fires on an occurrence of a resolved error; resolves like new_error.
    - spike:      occurrences in the last `window_minutes` above `threshold` x the baseline (median of the
                  preceding windows over `baseline_minutes`) and at least `min_count`.
    - error_rate: failed / all executions over `window_minutes` above `threshold` percent, with at least
                  `min_count` executions.
    - frequency:  one error above `threshold` occurrences, or above `users` affected users, in `window_minutes`.
    """

    kind: RuleKind
    name: str = ""
    enabled: bool = True
    environment: str | None = None
    agent_id: str | None = None
    category: Category | None = None
    min_severity: Severity | None = None
    window_minutes: int = 60
    baseline_minutes: int = 60
    threshold: float = 0.0
    min_count: int = 0
    users: int | None = None
    renotify_minutes: int = 60

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        out = []
        if self.kind not in KINDS:
            out.append(f"kind must be one of {', '.join(KINDS)}")
        if not 1 <= self.window_minutes <= (MAX_MINUTES if self.kind in ("spike", "error_rate", "frequency") else 1440):
            out.append("windowMinutes is out of range")
        if not 0 <= self.renotify_minutes <= 10080:
            out.append("renotifyMinutes must be between 0 (never) and 10080")
        if not len(self.name) <= 200:
            out.append("name must be at most 200 characters")
        if self.kind == "spike":
            if not 1.0 < self.threshold <= 1000.0:
                out.append("threshold (the factor over the baseline) must be above 1 and at most 1000")
            if self.baseline_minutes < 3 * self.window_minutes or self.baseline_minutes + self.window_minutes > (
                MAX_MINUTES
            ):
                out.append(
                    f"baselineMinutes must hold at least 3 windows and, with the window, at most {MAX_MINUTES} minutes"
                )
            if not 1 <= self.min_count <= 10**9:
                out.append("minCount must be at least 1")
        if self.kind == "error_rate":
            if not 0.0 < self.threshold < 100.0:
                out.append("threshold (percent of failed executions) must be between 0 and 100")
            if not 1 <= self.min_count <= 10**9:
                out.append("minCount (executions) must be at least 1")
            if self.environment is not None or self.category is not None or self.min_severity is not None:
                out.append("an error_rate rule filters by agent only (executions have no category or severity)")
        if self.kind == "frequency":
            if not 1 <= self.threshold <= 1e12:
                out.append("threshold (occurrences) must be at least 1")
            if self.users is not None and not 1 <= self.users <= 10**9:
                out.append("users must be at least 1")
        return out


DEFAULT_RULES: tuple[RuleSpec, ...] = (
    RuleSpec("new_error", name="New error", window_minutes=60),
    RuleSpec("regression", name="Regression", window_minutes=60),
    RuleSpec("spike", name="Spike", window_minutes=5, baseline_minutes=60, threshold=3.0, min_count=10),
    RuleSpec("error_rate", name="Error rate above 5%", window_minutes=15, threshold=5.0, min_count=20),
    RuleSpec("frequency", name="Frequent error", window_minutes=60, threshold=100, users=20),
)


@dataclass(frozen=True, slots=True)
class ErrorFacts:
    """What a rule's filters read of an error (its stored row: the first occurrence's environment and agent)."""

    severity: int
    category: int
    environment: str
    agent_id: str
    status: str


def matches(rule: RuleSpec, error: ErrorFacts) -> bool:
    """The error passes the rule's filters; ignored errors never alert, resolved ones wait for a regression."""
    if error.status in ("ignored", "resolved"):
        return False
    if rule.environment is not None and error.environment != rule.environment:
        return False
    if rule.agent_id is not None and error.agent_id != rule.agent_id:
        return False
    if rule.category is not None and error.category != rule.category:
        return False
    return rule.min_severity is None or error.severity >= rule.min_severity


@dataclass(frozen=True, slots=True)
class SpikeNow:
    """A spike in progress: its buckets' first index, its total and the baseline-window figures."""

    first: int
    current: int
    total: int


def spike_buckets(rule: RuleSpec) -> int:
    """Windows read for a spike rule: the baseline's and the current one."""
    return rule.baseline_minutes // rule.window_minutes + 1


def spike_now(rule: RuleSpec, counts: Sequence[int]) -> SpikeNow | None:
    """The spike the last window is part of, or None. `counts`: occurrences per window, oldest first, the last
    one ending now. The same detector as the timeline's spikes (`analytics.spikes`) with the rule's figures."""
    lookback = rule.baseline_minutes // rule.window_minutes
    found = analytics.spikes(
        counts, factor=rule.threshold, lookback=lookback, min_history=min(3, lookback), min_count=rule.min_count
    )
    if not found or found[-1].resolved:
        return None
    return SpikeNow(found[-1].first, counts[-1], found[-1].total)


def rate_firing(rule: RuleSpec, executions: int, failed: int) -> bool:
    return executions >= rule.min_count and 100.0 * failed > rule.threshold * executions


def frequency_firing(rule: RuleSpec, occurrences: int, users: int) -> bool:
    return occurrences > rule.threshold or (rule.users is not None and users > rule.users)


def with_changes(rule: RuleSpec, **changes: object) -> RuleSpec:
    """The rule with some fields changed, validated again (PATCH)."""
    return dataclasses.replace(rule, **changes)  # type: ignore[arg-type]


# -- delivery ---------------------------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Otel-Errors-Signature"
TIMESTAMP_HEADER = "X-Otel-Errors-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex, as `sha256=<hex>` (the timestamp header holds `timestamp`)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def refused_address(address: str) -> str | None:
    """Why a webhook must not connect to `address` (an IP literal), or None. Loopback, private, link-local,
    unspecified, multicast and reserved addresses reach internal services, not a receiver on the internet."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return f"{address} is a site-local address"
        # An IPv4 address carried inside IPv6 (mapped, 6to4, Teredo's client) is judged as itself too.
        for inner in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            reason = refused_address(str(inner)) if inner is not None else None
            if reason is not None:
                return f"{address} carries {reason}"
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
    for name in ("loopback", "link_local", "private", "unspecified", "multicast", "reserved"):
        if getattr(ip, f"is_{name}"):
            return f"{address} is a {name.replace('_', '-')} address"
    if not ip.is_global:
        return f"{address} is not a global address"
    return None


def backoff_seconds(attempt: int, base: float) -> float:
    """Wait before retry number `attempt` (1 = the first retry): base, 2 x base, 4 x base, ... at most 5 minutes."""
    return float(min(300.0, base * (2 ** max(0, attempt - 1))))


def retryable(http_status: int | None) -> bool:
    """Network failures, timeouts, 408, 429 and 5xx are retried; any other answer is final."""
    return http_status is None or http_status in (408, 429) or http_status >= 500
