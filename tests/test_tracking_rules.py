"""The pure rules of docs/metrics.md (otel_errors.analytics), on hand-made numbers, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from otel_errors import analytics as a

UTC = dt.UTC


def test_window_is_the_last_n_buckets_ending_now_and_the_previous_one_of_equal_length() -> None:
    now = dt.datetime(2026, 3, 10, 14, 37, 12, tzinfo=UTC)
    w = a.window("1h", now)
    assert (w.start, w.bucket, w.buckets, w.grain) == (
        dt.datetime(2026, 3, 10, 13, 40, tzinfo=UTC),
        dt.timedelta(minutes=5),
        12,
        "minute",
    )
    assert w.prev_start == dt.datetime(2026, 3, 10, 12, 40, tzinfo=UTC) and w.end == now
    assert w.bucket_starts[-1] == dt.datetime(2026, 3, 10, 14, 35, tzinfo=UTC)
    w = a.window("24h", now)
    assert (w.start, w.prev_start, w.grain) == (
        dt.datetime(2026, 3, 9, 15, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 15, tzinfo=UTC),
        "hour",
    )
    w = a.window("7d", now)
    assert (w.buckets, w.bucket, w.grain, w.start) == (
        168,
        dt.timedelta(hours=1),
        "day",
        dt.datetime(2026, 3, 3, 15, tzinfo=UTC),
    )
    w = a.window("30d", now)
    assert (w.buckets, w.start, w.prev_start) == (
        30,
        dt.datetime(2026, 2, 9, tzinfo=UTC),
        dt.datetime(2026, 1, 10, tzinfo=UTC),
    )


def test_percent_is_rounded_and_zero_over_nothing() -> None:
    assert a.percent(1, 3) == 33.33 and a.percent(5, 0) == 0.0 and a.percent(3, 4) == 75.0


@pytest.mark.parametrize(
    "current,previous,expected",
    [
        (121, 100, "increasing"),
        (120, 100, "stable"),
        (80, 100, "stable"),
        (79, 100, "decreasing"),
        (1, 0, "increasing"),
        (0, 0, "stable"),
        (0, 3, "decreasing"),
    ],
)
def test_trend_rule(current: int, previous: int, expected: str) -> None:
    assert a.trend(current, previous) == expected


def test_spike_is_a_bucket_above_three_times_the_median_of_preceding_buckets() -> None:
    found = a.spikes([2, 2, 2, 7, 2, 2])
    assert [(s.first, s.last, s.peak, s.total, s.resolved) for s in found] == [(3, 3, 7, 7, True)]
    assert a.spikes([2, 2, 2, 6, 2]) == []  # 6 is not above 3 x 2


def test_adjacent_spike_buckets_merge_and_an_ongoing_spike_is_not_resolved() -> None:
    found = a.spikes([1, 1, 1, 9, 12, 1, 1, 1, 20, 30])
    assert [(s.first, s.last, s.peak, s.total, s.resolved) for s in found] == [
        (3, 4, 12, 21, True),
        (8, 9, 30, 50, False),
    ]


def test_spike_needs_three_buckets_of_history_and_a_baseline_of_at_least_one() -> None:
    assert a.spikes([0, 0, 50]) == []  # two buckets of history: no baseline yet
    assert [s.first for s in a.spikes([0, 0, 0, 4])] == [3]  # baseline 0 counts as 1: 4 > 3
    assert a.spikes([0, 0, 0, 3]) == []


def test_spike_baseline_ignores_earlier_spike_buckets() -> None:
    # The long spike keeps being a spike: its own buckets do not raise the baseline.
    found = a.spikes([1, 1, 1, 10, 10, 10, 10, 10, 10, 1])
    assert [(s.first, s.last) for s in found] == [(3, 8)]


def test_priority_formula() -> None:
    assert a.priority(4, 0, 0, False) == 40
    assert a.priority(1, 0, 0, False) == 0
    assert a.priority(4, 9999, 999, True) == 100
    assert a.priority(4, 9, 1, True) == 60  # 40 + 30 * 0.25 + 20 * log10(2) / 3 + 10 = 59.5
    assert a.priority(2, 99, 9, False) == 35  # 13.33 + 15 + 6.67
    assert a.priority(3, 10**9, 10**9, False) == 77  # saturated: 26.67 + 30 + 20


@pytest.mark.parametrize(
    "rate,critical,high,users,expected",
    [
        (25.0, 0, 0, 0.0, "critical"),
        (1.0, 1, 0, 10.0, "critical"),
        (10.0, 0, 0, 0.0, "high"),
        (0.0, 1, 0, 9.99, "high"),
        (2.0, 0, 0, 0.0, "medium"),
        (0.0, 0, 1, 0.0, "medium"),
        (1.99, 0, 0, 50.0, "low"),
    ],
)
def test_system_impact_levels(rate: float, critical: int, high: int, users: float, expected: str) -> None:
    assert a.system_impact(rate, critical, high, users).label == expected


def test_concentration_needs_80_percent_of_at_least_five_across_two_keys() -> None:
    assert a.concentration({"a": 8, "b": 2}) == ("a", 8)
    assert a.concentration({"a": 7, "b": 3}) is None
    assert a.concentration({"a": 4}) is None  # one key: nothing to be concentrated against
    assert a.concentration({"a": 3, "b": 0}) is None  # total under 5


def test_recurring_hour_of_day() -> None:
    base = dt.datetime(2026, 3, 1, 3, tzinfo=UTC)
    hourly = [(base + dt.timedelta(days=d), 4) for d in range(3)]  # 03:00 on three days
    hourly += [(base + dt.timedelta(days=d, hours=h), 2) for d, h in ((0, 2), (1, 5), (2, 9), (3, 2))]
    found = a.recurring_hours(hourly)
    assert [(r.hour, r.days, r.total, r.last) for r in found] == [(3, 3, 12, base + dt.timedelta(days=2))]
    assert a.recurring_hours(hourly[:2]) == []  # two days only
    # Three days at 03:00 but drowned in errors at every hour: under twice the mean hour-of-day total.
    busy = hourly + [(base + dt.timedelta(hours=h), 12) for h in range(24)]
    assert a.recurring_hours(busy) == []
    flat = [(base + dt.timedelta(hours=h), 1) for h in range(24 * 4)]
    assert a.recurring_hours(flat) == []  # every hour alike: nothing stands out
