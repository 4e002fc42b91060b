"""docs/metrics.md, timeline: buckets, spikes (3x baseline, merged, primary cause, resolved) and patterns."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from tracking_helpers import DAY, HOUR, MINUTE, now_ns, run, tracking, write


def _away_from_the_hour() -> None:
    """Tests that place data in the current hour wait out the first seconds of an hour."""
    while time.time() % 3600 < 15 or time.time() % 3600 > 3590:
        time.sleep(1)


def _bucket(points: list[dict[str, Any]], at_ns: int) -> dict[str, Any]:
    at = dt.datetime.fromtimestamp(at_ns / 1e9, dt.UTC)
    return next(
        p
        for p in points
        if dt.datetime.fromisoformat(p["timestamp"])
        <= at
        < dt.datetime.fromisoformat(p["timestamp"]) + dt.timedelta(hours=1)
    )


def test_errors_by_time_counts_critical_and_unique_per_bucket(migrated: str, workspace: str) -> None:
    _away_from_the_hour()
    at = now_ns() - 3 * HOUR
    write(
        migrated,
        run(workspace, at, type="XError", message="x", severity="critical", errors=3),
        run(workspace, at, type="YError", message="y", errors=2),
    )
    points = tracking(migrated, workspace, "24h")["timeline"]["errorsByTime"]
    bucket = _bucket(points, at)
    assert (bucket["count"], bucket["criticalCount"], bucket["uniqueErrors"]) == (5, 3, 2)
    assert sum(p["count"] for p in points) == 5
    critical = tracking(migrated, workspace, "24h", severity="critical")["timeline"]["errorsByTime"]
    assert (_bucket(critical, at)["count"], _bucket(critical, at)["uniqueErrors"]) == (3, 1)


def test_a_spike_over_three_times_the_baseline_with_its_primary_cause(migrated: str, workspace: str) -> None:
    _away_from_the_hour()
    now = now_ns()
    steady = [run(workspace, now - k * HOUR, type="NoiseError", message="n") for k in range(20, 9, -1)]
    spike = [
        run(workspace, now - 5 * HOUR, type="XError", message="x", errors=8),
        run(workspace, now - 5 * HOUR, type="YError", message="y", errors=2),
    ]
    after = [run(workspace, now - k * HOUR, type="NoiseError", message="n") for k in range(4, 0, -1)]
    write(migrated, *steady, *spike, *after)
    body = tracking(migrated, workspace, "24h")
    spikes = body["timeline"]["spikes"]
    assert len(spikes) == 1
    s = spikes[0]
    x = next(e["errorId"] for e in body["errors"] if e["type"] == "XError")
    assert (s["peakErrors"], s["totalErrors"], s["primaryCause"], s["resolved"]) == (10, 10, x, True)
    start = dt.datetime.fromisoformat(s["startTime"])
    assert dt.datetime.fromisoformat(s["endTime"]) - start == dt.timedelta(hours=1)
    assert start <= dt.datetime.fromtimestamp((now - 5 * HOUR) / 1e9, dt.UTC) < start + dt.timedelta(hours=1)


@pytest.mark.parametrize("timeframe,step", [("1h", 5 * MINUTE), ("24h", HOUR), ("30d", DAY)])
def test_each_spike_has_its_own_primary_cause(migrated: str, workspace: str, timeframe: str, step: int) -> None:
    """Two spikes in one window, each caused by another error: the causes of all spikes are read in one statement
    and come back in the spikes' order, on every rollup the spikes read (minute, hour, day: time and date bounds)."""
    _away_from_the_hour()
    now = now_ns()
    steady = [run(workspace, now - k * step, type="NoiseError", message="n") for k in range(11, 0, -1)]
    first = run(workspace, now - 8 * step, type="FirstError", message="f", errors=8)
    second = run(workspace, now - 3 * step, type="SecondError", message="s", errors=8)
    write(migrated, *steady, first, second)
    body = tracking(migrated, workspace, timeframe)
    ids = {e["type"]: e["errorId"] for e in body["errors"]}
    spikes = body["timeline"]["spikes"]
    assert [(s["primaryCause"], s["totalErrors"], s["resolved"]) for s in spikes] == [
        (ids["FirstError"], 9, True),
        (ids["SecondError"], 9, True),
    ]


