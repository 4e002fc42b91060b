"""GET /error-tracking: the seed's whole object, exact camelCase names, and every field on hand-made data."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from tracking_helpers import HOUR, MINUTE, get, now_ns, run, tracking, write

SEED_KEYS = {
    "": {
        "workspaceId",
        "timeframe",
        "overview",
        "categories",
        "timeline",
        "errors",
        "topErrors",
        "correlations",
        "recovery",
    },
    "overview": {
        "totalErrors",
        "uniqueErrors",
        "affectedUsers",
        "affectedAgents",
        "errorRate",
        "errorRateChange",
        "criticalErrorRate",
        "userImpact",
        "systemImpact",
        "estimatedRevenueLoss",
        "avgRecoveryTime",
        "autoRecoveryRate",
        "manualInterventions",
    },
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
    assert set(error) >= {
        "errorId",
        "fingerprint",
        "type",
        "message",
        "severity",
        "status",
        "firstSeen",
        "lastSeen",
        "occurrences",
        "affectedUsers",
        "affectedAgents",
        "stackTrace",
        "context",
        "impact",
    }
    assert set(error["impact"]) >= {"usersAffected", "executionsAffected", "creditsLost", "cascadingFailures"}
    assert set(error["context"]) >= {"agentId", "userId", "workspaceId", "environment", "version", "metadata"}
    assert set(body["topErrors"]["byOccurrence"][0]) == {"errorId", "type", "count", "lastSeen"}
    assert set(body["topErrors"]["byImpact"][0]) == {"errorId", "type", "usersAffected", "creditsLost"}
    assert set(body["topErrors"]["unresolved"][0]) == {"errorId", "type", "age", "priority"}
    assert set(body["correlations"]["agentCorrelation"][0]) == {
        "agentId",
        "agentName",
        "errorTypes",
        "errorRate",
        "commonCause",
    }
    assert set(body["correlations"]["userCorrelation"][0]) == {"userId", "errorTypes", "frequency", "possibleCause"}


@pytest.mark.parametrize(
    "timeframe,buckets,step", [("1h", 12, 300), ("24h", 24, 3600), ("7d", 168, 3600), ("30d", 30, 86400)]
)
def test_timeline_bucket_sizes(migrated: str, workspace: str, timeframe: str, buckets: int, step: int) -> None:
    import datetime as dt

    points = tracking(migrated, workspace, timeframe)["timeline"]["errorsByTime"]
    assert len(points) == buckets
    times = [dt.datetime.fromisoformat(p["timestamp"]) for p in points]
    assert {int((b - a).total_seconds()) for a, b in itertools.pairwise(times)} == {step}
    assert times[-1] <= dt.datetime.now(dt.UTC) < times[-1] + dt.timedelta(seconds=step)


def test_bad_parameters_are_422(migrated: str, workspace: str) -> None:
    assert get(migrated, f"/api/v1/workspaces/{workspace}/error-tracking", timeframe="2h").status_code == 422
    assert get(migrated, f"/api/v1/workspaces/{workspace}/error-tracking", severity="bad").status_code == 422


def test_a_busy_pool_shares_the_request_connection_with_the_same_answer(
    migrated: str, workspace: str, monkeypatch: Any
) -> None:
    """The object reads on spare pooled connections when they are free; with none (a pool of one connection, as
    when other requests hold them all) it runs every read on the request's own connection: same body, no wait.
    24 errors seen before the window too, 12 critical with one user and 12 medium with three: byImpact and
    unresolved rank different errors, so the users-in-window counts are many and split over two connections."""
    now = now_ns()
    old = [run(workspace, now - 30 * HOUR, type=f"E{i}Error", message=f"m{i}", user=f"old{i}") for i in range(24)]
    recent = [
        run(
            workspace,
            now - 20 * MINUTE,
            type=f"E{i}Error",
            message=f"m{i}",
            user=f"u{i}-{j}",
            severity="critical" if i < 12 else "medium",
        )
        for i in range(24)
        for j in range(1 if i < 12 else 3)
    ]
    write(migrated, *old, *recent)
    from otel_errors.api.queries import tracking as q

    asked: list[int] = []
    count = q.window_users

    async def counting(*args: Any, **kwargs: Any) -> Any:
        asked.append(len(kwargs["errors"]))
        return await count(*args, **kwargs)

    monkeypatch.setattr(q, "window_users", counting)

    def settled(body: dict[str, Any]) -> dict[str, Any]:
        """Without what moves with the clock between the two calls: ages, and the end of a spike still running."""
        for u in body["topErrors"]["unresolved"]:
            u.pop("age")
        for spike in body["timeline"]["spikes"]:
            spike.pop("endTime")
        return body

    for timeframe in ("24h", "7d"):
        for _ in range(2):  # again if a timeline bucket boundary passed between the two calls
            wide = settled(tracking(migrated, workspace, timeframe))
            narrow = settled(tracking(migrated, workspace, timeframe, pool_min_size=1, pool_max_size=1))
            if wide["timeline"]["errorsByTime"][0] == narrow["timeline"]["errorsByTime"][0]:
                break
        assert narrow == wide and narrow["overview"]["totalErrors"] == (48 if timeframe == "24h" else 72)
        # 24h: users in the window counted; 7d: every error first seen in the window, nothing to count.
        assert {t["usersAffected"] for t in narrow["topErrors"]["byImpact"]} == {3 if timeframe == "24h" else 4}
    assert sum(asked) > 10  # more than one batch of counts ran, sharing the one connection
