"""docs/metrics.md, topErrors, correlations, errors[] and recovery on hand-made data."""

from __future__ import annotations

from typing import Any

from tracking_helpers import HOUR, MINUTE, now_ns, post, run, tracking, write


def _ids(body: dict[str, Any]) -> dict[str, str]:
    return {e["type"]: e["errorId"] for e in body["errors"]}


def test_top_errors_by_occurrence_impact_and_unresolved_priority(migrated: str, workspace: str) -> None:
    now = now_ns()
    write(
        migrated,
        run(workspace, now - 30 * HOUR, type="HotError", message="h", severity="critical", user="u1"),
        run(workspace, now - 2 * HOUR, type="HotError", message="h", severity="critical", user="u1", errors=9),
        *[
            run(workspace, now - HOUR + i * MINUTE, type="WideError", message="w", user=f"u{i}", credits=4.0)
            for i in (1, 2, 3)
        ],
        run(workspace, now - HOUR, type="QuietError", message="q"),
        run(workspace, now - HOUR, type="DoneError", message="d"),
    )
    ids = _ids(tracking(migrated, workspace, "24h"))
    base = f"/api/v1/workspaces/{workspace}/errors"
    assert post(migrated, f"{base}/{ids['QuietError']}/status", {"status": "ignored"}).status_code == 200
    assert (
        post(migrated, f"{base}/{ids['DoneError']}/resolve", {"resolvedBy": "ana", "resolution": "fixed"}).status_code
        == 200
    )

    top = tracking(migrated, workspace, "24h")["topErrors"]
    assert [(t["type"], t["count"]) for t in top["byOccurrence"][:2]] == [("HotError", 9), ("WideError", 3)]
    assert [(t["type"], t["usersAffected"], t["creditsLost"]) for t in top["byImpact"][:2]] == [
        ("WideError", 3, 12.0),
        ("HotError", 1, 0.0),
    ]
    unresolved = {u["type"]: u for u in top["unresolved"]}
    assert set(unresolved) == {"HotError", "WideError"}  # ignored and resolved errors are not listed
    # HotError: critical 40 + 9 occurrences 7.5 + 1 user 2.0, first seen before the window: 49.5 -> 50
    assert (unresolved["HotError"]["priority"], round(unresolved["HotError"]["age"])) == (50, 30)
    # WideError: medium 13.3 + 3 occurrences 4.5 + 3 users 4.0 + new in the window 10 -> 32
    assert (unresolved["WideError"]["priority"], round(unresolved["WideError"]["age"])) == (32, 1)
    assert [u["type"] for u in top["unresolved"]] == ["HotError", "WideError"]


def test_agent_and_user_correlation(migrated: str, workspace: str) -> None:
    at = now_ns() - HOUR
    write(
        migrated,
        run(workspace, at, type="AgentError", message="a", agent="agent-1", agent_name="Planner", user="u1", errors=2),
        *[
            run(workspace, at + i * MINUTE, agent="agent-1", agent_name="Planner", errors=0, failed=False)
            for i in (1, 2, 3)
        ],
        run(workspace, at, type="OtherError", message="o", agent="agent-2", user="u2"),
    )
    body = tracking(migrated, workspace, "24h")
    agents = {a["agentId"]: a for a in body["correlations"]["agentCorrelation"]}
    a1 = agents["agent-1"]
    assert (a1["agentName"], a1["errorTypes"], a1["errorRate"]) == ("Planner", ["AgentError"], 25.0)
    assert a1["commonCause"].startswith("AgentError")
    assert agents["agent-2"]["errorRate"] == 100.0
    users = {u["userId"]: u for u in body["correlations"]["userCorrelation"]}
    assert (users["u1"]["frequency"], users["u1"]["errorTypes"]) == (2, ["AgentError"])
    assert users["u1"]["possibleCause"].startswith("AgentError")
    assert [u["userId"] for u in body["correlations"]["userCorrelation"]] == ["u1", "u2"]  # most frequent first
    assert body["correlations"]["errorChains"] == []


def test_errors_list_the_window_busiest_first_with_impact(migrated: str, workspace: str) -> None:
    now = now_ns()
    write(
        migrated,
        run(workspace, now - 3 * HOUR, type="AError", message="a", user="u1", credits=2.0, errors=2),
        run(workspace, now - 2 * HOUR, type="BError", message="b", errors=3),
        run(workspace, now - 30 * HOUR, type="OldError", message="o"),
    )
    errors = tracking(migrated, workspace, "24h")["errors"]
    assert [e["type"] for e in errors] == ["BError", "AError"]  # OldError was not seen in the window
    impact = errors[1]["impact"]
    assert (
        impact["usersAffected"],
        impact["executionsAffected"],
        impact["creditsLost"],
        impact["cascadingFailures"],
    ) == (1, 1, 2.0, 0)
    assert errors[1]["affectedUsers"] == ["u1"] and errors[1]["affectedAgents"] == ["agent-1"]