def test_adjacent_spike_buckets_merge_and_an_ongoing_spike_is_unresolved(migrated: str, workspace: str) -> None:
    _away_from_the_hour()
    now = now_ns()
    steady = [run(workspace, now - k * HOUR, type="NoiseError", message="n") for k in range(10, 1, -1)]
    spike = [
        run(workspace, now - HOUR, type="XError", message="x", errors=6),
        run(workspace, now - 2000 * 1_000_000, type="XError", message="x", errors=9),
    ]
    write(migrated, *steady, *spike)
    spikes = tracking(migrated, workspace, "24h")["timeline"]["spikes"]
    assert [(s["peakErrors"], s["totalErrors"], s["resolved"]) for s in spikes] == [(9, 15, False)]


def test_no_spike_without_a_jump(migrated: str, workspace: str) -> None:
    now = now_ns()
    write(
        migrated, *[run(workspace, now - k * HOUR, type="NoiseError", message="n", errors=2) for k in range(12, 0, -1)]
    )
    assert tracking(migrated, workspace, "24h")["timeline"]["spikes"] == []


def _patterns(body: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [p for p in body["timeline"]["patterns"] if p["correlation"].startswith(prefix)]


def test_recurring_hour_of_day_pattern(migrated: str, workspace: str) -> None:
    now = now_ns()
    write(
        migrated,
        *[run(workspace, now - k * DAY - 2 * HOUR, type="NightlyError", message="cron", errors=3) for k in range(1, 5)],
    )
    hour = dt.datetime.fromtimestamp((now - 2 * HOUR) / 1e9, dt.UTC).hour
    for timeframe in ("7d", "30d"):
        found = _patterns(tracking(migrated, workspace, timeframe), "hour of day")
        assert [(p["correlation"], p["frequency"]) for p in found] == [(f"hour of day {hour:02d}:00 UTC", 4)]
    assert _patterns(tracking(migrated, workspace, "24h"), "hour of day") == []  # needs three days


def test_onset_right_after_a_new_version(migrated: str, workspace: str) -> None:
    now = now_ns()
    write(
        migrated,
        run(workspace, now - 3 * DAY, type="OldError", message="o", version="1.0.0"),
        run(workspace, now - 2 * HOUR, type="OldError", message="o", version="1.0.0"),
        run(workspace, now - 3 * HOUR, type="NewError", message="n1", version="2.0.0"),
        run(workspace, now - 3 * HOUR + 30 * MINUTE, type="OtherError", message="n2", version="2.0.0"),
        run(workspace, now - HOUR, type="LaterError", message="n3", version="2.0.0"),
    )
    found = _patterns(tracking(migrated, workspace, "24h"), "service.version")
    assert [(p["correlation"], p["frequency"]) for p in found] == [("service.version 2.0.0", 2)]


def test_concentration_on_one_agent_user_and_environment(migrated: str, workspace: str) -> None:
    at = now_ns() - HOUR
    write(
        migrated,
        run(workspace, at, agent="agent-a", user="u1", environment="prod", errors=9),
        run(workspace, at, agent="agent-b", user="u2", environment="staging", type="OtherError", message="s"),
    )
    body = tracking(migrated, workspace, "24h")
    assert [(p["correlation"], p["frequency"]) for p in _patterns(body, "agent")] == [("agent agent-a", 9)]
    assert [(p["correlation"], p["frequency"]) for p in _patterns(body, "user")] == [("user u1", 9)]
    assert [(p["correlation"], p["frequency"]) for p in _patterns(body, "environment")] == [("environment prod", 9)]


def test_no_concentration_when_shared(migrated: str, workspace: str) -> None:
    at = now_ns() - HOUR
    write(
        migrated,
        run(workspace, at, agent="agent-a", user="u1", environment="prod", errors=5),
        run(workspace, at, agent="agent-b", user="u2", environment="staging", type="OtherError", message="s", errors=5),
    )
    body = tracking(migrated, workspace, "24h")
    assert [p for p in body["timeline"]["patterns"] if not p["correlation"].startswith("service.version")] == []
