"""Per-workspace rules through the API and the running server: IP scrubbing off, allow-listed keys, audit."""

from __future__ import annotations

import time

import httpx
import psycopg
from conftest import RunningServer
from otlp_builders import NOW, new_id, span, traces


def _send(server: RunningServer, workspace: str, message: str, attrs: dict[str, object], end: int) -> None:
    payload = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            error=True,
            attrs=attrs,
            end=end,
            exceptions=[{"exception.type": "LookupError", "exception.message": message}],
        ),
        resource={"workspace.id": workspace},
    ).SerializeToString()
    response = httpx.post(
        f"{server.otlp_http}/v1/traces", content=payload, headers={"content-type": "application/x-protobuf"}
    )
    assert response.status_code == 200


def _latest(server: RunningServer, workspace: str, expected: int) -> dict[str, object]:
    base = f"{server.api}/api/v1/workspaces/{workspace}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = httpx.get(f"{base}/errors").json()["items"]
        if sum(i["occurrences"] for i in items) >= expected:
            newest = max(items, key=lambda i: i["lastSeen"])
            occurrence = httpx.get(f"{base}/errors/{newest['errorId']}/occurrences", params={"limit": 1}).json()
            return occurrence["items"][0]  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("occurrence not stored")


def test_rules_change_what_is_scrubbed_and_are_audited(server: RunningServer, migrated: str, workspace: str) -> None:
    attrs = {"client.address": "10.1.2.3", "order.token": "abc123", "api_key": "sk-live-xyz"}
    _send(server, workspace, "no route to 10.9.8.7 for user bob@example.com", attrs, NOW - 10**9)
    before = _latest(server, workspace, 1)
    assert before["message"] == "no route to [ip] for user [email]"
    assert before["attributes"]["order.token"] == "[redacted]"  # type: ignore[index]

    base = f"{server.api}/api/v1/workspaces/{workspace}/rules"
    bad = httpx.put(base, json={"scrub": {"no_such_rule": True}})
    assert bad.status_code == 422 and "no_such_rule" in bad.json()["error"]["message"]
    rules = {"scrub": {"scrub_ips": False, "allow_keys": ["order.token"]}, "grouping": {"in_app_include": ["acme."]}}
    assert httpx.put(base, json=rules).status_code == 200
    assert httpx.get(base).json()["scrub"]["scrub_ips"] is False
    time.sleep(1.5)  # the test server reloads rules every second

    _send(server, workspace, "no route to 10.9.8.7 for user bob@example.com", attrs, NOW)
    after = _latest(server, workspace, 2)
    assert after["message"] == "no route to 10.9.8.7 for user [email]"  # IPs kept, emails still scrubbed
    assert after["attributes"]["order.token"] == "abc123"  # type: ignore[index]
    assert after["attributes"]["api_key"] == "[redacted]"  # type: ignore[index]
    with psycopg.connect(migrated) as conn:
        entry = conn.execute(
            "SELECT actor, action, before->'scrub'->'scrub_ips', after->'scrub'->'scrub_ips'"
            " FROM audit_log WHERE workspace_id = %s",
            (workspace,),
        ).fetchone()
    assert entry == ("anonymous", "rules.update", True, False)