def test_recovery_without_any_recovery_is_null_not_zero(migrated: str, workspace: str) -> None:
    write(migrated, run(workspace, now_ns() - HOUR))
    recovery = tracking(migrated, workspace, "24h")["recovery"]
    no_data = {"avg": None, "median": None, "p95": None}
    assert recovery == {
        "recoveryTimes": {"automatic": no_data, "manual": no_data},
        "recoveryMethods": [],
        "failedRecoveries": [],
    }


def test_people_and_impact_numbers_read_from_the_rollups(migrated: str, workspace: str) -> None:
    """affectedUsers/Agents and the user correlation come from workspace_error_users/agents (migration 0007);
    byImpact counts users in the window only for the errors that can rank (lifetime users bound them): the numbers
    are those of the per-(error, user) definition."""
    now = now_ns()
    at = now - HOUR
    old = [
        run(workspace, now - 30 * HOUR, type=f"Old{i}Error", message=f"o{i}", user=f"o{i}-{j}")
        for i in range(11)
        for j in range(4)
    ]  # 4 users each before the window: lifetime users 5
    write(
        migrated,
        *old,
        *[run(workspace, at, type=f"Old{i}Error", message=f"o{i}", user=f"w{i}") for i in range(11)],
        run(workspace, at, type="AError", message="a", user="u1", errors=3),
        run(workspace, at + MINUTE, type="BError", message="b", user="u1"),
        run(workspace, at + 2 * MINUTE, type="BError", message="b", user="u2", errors=2),
        *[run(workspace, at + 3 * MINUTE, type="WideError", message="w", user=f"x{i}") for i in range(2)],
    )
    body = tracking(migrated, workspace, "24h")
    o = body["overview"]
    assert (o["affectedUsers"], o["affectedAgents"]) == (2 + 11 + 2, 1)  # the old-only users are not counted
    users = {u["userId"]: u for u in body["correlations"]["userCorrelation"]}
    assert (users["u1"]["frequency"], users["u1"]["errorTypes"]) == (4, ["AError", "BError"])
    assert users["u1"]["possibleCause"].startswith("AError")
    assert (users["u2"]["frequency"], users["u2"]["errorTypes"]) == (2, ["BError"])
    assert [u["userId"] for u in body["correlations"]["userCorrelation"]][:2] == ["u1", "u2"]
    impact = body["topErrors"]["byImpact"]
    assert sorted((t["type"], t["usersAffected"]) for t in impact[:2]) == [("BError", 2), ("WideError", 2)]
    assert len(impact) == 10 and all(t["usersAffected"] == 1 for t in impact[2:])  # Old*Error: not 5 lifetime


def test_people_details_come_from_the_busiest_errors_else_from_all(
    migrated: str, workspace: str, monkeypatch: Any
) -> None:
    """errorTypes and the cause of a listed person are read among the window's DETAIL_ERRORS busiest errors; a
    person with no pair among those is read over all the window's errors (docs/metrics.md, correlations)."""
    from otel_errors.api.queries import tracking as q

    monkeypatch.setattr(q, "DETAIL_ERRORS", 1)  # only the busiest error, AError
    at = now_ns() - HOUR
    write(
        migrated,
        run(workspace, at, type="AError", message="a", user="u1", errors=4),
        run(workspace, at + MINUTE, type="BError", message="b", user="u1"),
        run(workspace, at + 2 * MINUTE, type="BError", message="b", user="u2", errors=2),
    )
    users = {u["userId"]: u for u in tracking(migrated, workspace, "24h")["correlations"]["userCorrelation"]}
    assert (users["u1"]["errorTypes"], users["u1"]["possibleCause"][:6]) == (["AError"], "AError")
    assert (users["u2"]["errorTypes"], users["u2"]["possibleCause"][:6]) == (["BError"], "BError")


def test_users_in_the_window_counted_as_lifetime_minus_earlier_ones(migrated: str, workspace: str) -> None:
    """An error with more occurrences in the window than lifetime users has its users in the window counted as
    lifetime users minus those last seen before the window: 5 lifetime, 3 only before, so 2 (docs/metrics.md)."""
    now = now_ns()
    write(
        migrated,
        *[run(workspace, now - 30 * HOUR, type="MixError", message="m", user=f"old{i}") for i in range(3)],
        *[
            run(workspace, now - HOUR + i * MINUTE, type="MixError", message="m", user=f"new{i}", errors=5)
            for i in range(2)
        ],
    )
    impact = {t["type"]: t for t in tracking(migrated, workspace, "24h")["topErrors"]["byImpact"]}
    assert impact["MixError"]["usersAffected"] == 2
