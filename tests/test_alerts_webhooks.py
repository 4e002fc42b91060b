"""Webhook destinations and delivery against a real local HTTP server: management (admin, audited, secret shown
once), the signature, retries with backoff, timeouts, final failures, both payloads, and address refusal."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from alert_helpers import Receiver, config, evaluate, only_rule, rows
from tracking_helpers import MINUTE, call, get, now_ns, post, run

from otel_errors.exporter.alerts import WebhookSender
from otel_errors.exporter.alerts.delivery import DeliveryError, resolve


def _create(url: str, ws: str, body: dict[str, Any], **api: Any) -> httpx.Response:
    async def fn(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(f"/api/v1/workspaces/{ws}/alert-destinations", json=body)

    response: httpx.Response = call(url, fn, **api)
    return response


def _deliver(url: str, **overrides: Any) -> None:
    """Run a sender until no delivery of the database is pending (each delivered or failed)."""

    async def go() -> None:
        sender = WebhookSender(config(url, **overrides), poll_seconds=0.05)
        await sender.start()
        try:
            for _ in range(400):
                pending = rows(url, "SELECT count(*) FROM alert_deliveries WHERE status = 'pending'")[0][0]
                if pending == 0:
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("deliveries still pending")
        finally:
            await sender.shutdown()

    asyncio.run(go())


def test_destinations_are_admin_managed_and_the_secret_is_shown_once(migrated: str, workspace: str) -> None:
    refused = _create(migrated, workspace, {"url": "http://127.0.0.1:9/hook"})
    assert refused.status_code == 422 and "loopback" in refused.json()["error"]["message"]
    for bad in ("http://10.0.0.8/x", "http://169.254.169.254/latest", "http://localhost:8080/", "ftp://example.com/"):
        assert _create(migrated, workspace, {"url": bad}).status_code == 422, bad
    created = _create(migrated, workspace, {"url": "https://hooks.example.com/a", "format": "slack", "name": "ops"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    listed = get(migrated, f"/api/v1/workspaces/{workspace}/alert-destinations").json()["items"]
    assert listed[0]["secretHint"] == f"whsec_…{secret[-4:]}" and "secret" not in listed[0]
    assert secret not in json.dumps(get(migrated, f"/api/v1/workspaces/{workspace}/audit-log").json())
    audit = get(migrated, f"/api/v1/workspaces/{workspace}/audit-log").json()["items"]
    assert audit[0]["action"] == "alert_destination.create"
    # With the setting, a local receiver is allowed (the tests' receivers are).
    allowed = _create(migrated, workspace, {"url": "http://127.0.0.1:9/hook"}, allow_private_webhooks=True)
    assert allowed.status_code == 201


def test_a_failed_delivery_is_retried_with_the_same_signed_body(migrated: str, workspace: str) -> None:
    receiver = Receiver(answers=[500, 503])
    try:
        only_rule(migrated, workspace, kind="new_error")
        secret = _create(migrated, workspace, {"url": receiver.url}, allow_private_webhooks=True).json()["secret"]
        evaluate(migrated, run(workspace, now_ns() - MINUTE, type="HookError", message="boom"))
        _deliver(migrated, allow_private_webhooks=True, webhook_backoff_seconds=0.1)
    finally:
        receiver.close()
    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1
    for got in receiver.received:
        timestamp = got.headers["x-otel-errors-timestamp"]
        expected = hmac.new(secret.encode(), timestamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
        assert got.headers["x-otel-errors-signature"] == f"sha256={expected}"
        assert got.headers["content-type"] == "application/json"
    document = receiver.documents()[0]
    assert document["type"] == "alert.fired" and document["workspaceId"] == workspace
    assert document["alert"]["title"] == "New error: HookError: boom"
    assert document["link"] == f"http://dash.example/workspaces/{workspace}?error={document['alert']['primaryErrorId']}"
    attempts = rows(
        migrated,
        "SELECT attempt, http_status, error FROM alert_delivery_attempts WHERE workspace_id = %s ORDER BY attempt",
        workspace,
    )
    assert attempts == [(1, 500, "HTTP 500"), (2, 503, "HTTP 503"), (3, 200, None)]
    alert = get(migrated, f"/api/v1/workspaces/{workspace}/alerts").json()["items"][0]
    assert [(d["status"], d["attempts"], d["lastError"]) for d in alert["deliveries"]] == [("delivered", 3, None)]


def test_slack_payload_links_to_the_error_and_escapes_telemetry(migrated: str, workspace: str) -> None:
    receiver = Receiver()
    try:
        only_rule(migrated, workspace, kind="new_error")
        _create(migrated, workspace, {"url": receiver.url, "format": "slack"}, allow_private_webhooks=True)
        evaluate(migrated, run(workspace, now_ns() - MINUTE, type="SlackError", message="<!channel> & <@U1|boss>"))
        _deliver(migrated, allow_private_webhooks=True)
    finally:
        receiver.close()
    message = receiver.documents()[0]
    error_id = rows(migrated, "SELECT error_id FROM errors WHERE workspace_id = %s", workspace)[0][0]
    assert f"<http://dash.example/workspaces/{workspace}?error={error_id}|" in message["text"]
    text = message["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;@U1|boss&gt;" in text


def test_final_answers_and_exhausted_retries_are_recorded_as_failed(migrated: str, workspace: str) -> None:
    gone, slow = Receiver(answers=[404]), Receiver(delay=1.0)
    try:
        only_rule(migrated, workspace, kind="new_error")
        _create(migrated, workspace, {"url": gone.url, "name": "gone"}, allow_private_webhooks=True)
        _create(migrated, workspace, {"url": slow.url, "name": "slow"}, allow_private_webhooks=True)
        evaluate(migrated, run(workspace, now_ns() - MINUTE, type="FailError"))
        _deliver(
            migrated,
            allow_private_webhooks=True,
            webhook_timeout_seconds=0.3,
            webhook_attempts=2,
            webhook_backoff_seconds=0.1,
        )
    finally:
        gone.close()
        slow.close()
    found = rows(
        migrated,
        "SELECT x.name, d.status, d.attempts, d.last_error FROM alert_deliveries d JOIN alert_destinations x"
        " USING (workspace_id, destination_id) WHERE d.workspace_id = %s ORDER BY x.name",
        workspace,
    )
    assert found == [("gone", "failed", 1, "HTTP 404"), ("slow", "failed", 2, "no answer within 0.3s")]


def test_loopback_and_private_addresses_are_refused_at_delivery(migrated: str, workspace: str) -> None:
    receiver = Receiver()
    try:
        only_rule(migrated, workspace, kind="new_error")
        # Allowed when created (say the setting was on then), refused when sent with it off.
        _create(migrated, workspace, {"url": receiver.url}, allow_private_webhooks=True)
        _create(
            migrated, workspace, {"url": receiver.url.replace("127.0.0.1", "localhost")}, allow_private_webhooks=True
        )
        evaluate(migrated, run(workspace, now_ns() - MINUTE, type="SsrfError"))
        _deliver(
            migrated,
        )
    finally:
        receiver.close()
    assert receiver.received == []
    found = rows(
        migrated, "SELECT status, attempts, last_error FROM alert_deliveries WHERE workspace_id = %s", workspace
    )
    assert len(found) == 2
    for status, attempts, error in found:
        assert (status, attempts) == ("failed", 1) and error.startswith("refused:") and "loopback" in error


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "0.0.0.0"])
def test_every_resolved_address_is_checked(host: str) -> None:
    with pytest.raises(DeliveryError, match="refused") as info:
        asyncio.run(resolve(host, 80, allow_private=False))
    assert not info.value.retry
    assert asyncio.run(resolve(host, 80, allow_private=True))


def test_a_workspace_has_bounded_rules_and_destinations(migrated: str, workspace: str) -> None:
    """One tenant cannot crowd the evaluator and the sender every tenant shares."""
    from otel_errors.exporter.alerts import rules as rule_store

    with psycopg.connect(migrated, autocommit=True) as conn:  # fill up to the limit directly, then ask the API
        for i in range(rule_store.MAX_DESTINATIONS):
            conn.execute(
                "INSERT INTO alert_destinations (workspace_id, destination_id, name, url, format, secret)"
                " VALUES (%s, gen_random_uuid(), %s, 'https://hooks.example.com/x', 'json', 'whsec_x')",
                (workspace, f"d{i}"),
            )
    over = _create(migrated, workspace, {"url": "https://hooks.example.com/one-more"})
    assert over.status_code == 422 and "at most" in over.json()["error"]["message"]

    async def add_rule(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(f"/api/v1/workspaces/{workspace}/alert-rules", json={"kind": "new_error"})

    created = [call(migrated, add_rule).status_code for _ in range(rule_store.MAX_RULES + 1)]
    assert created.count(201) == rule_store.MAX_RULES - 5 and created[-1] == 422  # five defaults came first


def test_deliveries_take_turns_between_workspaces_and_skip_disabled_destinations(migrated: str) -> None:
    from otel_errors.exporter.alerts import delivery

    busy, quiet = (f"turns-{n}-{uuid.uuid4().hex[:6]}" for n in ("busy", "quiet"))
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("UPDATE alert_deliveries SET status = 'failed' WHERE status = 'pending'")  # other tests' leftovers
        for ws, count, enabled in ((busy, 30, True), (quiet, 1, True), (quiet, 3, False)):
            destination = uuid.uuid4()
            conn.execute(
                "INSERT INTO alert_destinations (workspace_id, destination_id, name, url, format, secret, enabled)"
                " VALUES (%s, %s, 'd', 'https://hooks.example.com/x', 'json', 'whsec_x', %s)",
                (ws, destination, enabled),
            )
            for i in range(count):
                conn.execute(
                    "INSERT INTO alert_deliveries (workspace_id, delivery_id, destination_id, alert_id, event, body,"
                    " status, next_attempt_at) VALUES (%s, gen_random_uuid(), %s, gen_random_uuid(), 'alert.fired',"
                    " '{}', 'pending', now() - make_interval(secs => %s))",
                    (ws, destination, 100 - i if ws == busy else 1),  # the busy tenant's are all older
                )
        citus = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'").fetchone()
        claim = delivery._CITUS_CLAIM if citus and citus[0] else delivery._CLAIM  # as the sender picks it
        try:
            claimed = conn.execute(claim, {"limit": 4, "lease": 60, "per_workspace": delivery.PER_WORKSPACE}).fetchall()
        finally:  # nothing of this test is left for other tests' senders to wait for
            conn.execute("DELETE FROM alert_deliveries WHERE workspace_id IN (%s, %s)", (busy, quiet))
    by_workspace = [row[0] for row in claimed]
    assert by_workspace.count(quiet) == 1 and by_workspace.count(busy) == delivery.PER_WORKSPACE


def test_a_test_notification_is_sent_signed_at_once_and_its_answer_returned(migrated: str, workspace: str) -> None:
    receiver = Receiver(answers=[200, 500])
    try:
        created = _create(migrated, workspace, {"url": receiver.url, "name": "ops"}, allow_private_webhooks=True)
        secret, destination = created.json()["secret"], created.json()["destinationId"]
        path = f"/api/v1/workspaces/{workspace}/alert-destinations/{destination}/test"
        answers = [post(migrated, path, {}, allow_private_webhooks=True) for _ in range(2)]
        refused = post(migrated, path, {})  # the setting off: refused when sent, as every webhook is
        missing = post(migrated, path.replace(destination, str(uuid.uuid4())), {}, allow_private_webhooks=True)
    finally:
        receiver.close()
    assert [r.status_code for r in (*answers, refused)] == [200, 200, 200] and missing.status_code == 404
    found = [{k: v for k, v in r.json().items() if k != "milliseconds"} for r in (*answers, refused)]
    assert found[:2] == [
        {"delivered": True, "httpStatus": 200, "error": None},
        {"delivered": False, "httpStatus": 500, "error": "HTTP 500"},
    ]
    assert found[2]["delivered"] is False and found[2]["httpStatus"] is None
    assert found[2]["error"].startswith("refused:") and "loopback" in found[2]["error"]
    assert len(receiver.received) == 2
    got = receiver.received[0]
    timestamp = got.headers["x-otel-errors-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-otel-errors-signature"] == f"sha256={expected}"
    document = receiver.documents()[0]
    assert document["type"] == "alert.test" and document["workspaceId"] == workspace
    assert document["alert"]["title"] == "Test notification from otel-errors to ops"
    # A test is no alert's delivery, and every one is in the audit log with its outcome.
    assert rows(migrated, "SELECT count(*) FROM alert_deliveries WHERE workspace_id = %s", workspace) == [(0,)]
    audit = get(migrated, f"/api/v1/workspaces/{workspace}/audit-log").json()["items"]
    tests = [item for item in audit if item["action"] == "alert_destination.test"]
    assert len(tests) == 3 and secret not in json.dumps(audit)


def test_one_test_notification_at_a_time_per_workspace(migrated: str, workspace: str) -> None:
    receiver = Receiver(delay=1.0)
    try:
        created = _create(migrated, workspace, {"url": receiver.url}, allow_private_webhooks=True).json()
        path = f"/api/v1/workspaces/{workspace}/alert-destinations/{created['destinationId']}/test"

        async def both(client: httpx.AsyncClient) -> list[httpx.Response]:
            first = asyncio.create_task(client.post(path, json={}))
            await asyncio.sleep(0.3)  # the first is waiting for the slow receiver
            second = await client.post(path, json={})
            return [await first, second]

        first, second = call(migrated, both, allow_private_webhooks=True)
    finally:
        receiver.close()
    assert first.status_code == 200 and first.json()["delivered"] is True
    assert second.status_code == 429 and "in progress" in second.json()["error"]["message"]
    assert len(receiver.received) == 1
