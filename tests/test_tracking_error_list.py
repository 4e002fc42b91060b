"""GET /errors: filters, sorts and cursor pagination; error details carry impact."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tracking_helpers import HOUR, MINUTE, get, now_ns, post, run, write


def _setup(url: str, ws: str) -> dict[str, str]:
    now = now_ns()
    write(
        url,
        run(
            ws,
            now - 50 * HOUR,
            type="TimeoutError",
            message="upstream slow",
            severity="high",
            user="u1",
            agent="planner",
            environment="prod",
            version="1.0",
            category="timeout",
            source="api",
            errors=5,
        ),
        run(
            ws,
            now - 2 * HOUR,
            type="TimeoutError",
            message="upstream slow",
            severity="high",
            user="u2",
            agent="planner",
            environment="prod",
            version="1.0",
            category="timeout",
            source="api",
        ),
        run(
            ws,
            now - 10 * HOUR,
            type="KeyError",
            message="missing 'plan' key_x",
            severity="low",
            user="u3",
            agent="writer",
            environment="staging",
            version="2.0",
            category="validation",
            source="agent",
            errors=2,
        ),
        run(
            ws,
            now - 30 * MINUTE,
            type="PermissionError",
            message="denied 100%",
            severity="critical",
            agent="writer",
            environment="prod",
            version="2.0",
            category="auth",
            source="database",
        ),
    )
    items = get(url, f"/api/v1/workspaces/{ws}/errors").json()["items"]
    return {e["type"]: e["errorId"] for e in items}


def _types(url: str, ws: str, **params: Any) -> list[str]:
    response = get(url, f"/api/v1/workspaces/{ws}/errors", **params)
    assert response.status_code == 200, response.text
    return [e["type"] for e in response.json()["items"]]


def test_filters(migrated: str, workspace: str) -> None:
    ids = _setup(migrated, workspace)
    assert (
        post(
            migrated, f"/api/v1/workspaces/{workspace}/errors/{ids['KeyError']}/status", {"status": "investigating"}
        ).status_code
        == 200
    )
    t = lambda **p: _types(migrated, workspace, **p)  # noqa: E731
    assert t() == ["PermissionError", "TimeoutError", "KeyError"]  # last seen first
    assert t(status="investigating") == ["KeyError"]
    assert t(severity="critical") == ["PermissionError"]
    assert t(category="timeout") == ["TimeoutError"]
    assert t(source="agent") == ["KeyError"]
    assert t(agentId="writer") == ["PermissionError", "KeyError"]
    assert t(userId="u2") == ["TimeoutError"]
    assert t(environment="staging") == ["KeyError"]
    assert t(version="2.0") == ["PermissionError", "KeyError"]
    assert t(q="upstream") == ["TimeoutError"]
    assert t(q="KEYERR") == ["KeyError"]  # case-insensitive, over the type too
    assert t(q="100%") == ["PermissionError"] and t(q="_x") == ["KeyError"]  # % and _ are literal
    assert t(q="100%x") == []
    now = dt.datetime.now(dt.UTC)
    assert t(firstSeenFrom=(now - dt.timedelta(hours=24)).isoformat()) == ["PermissionError", "KeyError"]
    assert t(firstSeenTo=(now - dt.timedelta(hours=24)).isoformat()) == ["TimeoutError"]
    assert t(lastSeenFrom=(now - dt.timedelta(hours=3)).isoformat()) == ["PermissionError", "TimeoutError"]
    assert t(lastSeenTo=(now - dt.timedelta(hours=3)).isoformat()) == ["KeyError"]
    assert t(agentId="writer", severity="low") == ["KeyError"]


def test_sorts(migrated: str, workspace: str) -> None:
    _setup(migrated, workspace)
    assert _types(migrated, workspace, sort="firstSeen") == ["PermissionError", "KeyError", "TimeoutError"]
    assert _types(migrated, workspace, sort="occurrences") == ["TimeoutError", "KeyError", "PermissionError"]
    assert _types(migrated, workspace, sort="users")[0] == "TimeoutError"  # u1, u2
    assert get(migrated, f"/api/v1/workspaces/{workspace}/errors", sort="bogus").status_code == 422


@pytest.mark.parametrize("sort", ["lastSeen", "firstSeen", "occurrences", "users"])
def test_cursor_pages_through_every_error_once(migrated: str, workspace: str, sort: str) -> None:
    now = now_ns()
    write(
        migrated,
        *[
            run(workspace, now - i * MINUTE, type=f"E{i}Error", message="m", errors=1 + i % 3, user=f"u{i % 2}")
            for i in range(7)
        ],
    )
    everything = _types(migrated, workspace, sort=sort, limit=200)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = get(migrated, f"/api/v1/workspaces/{workspace}/errors", **params).json()
        seen += [e["type"] for e in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == everything and len(seen) == 7


def test_a_cursor_of_another_sort_or_garbage_is_400(migrated: str, workspace: str) -> None:
    now = now_ns()
    write(migrated, *[run(workspace, now - i * MINUTE, type=f"E{i}Error", message="m") for i in range(3)])
    page = get(migrated, f"/api/v1/workspaces/{workspace}/errors", limit=1).json()
    other = get(migrated, f"/api/v1/workspaces/{workspace}/errors", sort="occurrences", cursor=page["nextCursor"])
    assert other.status_code == 400
    assert get(migrated, f"/api/v1/workspaces/{workspace}/errors", cursor="!!").status_code == 400


def test_details_carry_impact(migrated: str, workspace: str) -> None:
    now = now_ns()
    write(
        migrated,
        run(workspace, now - HOUR, type="CostlyError", message="c", user="u1", credits=2.5, errors=2),
        run(workspace, now - HOUR, type="CostlyError", message="c", user="u2", credits=1.5),
    )
    error_id = get(migrated, f"/api/v1/workspaces/{workspace}/errors").json()["items"][0]["errorId"]
    detail = get(migrated, f"/api/v1/workspaces/{workspace}/errors/{error_id}").json()
    assert detail["impact"] == {
        "usersAffected": 2,
        "agentsAffected": 1,
        "executionsAffected": 2,
        "creditsLost": 4.0,
        "cascadingFailures": 0,
    }
