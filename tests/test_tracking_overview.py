"""docs/metrics.md, overview and categories: each definition checked on hand-made data through the real write
path and the real endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from tracking_helpers import HOUR, MINUTE, now_ns, post, run, tracking, write


def _scenario(url: str, ws: str, at: int) -> None:
    """Current window: 4 executions of agent-1 (u1, u2, u1 failed; u3 fine), credits 2 per failed execution;
    errors: A critical (u1), B medium x2 (u1: 1, u2: 1). Previous window: 4 executions, 1 failed."""
    prev = at - 24 * HOUR
    write(
        url,
        run(ws, at, type="AError", message="a", severity="critical", user="u1", credits=2.0, source="database"),
        run(ws, at + MINUTE, type="BError", message="b", user="u1", credits=2.0, source="api"),
        run(ws, at + 2 * MINUTE, type="BError", message="b", user="u2", credits=2.0, source="api"),
        run(ws, at + 3 * MINUTE, user="u3", errors=0, failed=False, credits=5.0),
        run(ws, prev, type="CError", message="c", user="u9"),
        *[run(ws, prev + i * MINUTE, user="u9", errors=0, failed=False) for i in range(1, 4)],
    )


@pytest.mark.parametrize("timeframe", ["1h", "24h"])
def test_overview_definitions(migrated: str, workspace: str, timeframe: str) -> None:
    at = now_ns() - 20 * MINUTE
    _scenario(migrated, workspace, at)
    o = tracking(migrated, workspace, timeframe, price_per_credit=0.5)["overview"]
    assert o["totalErrors"] == 3 and o["uniqueErrors"] == 2
    assert o["affectedUsers"] == 2 and o["affectedAgents"] == 1
    assert o["errorRate"] == 75.0  # 3 failed of 4 executions
    # The previous hour holds nothing for 1h; the previous day holds 1 failed of 4 for 24h.
    assert o["errorRateChange"] == (75.0 if timeframe == "1h" else 50.0)
    assert o["criticalErrorRate"] == 33.33  # 1 critical of 3 occurrences
    assert o["userImpact"] == 66.67  # u1, u2 of the active u1, u2, u3
    assert o["systemImpact"] == "critical"  # error rate >= 25%
    assert o["estimatedRevenueLoss"] == 3.0  # 6 credits of failed executions x 0.5
    # No recovery episode, no resolution: no data is null, never a measured-looking 0.
    assert (o["avgRecoveryTime"], o["autoRecoveryRate"], o["manualInterventions"]) == (None, None, 0)


@pytest.mark.parametrize("timeframe", ["1h", "24h", "7d", "30d"])
def test_severity_filter_restricts_counts(migrated: str, workspace: str, timeframe: str) -> None:
    at = now_ns() - 20 * MINUTE
    _scenario(migrated, workspace, at)
    body = tracking(migrated, workspace, timeframe, severity="critical")
    o = body["overview"]
    assert (o["totalErrors"], o["uniqueErrors"], o["affectedUsers"]) == (1, 1, 1)
    wide = timeframe in ("7d", "30d")  # the previous day's data is inside these windows
    assert o["errorRate"] == (50.0 if wide else 75.0)  # executions carry no severity: unfiltered
    assert body["categories"]["bySeverity"] == {"critical": 1, "high": 0, "medium": 0, "low": 0}
    assert [t["type"] for t in body["categories"]["byType"]] == ["AError"]
    assert [e["type"] for e in body["errors"]] == ["AError"]
    medium = tracking(migrated, workspace, timeframe, severity="medium")
    n = 3 if wide else 2
    assert medium["overview"]["totalErrors"] == n and medium["overview"]["criticalErrorRate"] == 0.0
    assert medium["categories"]["bySeverity"] == {"critical": 0, "high": 0, "medium": n, "low": 0}
    assert sum(p["count"] for p in medium["timeline"]["errorsByTime"]) == n
    assert tracking(migrated, workspace, timeframe, severity="low")["overview"]["totalErrors"] == 0


@pytest.mark.parametrize("timeframe", ["1h", "30d"])
def test_severity_filter_counts_people_by_their_own_occurrences(migrated: str, workspace: str, timeframe: str) -> None:
    """One error, a critical occurrence for u1 and two medium ones for u2 (agent-2): under severity=critical only
    u1 and agent-1 are affected, with u1's critical occurrences as its frequency; under medium only u2."""
    at = now_ns() - 20 * MINUTE
    write(
        migrated,
        run(workspace, at, type="XError", message="x", severity="critical", user="u1"),
        run(
            workspace, at + MINUTE, type="XError", message="x", severity="medium", user="u2", agent="agent-2", errors=2
        ),
    )
    critical = tracking(migrated, workspace, timeframe, severity="critical")
    o = critical["overview"]
    assert (o["totalErrors"], o["uniqueErrors"], o["affectedUsers"], o["affectedAgents"]) == (1, 1, 1, 1)
    users = critical["correlations"]["userCorrelation"]
    assert [(u["userId"], u["frequency"], u["errorTypes"]) for u in users] == [("u1", 1, ["XError"])]
    assert [a["agentId"] for a in critical["correlations"]["agentCorrelation"]] == ["agent-1"]
    medium = tracking(migrated, workspace, timeframe, severity="medium")
    assert (medium["overview"]["affectedUsers"], medium["overview"]["affectedAgents"]) == (1, 1)
    assert [(u["userId"], u["frequency"]) for u in medium["correlations"]["userCorrelation"]] == [("u2", 2)]
    everyone = tracking(migrated, workspace, timeframe)["overview"]
    assert (everyone["affectedUsers"], everyone["affectedAgents"]) == (2, 2)


