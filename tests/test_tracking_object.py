"""GET /error-tracking: the seed's whole object, exact camelCase names, and every field on hand-made data."""

from __future__ import annotations

from typing import Any

import pytest
from tracking_helpers import MINUTE, get, now_ns, run, tracking, write

SEED_KEYS = {
    "": {"workspaceId", "timeframe", "overview", "categories", "timeline", "errors", "topErrors", "correlations",
         "recovery"},
    "overview": {"totalErrors", "uniqueErrors", "affectedUsers", "affectedAgents", "errorRate", "errorRateChange",
                 "criticalErrorRate", "userImpact", "systemImpact", "estimatedRevenueLoss", "avgRecoveryTime",
                 "autoRecoveryRate", "manualInterventions"},
    "categories": {"byType", "bySeverity", "bySource"},
    "categories.bySeverity": {"critical", "high", "medium", "low"},
    "categories.bySource": {"agent", "api", "database", "integration", "system"},
    "timeline": {"errorsByTime", "spikes", "patterns"},
    "topErrors": {"byOccurrence", "byImpact", "unresolved"},
    "correlations": {"agentCorrelation", "userCorrelation", "errorChains"},
    "recovery": {"recoveryTimes", "recoveryMethods", "failedRecoveries"},
    "recovery.recoveryTimes": {"automatic", "manual"},
    "recovery.recoveryTimes.automatic": {"avg", "median", "p95"},
}


def _at(body: dict[str, Any], path: str) -> Any:
    for part in filter(None, path.split(".")):
        body = body[part]
    return body


def test_empty_workspace_has_every_seed_field_with_zeros(migrated: str, workspace: str) -> None:
    body = tracking(migrated, workspace, "24h")
    for path, keys in SEED_KEYS.items():
        assert set(_at(body, path)) == keys, path
    assert body["workspaceId"] == workspace and body["timeframe"] == "24h"
    assert body["overview"]["totalErrors"] == 0 and body["overview"]["systemImpact"] == "low"
    assert len(body["timeline"]["errorsByTime"]) == 24
    assert body["correlations"]["errorChains"] == [] and body["recovery"]["recoveryMethods"] == []


def test_items_carry_the_seed_names(migrated: str, workspace: str) -> None:
    t = now_ns() - 5 * MINUTE
    write(migrated, run(workspace, t, user="u1", credits=3.0, type="KeyError", message="missing key"))
    body = tracking(migrated, workspace, "1h")
    by_type = body["categories"]["byType"][0]
    assert set(by_type) == {"type", "category", "count", "percentage", "trend", "severity", "samples"}
    assert set(by_type["samples"][0]) >= {"errorId", "message", "stackTrace", "occurredAt"}
    assert set(body["timeline"]["errorsByTime"][0]) == {"timestamp", "count", "criticalCount", "uniqueErrors"}
    error = body["errors"][0]
    assert set(error) >= {"errorId", "fingerprint", "type", "message", "severity", "status", "firstSeen", "lastSeen",
                          "occurrences", "affectedUsers", "affectedAgents", "stackTrace", "context", "impact"}
    assert set(error["impact"]) >= {"usersAffected", "executionsAffected", "creditsLost", "cascadingFailures"}
    assert set(error["context"]) >= {"agentId", "userId", "workspaceId", "environment", "version", "metadata"}
    assert set(body["topErrors"]["byOccurrence"][0]) == {"errorId", "type", "count", "lastSeen"}
    assert set(body["topErrors"]["byImpact"][0]) == {"errorId", "type", "usersAffected", "creditsLost"}
    assert set(body["topErrors"]["unresolved"][0]) == {"errorId", "type", "age", "priority"}
    assert set(body["correlations"]["agentCorrelation"][0]) == {"agentId", "agentName", "errorTypes", "errorRate",
                                                                "commonCause"}
    assert set(body["correlations"]["userCorrelation"][0]) == {"userId", "errorTypes", "frequency",
                                                               "possibleCause"}


@pytest.mark.parametrize("timeframe,buckets,step", [("1h", 12, 300), ("24h", 24, 3600), ("7d", 168, 3600),
                                                    ("30d", 30, 86400)])
def test_timeline_bucket_sizes(migrated: str, workspace: str, timeframe: str, buckets: int, step: int) -> None:
    import datetime as dt

    points = tracking(migrated, workspace, timeframe)["timeline"]["errorsByTime"]
    assert len(points) == buckets
    times = [dt.datetime.fromisoformat(p["timestamp"]) for p in points]
    assert {int((b - a).total_seconds()) for a, b in zip(times, times[1:])} == {step}
    assert times[-1] <= dt.datetime.now(dt.timezone.utc) < times[-1] + dt.timedelta(seconds=step)


def test_bad_parameters_are_422(migrated: str, workspace: str) -> None:
    assert get(migrated, f"/api/v1/workspaces/{workspace}/error-tracking", timeframe="2h").status_code == 422
    assert get(migrated, f"/api/v1/workspaces/{workspace}/error-tracking", severity="bad").status_code == 422


def test_a_busy_pool_shares_the_request_connection_with_the_same_answer(migrated: str, workspace: str) -> None:
    """The object reads on spare pooled connections when they are free; with none (a pool of one connection, as
    when other requests hold them all) it runs every read on the request's own connection: same body, no wait."""
    at = now_ns() - 20 * MINUTE
    write(migrated, *[run(workspace, at + i * MINUTE, type=f"E{i % 3}Error", message=f"m{i % 3}", user=f"u{i}")
                      for i in range(12)])
    def settled(body: dict[str, Any]) -> dict[str, Any]:
        """Without what moves with the clock between the two calls: ages, and the end of a spike still running."""
        for u in body["topErrors"]["unresolved"]:
            u.pop("age")
        for spike in body["timeline"]["spikes"]:
            spike.pop("endTime")
        return body

    for timeframe in ("1h", "7d"):
        for _ in range(2):  # again if a timeline bucket boundary passed between the two calls
            wide = settled(tracking(migrated, workspace, timeframe))
            narrow = settled(tracking(migrated, workspace, timeframe, pool_min_size=1, pool_max_size=1))
            if wide["timeline"]["errorsByTime"][0] == narrow["timeline"]["errorsByTime"][0]:
                break
        assert narrow == wide and narrow["overview"]["totalErrors"] == 12
