"""Pure computations of the error-tracking object (docs/metrics.md): windows, trend, spikes, patterns, priority.

No I/O: the API reads the rollups and hands plain numbers here, so every rule is unit-tested without a database.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .classify import Category, Severity

TimeframeLabel = Literal["1h", "24h", "7d", "30d"]
TrendLabel = Literal["increasing", "stable", "decreasing"]
Grain = Literal["minute", "hour", "day"]

# Trend: a change of more than 20% against the previous window of equal length.
TREND_THRESHOLD = 0.2
# Spikes: a bucket above 3x the median of up to 12 preceding non-spike buckets (at least 3 of them).
SPIKE_FACTOR = 3.0
SPIKE_LOOKBACK = 12
SPIKE_MIN_HISTORY = 3
# Concentration: one agent, user or environment carries at least 80% of at least 5 errors.
CONCENTRATION_SHARE = 0.8
CONCENTRATION_MIN_TOTAL = 5
# Recurring hour of day: on at least 3 distinct days, with at least 2x the mean hour-of-day total.
RECURRING_MIN_DAYS = 3
RECURRING_FACTOR = 2.0


@dataclass(frozen=True, slots=True)
class Window:
    timeframe: TimeframeLabel
    grain: Grain  # grain of the rollups the per-error aggregates read
    bucket: dt.timedelta  # timeline bucket
    buckets: int
    start: dt.datetime  # first bucket's start (inclusive)
    end: dt.datetime  # now
    prev_start: dt.datetime  # the previous window of equal length: [prev_start, start)

    @property
    def bucket_starts(self) -> list[dt.datetime]:
        return [self.start + i * self.bucket for i in range(self.buckets)]


_FRAMES: dict[str, tuple[Grain, dt.timedelta, int]] = {
    "1h": ("minute", dt.timedelta(minutes=5), 12),
    "24h": ("hour", dt.timedelta(hours=1), 24),
    "7d": ("day", dt.timedelta(hours=1), 168),
    "30d": ("day", dt.timedelta(days=1), 30),
}


def _floor(t: dt.datetime, step: dt.timedelta) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    seconds = int((t - epoch).total_seconds())
    size = int(step.total_seconds())
    return epoch + dt.timedelta(seconds=seconds - seconds % size)


def window(timeframe: TimeframeLabel, now: dt.datetime) -> Window:
    """The last N timeline buckets, the newest one in progress; they end at `now`."""
    grain, bucket, count = _FRAMES[timeframe]
    start = _floor(now, bucket) - (count - 1) * bucket
    return Window(timeframe, grain, bucket, count, start, now, start - count * bucket)


def percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def trend(current: float, previous: float) -> TrendLabel:
    """More than 20% up is increasing, more than 20% down decreasing; from nothing to something is increasing."""
    if previous <= 0:
        return "increasing" if current > 0 else "stable"
    if current > previous * (1 + TREND_THRESHOLD):
        return "increasing"
    if current < previous * (1 - TREND_THRESHOLD):
        return "decreasing"
    return "stable"


@dataclass(frozen=True, slots=True)
class Spike:
    first: int  # index of the first spike bucket
    last: int  # index of the last (inclusive)
    peak: int
    total: int
    resolved: bool  # a later bucket is back under the threshold


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def spikes(
    counts: Sequence[int],
    *,
    factor: float = SPIKE_FACTOR,
    lookback: int = SPIKE_LOOKBACK,
    min_history: int = SPIKE_MIN_HISTORY,
    min_count: int = 0,
) -> list[Spike]:
    """Buckets above `factor` x the baseline (median of up to `lookback` preceding non-spike buckets, at least
    `min_history`; a baseline under 1 counts as 1) and at least `min_count`, adjacent spike buckets merged;
    resolved when the last bucket is not a spike. The timeline and the spike alert rule both detect with this."""
    flagged: list[bool] = []
    history: list[int] = []
    for count in counts:
        baseline = _median(history[-lookback:]) if len(history) >= min_history else None
        is_spike = baseline is not None and count > factor * max(baseline, 1.0) and count >= min_count
        flagged.append(is_spike)
        if not is_spike:
            history.append(count)
    found: list[Spike] = []
    i = 0
    while i < len(counts):
        if not flagged[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(counts) and flagged[j + 1]:
            j += 1
        part = counts[i : j + 1]
        found.append(Spike(i, j, max(part), sum(part), resolved=j < len(counts) - 1))
        i = j + 1
    return found


def priority(severity: int, occurrences: int, users: int, fresh: bool) -> int:
    """0-100: 40 severity (1 low .. 4 critical), 30 occurrences in the window (log scale, 10k saturates),
    20 users affected (log scale, 1000 saturates), 10 when new or regressed in the window."""
    s = (min(max(severity, 1), 4) - 1) / 3.0
    o = min(1.0, math.log10(1 + max(occurrences, 0)) / 4.0)
    u = min(1.0, math.log10(1 + max(users, 0)) / 3.0)
    return round(40 * s + 30 * o + 20 * u + (10 if fresh else 0))


def system_impact(error_rate: float, critical: int, high: int, user_impact: float) -> Severity:
    """critical: error rate >= 25%, or critical errors reaching >= 10% of active users; high: error rate >= 10%
    or any critical error; medium: error rate >= 2% or any high error; else low."""
    if error_rate >= 25.0 or (critical > 0 and user_impact >= 10.0):
        return Severity.CRITICAL
    if error_rate >= 10.0 or critical > 0:
        return Severity.HIGH
    if error_rate >= 2.0 or high > 0:
        return Severity.MEDIUM
    return Severity.LOW


def concentration(weights: Mapping[str, float]) -> tuple[str, float] | None:
    """The key carrying >= 80% of a total of >= 5, when at least two keys share it."""
    total = sum(weights.values())
    if len(weights) < 2 or total < CONCENTRATION_MIN_TOTAL:
        return None
    key, weight = max(weights.items(), key=lambda kv: (kv[1], kv[0]))
    return (key, weight) if weight >= CONCENTRATION_SHARE * total else None


@dataclass(frozen=True, slots=True)
class RecurringHour:
    hour: int  # 0-23 UTC
    days: int
    total: int
    last: dt.datetime


def recurring_hours(hourly: Sequence[tuple[dt.datetime, int]]) -> list[RecurringHour]:
    """Hours of day (UTC) with errors on >= 3 distinct days and >= 2x the mean hour-of-day total."""
    totals = [0] * 24
    days: list[set[dt.date]] = [set() for _ in range(24)]
    last: list[dt.datetime | None] = [None] * 24
    for at, count in hourly:
        if count <= 0:
            continue
        h = at.astimezone(dt.UTC)
        totals[h.hour] += count
        days[h.hour].add(h.date())
        previous = last[h.hour]
        last[h.hour] = at if previous is None or at > previous else previous
    mean = sum(totals) / 24.0
    found = []
    for hour in range(24):
        seen = last[hour]
        if seen is not None and len(days[hour]) >= RECURRING_MIN_DAYS and totals[hour] >= RECURRING_FACTOR * mean:
            found.append(RecurringHour(hour, len(days[hour]), totals[hour], seen))
    return sorted(found, key=lambda r: -r.total)


# -- recovery (docs/metrics.md, "recovery") ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """Average, median and 95th percentile; None each when there is no data."""

    avg: float | None
    median: float | None
    p95: float | None


NO_DATA = Summary(None, None, None)


def summary(values: Sequence[float]) -> Summary:
    """Exact, over `values` (seconds)."""
    if not values:
        return NO_DATA
    ordered = sorted(values)
    return Summary(round(sum(ordered) / len(ordered), 3), round(_rank(ordered, 0.5), 3), round(_rank(ordered, 0.95), 3))


def _rank(ordered: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bucket_summary(buckets: Sequence[tuple[int, int, float]], base: float) -> Summary:
    """From (bucket, count, seconds summed) of recovery times, bucket b holding [base**b, base**(b+1)) ms: the
    average is exact, the median and p95 are the geometric middle of the bucket holding that rank (within
    sqrt(base) - 1 of the true value: 12% for base 1.25)."""
    kept = sorted((b, n, s) for b, n, s in buckets if n > 0 and b >= 0)
    total = sum(n for _b, n, _s in kept)
    if not total:
        return NO_DATA
    avg = sum(s for _b, _n, s in kept) / total

    def at(q: float) -> float:
        rank, seen = q * (total - 1), 0
        for b, n, _s in kept:
            seen += n
            if seen > rank:
                return round(float(base ** (b + 0.5)) / 1000, 3)
        return round(float(base ** (kept[-1][0] + 0.5)) / 1000, 3)

    return Summary(round(avg, 3), at(0.5), at(0.95))


# -- chains (docs/metrics.md, "errorChains") ---------------------------------------------------------------------

_RATE_LIMITED = ("ratelimit", "rate limit", "rate_limit", "too many requests", "throttl", "quota")


def preventable(category: int, error_type: str, title: str, status: object) -> bool:
    """A chain is preventable when its root is a failure a retry, a fallback or input checking stops: a timeout,
    a validation error, or a rate limit (its type or title says so, or its HTTP status is 429)."""
    if category in (Category.TIMEOUT, Category.VALIDATION):
        return True
    text = f"{error_type} {title}".lower()
    return str(status).strip() == "429" or any(word in text for word in _RATE_LIMITED)