def test_by_severity_and_by_source(migrated: str, workspace: str) -> None:
    _scenario(migrated, workspace, now_ns() - 20 * MINUTE)
    c = tracking(migrated, workspace, "24h")["categories"]
    assert c["bySeverity"] == {"critical": 1, "high": 0, "medium": 2, "low": 0}
    assert c["bySource"] == {"agent": 0, "api": 2, "database": 1, "integration": 0, "system": 0}


def test_system_impact_levels_from_the_error_rate(migrated: str, workspace: str) -> None:
    at = now_ns() - 30 * MINUTE
    write(
        migrated,
        run(workspace, at, severity="medium"),
        *[run(workspace, at + i * 1000, errors=0, failed=False) for i in range(1, 20)],
    )
    assert tracking(migrated, workspace, "1h")["overview"]["systemImpact"] == "medium"  # 5% failed, medium
    write(migrated, *[run(workspace, at + i * 1000, errors=0, failed=False) for i in range(20, 60)])
    assert tracking(migrated, workspace, "1h")["overview"]["systemImpact"] == "low"  # 1 of 60: 1.67%


def test_by_type_counts_percentage_trend_severity_and_samples(migrated: str, workspace: str) -> None:
    at = now_ns() - 3 * HOUR
    prev = at - 24 * HOUR
    write(
        migrated,
        run(workspace, at, type="AError", message="a", errors=4, severity="high", category="timeout"),
        run(workspace, at + MINUTE, type="BError", message="b", errors=2),
        run(workspace, at + 2 * MINUTE, type="CError", message="c", errors=1),
        run(workspace, prev, type="AError", message="a", errors=1),
        run(workspace, prev, type="BError", message="b", errors=2),
        run(workspace, prev, type="CError", message="c", errors=5),
    )
    by_type = {t["type"]: t for t in tracking(migrated, workspace, "24h")["categories"]["byType"]}
    assert [(t, v["count"], v["percentage"], v["trend"]) for t, v in by_type.items()] == [
        ("AError", 4, 57.14, "increasing"),
        ("BError", 2, 28.57, "stable"),
        ("CError", 1, 14.29, "decreasing"),
    ]
    a = by_type["AError"]
    assert (a["category"], a["severity"]) == ("timeout", "high")
    assert len(a["samples"]) == 3 and all(s["message"] == "a" for s in a["samples"])
    times = [s["occurredAt"] for s in a["samples"]]
    assert times == sorted(times, reverse=True)


def test_manual_interventions_count_resolutions_in_the_window(migrated: str, workspace: str) -> None:
    write(
        migrated,
        run(workspace, now_ns() - 10 * MINUTE, type="AError", message="a"),
        run(workspace, now_ns() - 10 * MINUTE, type="BError", message="b"),
    )
    body: dict[str, Any] = tracking(migrated, workspace, "1h")
    for error in body["errors"]:
        response = post(
            migrated,
            f"/api/v1/workspaces/{workspace}/errors/{error['errorId']}/resolve",
            {"resolvedBy": "ana", "resolution": "fixed"},
        )
        assert response.status_code == 200, response.text
    assert tracking(migrated, workspace, "1h")["overview"]["manualInterventions"] == 2
