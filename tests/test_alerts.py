"""Alert rules evaluated on real commits (real PostgreSQL): defaults, each rule kind firing and not firing at its
edges, ignored errors, deduplication across two evaluators, automatic resolution, incidents."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

import httpx
import psycopg
from alert_helpers import AlertEvaluator, alerts, config, evaluate, events, only_rule, rows, sweep, write_evaluate
from tracking_helpers import MINUTE, call, get, now_ns, post, run

from otel_errors import Processor
from otel_errors.classify import Severity
from otel_errors.exporter import StoreConfig
from otel_errors.exporter.maintenance import Maintenance


def _error_ids(url: str, ws: str) -> dict[str, uuid.UUID]:
    return {str(r[0]): r[1] for r in rows(url, "SELECT type, error_id FROM errors WHERE workspace_id = %s", ws)}


def test_a_new_workspace_gets_the_default_rules_and_its_first_error_alerts(migrated: str, workspace: str) -> None:
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="KeyError", message="missing"))
    listed = get(migrated, f"/api/v1/workspaces/{workspace}/alert-rules").json()["items"]
    assert [r["kind"] for r in listed] == ["new_error", "regression", "spike", "error_rate", "frequency"]
    firing = get(migrated, f"/api/v1/workspaces/{workspace}/alerts", status="firing").json()["items"]
    assert len(firing) == 1
    alert = firing[0]
    assert alert["rule"]["kind"] == "new_error" and alert["rule"]["name"] == "New error"
    assert alert["title"] == "New error: KeyError: missing"
    assert [e["title"] for e in alert["errors"]] == ["KeyError: missing"]
    assert alert["firstFiredAt"] == alert["lastFiredAt"] and alert["incidentId"]
    assert get(migrated, f"/api/v1/workspaces/{workspace}/alerts", status="resolved").json()["items"] == []
    kinds = [kind for _id, kind, _data in events(migrated, workspace)]
    assert kinds == ["error.new", "alert.fired", "incident.opened"]
    assert [i for i, _k, _d in events(migrated, workspace)] == [1, 2, 3]  # consecutive ids per workspace
    # The same error again is not new.
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="KeyError", message="missing"))
    assert len(alerts(migrated, workspace)) == 1


def test_a_deleted_default_rule_stays_deleted(migrated: str, workspace: str) -> None:
    listed = get(migrated, f"/api/v1/workspaces/{workspace}/alert-rules").json()["items"]
    new_error = next(r for r in listed if r["kind"] == "new_error")

    async def delete(client: httpx.AsyncClient) -> httpx.Response:
        return await client.delete(f"/api/v1/workspaces/{workspace}/alert-rules/{new_error['ruleId']}")

    assert call(migrated, delete).status_code == 204
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="KeyError"))
    assert [r["kind"] for r in get(migrated, f"/api/v1/workspaces/{workspace}/alert-rules").json()["items"]] == [
        "regression",
        "spike",
        "error_rate",
        "frequency",
    ]
    assert alerts(migrated, workspace) == []
    audit = get(migrated, f"/api/v1/workspaces/{workspace}/audit-log").json()["items"]
    assert audit[0]["action"] == "alert_rule.delete" and audit[0]["before"]["kind"] == "new_error"


def test_new_error_at_or_above_a_severity(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="new_error", min_severity=int(Severity.HIGH))
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="MediumError", severity="medium"))
    assert alerts(migrated, workspace) == []
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="HighError", severity="high"))
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="CriticalError", severity="critical"))
    ids = _error_ids(migrated, workspace)
    assert [a[3] for a in alerts(migrated, workspace)] == [ids["HighError"], ids["CriticalError"]]
    # Still a stream event for every new error, alerting or not.
    assert [k for _i, k, _d in events(migrated, workspace) if k == "error.new"] == ["error.new"] * 3


def test_regression_fires_on_an_occurrence_after_resolution_and_resolving_resolves_alerts(
    migrated: str, workspace: str
) -> None:
    only_rule(migrated, workspace, kind="regression")
    with psycopg.connect(migrated) as conn:
        conn.execute(
            "INSERT INTO alert_rules (workspace_id, rule_id, name, kind, window_minutes, baseline_minutes, threshold,"
            " min_count, renotify_minutes) VALUES (%s, %s, 'n', 'new_error', 60, 60, 0, 0, 60)",
            (workspace, uuid.uuid4()),
        )
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="FlakyError"))
    error_id = _error_ids(migrated, workspace)["FlakyError"]
    assert [(a[0], a[2]) for a in alerts(migrated, workspace)] == [("new_error", "firing")]
    body = {"resolvedBy": "ana", "resolution": "fixed", "rootCause": None, "preventiveMeasures": []}
    assert post(migrated, f"/api/v1/workspaces/{workspace}/errors/{error_id}/resolve", body).status_code == 200
    assert [(a[0], a[2], a[6]) for a in alerts(migrated, workspace)] == [("new_error", "resolved", "error resolved")]
    assert [k for _i, k, _d in events(migrated, workspace)][-2:] == ["alert.resolved", "incident.resolved"]
    time.sleep(0.01)
    evaluate(migrated, run(workspace, now_ns(), type="FlakyError"))
    found = alerts(migrated, workspace, "firing")
    assert [(a[0], a[3]) for a in found] == [("regression", error_id)]
    assert events(migrated, workspace)[-3][1] == "error.regressed"


def test_ignored_errors_never_alert_and_ignoring_resolves_their_alerts(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="frequency", threshold=2, window_minutes=60)
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="NoisyError", errors=3))
    error_id = _error_ids(migrated, workspace)["NoisyError"]
    assert [a[2] for a in alerts(migrated, workspace)] == ["firing"]
    response = post(migrated, f"/api/v1/workspaces/{workspace}/errors/{error_id}/status", {"status": "ignored"})
    assert response.status_code == 200
    assert [(a[2], a[6]) for a in alerts(migrated, workspace)] == [("resolved", "error ignored")]
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="NoisyError", errors=10))
    assert alerts(migrated, workspace, "firing") == []


def test_frequency_edges_by_occurrences_and_by_users(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="frequency", threshold=3, users=2, window_minutes=30)
    at = now_ns() - MINUTE
    evaluate(migrated, run(workspace, at, type="OccError", errors=3), run(workspace, at, type="UserError", user="u1"))
    evaluate(migrated, run(workspace, at, type="UserError", user="u2"))
    assert alerts(migrated, workspace) == []  # exactly 3 occurrences, exactly 2 users: not above
    evaluate(migrated, run(workspace, at, type="OccError"), run(workspace, at, type="UserError", user="u3"))
    ids = _error_ids(migrated, workspace)
    found = {a[3]: a[5] for a in alerts(migrated, workspace, "firing")}
    assert found == {ids["OccError"]: 4.0, ids["UserError"]: 3.0}
    # Occurrences outside the window do not count.
    other = f"{workspace}-old"
    only_rule(migrated, other, kind="frequency", threshold=3, window_minutes=5)
    evaluate(migrated, run(other, now_ns() - 20 * MINUTE, type="OldError", errors=5))
    assert alerts(migrated, other) == []


def _wait_for_a_fresh_minute(margin_seconds: float = 15.0) -> int:
    """The start of the current minute (ns), after waiting when fewer than `margin_seconds` are left of it."""
    now = time.time()
    if 60 - now % 60 < margin_seconds:
        time.sleep(60 - now % 60 + 0.2)
    return int(time.time() // 60 * 60) * 1_000_000_000


def test_spike_fires_above_the_factor_and_the_minimum_with_its_primary_cause(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="spike", window_minutes=1, baseline_minutes=5, threshold=3, min_count=5)
    minute = _wait_for_a_fresh_minute()
    baseline = [run(workspace, minute - k * MINUTE + 5_000_000_000, type="Background") for k in range(1, 6)]
    evaluate(migrated, *baseline, run(workspace, minute + 1_000_000_000, type="Burst", errors=4))
    assert alerts(migrated, workspace) == []  # 4 > 3 x 1 but under the minimum of 5
    evaluate(migrated, run(workspace, minute + 2_000_000_000, type="Burst"))
    found = alerts(migrated, workspace, "firing")
    assert [(a[0], a[1], a[3], a[5]) for a in found] == [("spike", "", _error_ids(migrated, workspace)["Burst"], 5.0)]


def test_spike_is_not_fired_by_ignored_errors(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="spike", window_minutes=1, baseline_minutes=5, threshold=3, min_count=5)
    minute = _wait_for_a_fresh_minute()
    evaluate(migrated, run(workspace, minute - 3 * MINUTE, type="Muted"))
    error_id = _error_ids(migrated, workspace)["Muted"]
    post(migrated, f"/api/v1/workspaces/{workspace}/errors/{error_id}/status", {"status": "ignored"})
    evaluate(migrated, run(workspace, minute + 1_000_000_000, type="Muted", errors=20))
    assert alerts(migrated, workspace) == []


def test_error_rate_needs_its_minimum_of_executions(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="error_rate", threshold=50, min_count=4, window_minutes=10)
    at = now_ns() - MINUTE
    evaluate(migrated, *[run(workspace, at, type="RateError") for _ in range(3)])
    assert alerts(migrated, workspace) == []  # 3 of 3 failed, but fewer than 4 executions
    evaluate(migrated, run(workspace, at, errors=0, failed=False))
    assert [(a[0], a[5]) for a in alerts(migrated, workspace)] == [("error_rate", 75.0)]


def test_error_rate_fires_and_resolves(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="error_rate", threshold=50, min_count=4, window_minutes=10)
    at = now_ns() - MINUTE
    evaluate(migrated, *[run(workspace, at, type="RateError") for _ in range(2)])
    evaluate(migrated, *[run(workspace, at, errors=0, failed=False) for _ in range(2)])
    assert alerts(migrated, workspace) == []  # exactly 50%
    evaluate(migrated, run(workspace, at, type="RateError"))
    found = alerts(migrated, workspace, "firing")
    assert [(a[0], a[5]) for a in found] == [("error_rate", 60.0)]
    evaluate(migrated, *[run(workspace, at, errors=0, failed=False) for _ in range(2)])  # 3 of 7
    sweep(migrated)
    assert [(a[2], a[6]) for a in alerts(migrated, workspace)] == [("resolved", "condition cleared")]
    kinds = [k for _i, k, _d in events(migrated, workspace)]
    assert kinds[-2:] == ["alert.resolved", "incident.resolved"]


def test_new_error_alert_resolves_after_its_quiet_period(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="new_error", window_minutes=2)
    evaluate(migrated, run(workspace, now_ns() - 5 * MINUTE, type="OnceError"))
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="StillError"))
    sweep(migrated)
    ids = _error_ids(migrated, workspace)
    found = {a[3]: (a[2], a[6]) for a in alerts(migrated, workspace)}
    assert found == {ids["OnceError"]: ("resolved", "no occurrence for 2 min"), ids["StillError"]: ("firing", None)}


def test_two_evaluators_on_one_database_create_each_alert_once(migrated: str, workspace: str) -> None:
    """Two processes' evaluators see the same conditions at once (both are told of every change): the database
    decides, one alert per rule and subject, one stream event, one incident."""
    only_rule(migrated, workspace, kind="frequency", threshold=1, window_minutes=30)

    async def go() -> None:
        first = AlertEvaluator(config(migrated), link_base="http://x")
        second = AlertEvaluator(config(migrated), link_base="http://x")
        try:
            for i in range(5):
                await write_evaluate(
                    migrated, [run(workspace, now_ns() - MINUTE, type=f"Dup{i}", errors=2)], [first, second]
                )
                await write_evaluate(
                    migrated, [run(workspace, now_ns() - MINUTE, type=f"Dup{i}", errors=2)], [first, second]
                )
        finally:
            await first.shutdown()
            await second.shutdown()

    asyncio.run(go())
    found = alerts(migrated, workspace)
    assert len(found) == 5 and len({a[1] for a in found}) == 5
    fired = [k for _i, k, _d in events(migrated, workspace) if k == "alert.fired"]
    assert len(fired) == 5
    ids = [i for i, _k, _d in events(migrated, workspace)]
    assert ids == list(range(1, len(ids) + 1))


def test_renotification_after_the_interval_only(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="frequency", threshold=1, window_minutes=30, renotify_minutes=1)
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="Loud", errors=2))
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="Loud", errors=2))
    assert [k for _i, k, _d in events(migrated, workspace)].count("alert.renotified") == 0
    with psycopg.connect(migrated) as conn:
        conn.execute(
            "UPDATE alerts SET last_notified_at = now() - interval '61 seconds' WHERE workspace_id = %s", (workspace,)
        )
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="Loud", errors=2))
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="Loud", errors=2))
    assert [k for _i, k, _d in events(migrated, workspace)].count("alert.renotified") == 1
    assert rows(migrated, "SELECT notifications FROM alerts WHERE workspace_id = %s", workspace) == [(2,)]


def test_alerts_still_firing_are_refreshed_together_each_with_its_own_value(migrated: str, workspace: str) -> None:
    # A pass refreshes every alert whose condition is still true in one statement: each keeps its own error and
    # gets its own value, none is created twice, and last_fired_at moves on.
    only_rule(migrated, workspace, kind="frequency", threshold=1, window_minutes=30, renotify_minutes=0)
    at = now_ns() - MINUTE
    evaluate(migrated, *(run(workspace, at, type=f"Loud{n}", errors=n + 2) for n in range(4)))
    ids = _error_ids(migrated, workspace)
    firing = "SELECT primary_error_id, alert_id, value FROM alerts WHERE workspace_id = %s AND status = 'firing'"
    first = {e: (a, v) for e, a, v in rows(migrated, firing, workspace)}
    assert {e: v for e, (_a, v) in first.items()} == {ids[f"Loud{n}"]: float(n + 2) for n in range(4)}
    before = dict(rows(migrated, "SELECT alert_id, last_fired_at FROM alerts WHERE workspace_id = %s", workspace))
    evaluate(migrated, *(run(workspace, at, type=f"Loud{n}", errors=10 * (n + 1)) for n in range(3, -1, -1)))
    second = {e: (a, v) for e, a, v in rows(migrated, firing, workspace)}
    assert {e: a for e, (a, _v) in second.items()} == {e: a for e, (a, _v) in first.items()}
    assert {e: v for e, (_a, v) in second.items()} == {ids[f"Loud{n}"]: float(n + 2 + 10 * (n + 1)) for n in range(4)}
    after = rows(
        migrated,
        "SELECT alert_id, last_fired_at, error_ids, primary_error_id FROM alerts WHERE workspace_id = %s",
        workspace,
    )
    assert all(fired > before[alert_id] and errors == [primary] for alert_id, fired, errors, primary in after)
    kinds = [k for _i, k, _d in events(migrated, workspace)]
    assert kinds.count("alert.fired") == 4 and "alert.renotified" not in kinds


def test_incidents_group_by_root_cause_and_by_agent_within_the_window(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="new_error")
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="A1", agent="agent-a"))
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="A2", agent="agent-a"))  # same agent, within 10 min
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="B1", agent="agent-b"))
    ids = _error_ids(migrated, workspace)
    # A chain: CRoot caused CChild (as the linker records it); the two alerts share the root.
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="CRoot", agent="agent-c"))
    ids = _error_ids(migrated, workspace)
    with psycopg.connect(migrated) as conn:
        conn.execute(
            "INSERT INTO error_chains (workspace_id, chain_id, root_error_id, cascade_error_ids, first_seen,"
            " last_seen, executions) VALUES (%s, %s, %s, %s, now(), now(), 1)",
            (workspace, uuid.uuid4(), ids["CRoot"], [_future_error_id(workspace, "CChild")]),
        )
    # Another agent's alert too late for the agent window: moved back in time.
    with psycopg.connect(migrated) as conn:
        conn.execute(
            "UPDATE alerts SET last_fired_at = now() - interval '1 hour' WHERE workspace_id = %s AND primary_error_id"
            " = %s",
            (workspace, ids["B1"]),
        )
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="CChild", agent="agent-d"))
    evaluate(migrated, run(workspace, now_ns() - MINUTE, type="B2", agent="agent-b"))
    ids = _error_ids(migrated, workspace)
    incident = {a[3]: a[4] for a in alerts(migrated, workspace)}
    assert incident[ids["A1"]] == incident[ids["A2"]]
    assert incident[ids["CRoot"]] == incident[ids["CChild"]]
    assert len({incident[ids["A1"]], incident[ids["B1"]], incident[ids["CRoot"]], incident[ids["B2"]]}) == 4
    listed = get(migrated, f"/api/v1/workspaces/{workspace}/incidents", status="open").json()["items"]
    assert sorted(i["alerts"] for i in listed) == [1, 1, 2, 2]


def _future_error_id(workspace: str, type_: str) -> uuid.UUID:
    """The id the write path will give a new error (RESOLVE_ERRORS: md5 of the workspace and fingerprint)."""
    batch = Processor().process_traces(run(workspace, now_ns() - MINUTE, type=type_), None, time.time_ns())
    fingerprint = batch.events[0].fingerprint
    return uuid.UUID(hashlib.md5(f"{workspace}/{fingerprint}".encode()).hexdigest())


def test_a_spike_joins_the_incident_of_its_primary_cause(migrated: str, workspace: str) -> None:
    only_rule(migrated, workspace, kind="new_error")
    with psycopg.connect(migrated) as conn:
        conn.execute(
            "INSERT INTO alert_rules (workspace_id, rule_id, name, kind, window_minutes, baseline_minutes, threshold,"
            " min_count, renotify_minutes) VALUES (%s, %s, 's', 'spike', 1, 5, 3, 5, 60)",
            (workspace, uuid.uuid4()),
        )
    minute = _wait_for_a_fresh_minute()
    evaluate(migrated, run(workspace, minute - 4 * MINUTE, type="Cause", agent="agent-x"))
    # Let the agent window pass for the new-error alert, so only the shared cause can group them.
    with psycopg.connect(migrated) as conn:
        conn.execute(
            "UPDATE alerts SET last_fired_at = now() - interval '2 hours' WHERE workspace_id = %s", (workspace,)
        )
    evaluate(migrated, run(workspace, minute + 1_000_000_000, type="Cause", agent="agent-y", errors=8))
    found = alerts(migrated, workspace)
    assert sorted(a[0] for a in found) == ["new_error", "spike"]
    assert len({a[4] for a in found}) == 1


def test_the_sweep_takes_the_least_recently_checked_so_one_tenant_cannot_hold_its_front(migrated: str) -> None:
    """A tenant with many alerts that stay true (long windows) must not fill every sweep: checked ones go back."""
    from otel_errors.exporter.alerts import records

    crowded, other = (f"sweep-{n}-{uuid.uuid4().hex[:6]}" for n in ("crowded", "other"))
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("UPDATE alerts SET status = 'resolved' WHERE status = 'firing'")  # other tests' leftovers
        for ws, age in ((crowded, 300), (crowded, 299), (crowded, 298), (other, 100)):
            conn.execute(
                "INSERT INTO alerts (workspace_id, alert_id, rule_id, kind, subject, status, title, severity,"
                " error_ids, last_fired_at, last_checked_at) VALUES (%s, gen_random_uuid(), gen_random_uuid(),"
                " 'new_error', gen_random_uuid()::text, 'firing', 't', 3, '{}', now() - interval '1 day',"
                " now() - make_interval(secs => %s))",
                (ws, age),
            )

    async def two_sweeps() -> list[list[str]]:
        seen = []
        async with await psycopg.AsyncConnection.connect(migrated, autocommit=True) as conn:
            for _ in range(2):
                batch = await records.firing(conn, limit=2)
                seen.append([a.workspace_id for a in batch])
                for ws in {a.workspace_id for a in batch}:
                    await records.checked(conn, ws, [a.alert_id for a in batch if a.workspace_id == ws])
        return seen

    first, second = asyncio.run(two_sweeps())
    assert first == [crowded, crowded] and other in second


def test_alert_history_older_than_the_retention_window_is_deleted_and_the_rest_kept(
    migrated: str, workspace: str
) -> None:
    # Alerts, incidents and deliveries would otherwise grow for ever: the store's upkeep removes what is over
    # (resolved, delivered or failed) and older than the retention window, and keeps what fires or still waits.
    old, recent = "now() - interval '100 days'", "now() - interval '1 day'"
    alert_rows = {
        "old resolved": ("resolved", old),
        "recent resolved": ("resolved", recent),
        "old firing": ("firing", None),
    }
    with psycopg.connect(migrated, autocommit=True) as conn:
        for title, (status, resolved) in alert_rows.items():
            conn.execute(
                "INSERT INTO alerts (workspace_id, alert_id, rule_id, kind, subject, status, title, severity,"
                " error_ids, first_fired_at, resolved_at) VALUES (%s, gen_random_uuid(), gen_random_uuid(), 'spike',"
                f" %s, %s, %s, 3, '{{}}', {old}, {resolved or 'NULL'})",
                (workspace, title, status, title),
            )
        for title, status, resolved in (("old resolved", "resolved", old), ("old open", "open", "NULL")):
            conn.execute(
                "INSERT INTO incidents (workspace_id, incident_id, status, title, severity, opened_at, resolved_at)"
                f" VALUES (%s, gen_random_uuid(), %s, %s, 3, {old}, {resolved})",
                (workspace, status, title),
            )
        for event, status, finished in (
            ("old delivered", "delivered", old),
            ("old failed", "failed", old),
            ("recent delivered", "delivered", recent),
            ("old pending", "pending", "NULL"),
        ):
            conn.execute(
                "INSERT INTO alert_deliveries (workspace_id, delivery_id, alert_id, destination_id, event, body,"
                " status, created_at, finished_at) VALUES (%s, gen_random_uuid(), gen_random_uuid(),"
                f" gen_random_uuid(), %s, '', %s, {old}, {finished})",
                (workspace, event, status),
            )
            conn.execute(
                "INSERT INTO alert_delivery_attempts (workspace_id, delivery_id, attempt, at, milliseconds)"
                " SELECT workspace_id, delivery_id, 1, coalesce(finished_at, now()), 1 FROM alert_deliveries"
                " WHERE workspace_id = %s AND event = %s",
                (workspace, event),
            )
        conn.execute("DELETE FROM maintenance_runs")  # as if the last run were long ago

    try:
        assert asyncio.run(Maintenance(StoreConfig(database_url=migrated)).run_once()) is not None
        kept = {
            table: sorted(
                r[0] for r in rows(migrated, f"SELECT {column} FROM {table} WHERE workspace_id = %s", workspace)
            )
            for table, column in (("alerts", "subject"), ("incidents", "title"), ("alert_deliveries", "event"))
        }
        assert kept == {
            "alerts": ["old firing", "recent resolved"],
            "incidents": ["old open"],
            "alert_deliveries": ["old pending", "recent delivered"],
        }
        attempts = rows(migrated, "SELECT count(*) FROM alert_delivery_attempts WHERE workspace_id = %s", workspace)
        assert attempts == [(2,)]  # the recent delivery's and the pending one's (made now)
    finally:  # a pending delivery nobody sends: the webhook tests wait for none to be pending
        with psycopg.connect(migrated, autocommit=True) as conn:
            conn.execute("DELETE FROM alert_deliveries WHERE workspace_id = %s", (workspace,))
