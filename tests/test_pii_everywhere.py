"""Everything stored from telemetry is scrubbed: one trace and one log record carrying every kind of secret and
personal data in every field, then every API response and a dump of every table scanned for the raw strings.

Found: raw values reached the store and the API through exception-event attributes other than the type, message
and stack trace (`exception.details`), span names, status messages (also when they became the error type),
attribute keys, and the grouping explanation.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import psycopg
from conftest import RunningServer
from otlp_builders import logs, new_id, span, traces

# Each kind: the text sent, and the raw part that must appear nowhere once stored.
KINDS: dict[str, tuple[str, str]] = {
    "email": ("mail alice.pii@example.com now", "alice.pii@example.com"),
    "ipv4": ("from 203.0.113.77 port", "203.0.113.77"),
    "ipv6": ("peer 2001:db8:85a3::8a2e:370:7334 down", "2001:db8:85a3::8a2e:370:7334"),
    "card": ("card 4111 1111 1111 1111 declined", "4111 1111 1111 1111"),
    "iban": ("iban DE89 3704 0044 0532 0130 00 rejected", "DE89 3704 0044 0532 0130 00"),
    "ssn": ("ssn 123-45-6789 on file", "123-45-6789"),
    "phone": ("call +14155552671 back", "+14155552671"),
    "bearer": ("Authorization: Bearer abcdEFGH12345678tokenX", "abcdEFGH12345678tokenX"),
    "jwt": ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlX2FiYw end", "eyJzdWIiOiIxMjM0NTYifQ"),
    "private_key": (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
        "-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    ),
    "url_password": ("dsn https://bob:hunter2pw@db.example.com/x", "hunter2pw"),
    "kv_secret": ("retry with password=s3cr3tPassW0rd now", "s3cr3tPassW0rd"),
    "aws_access_key": ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    "aws_secret_key": (
        "aws_access_key_id=AKIAIOSFODNN7EXAMPLE aws_secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    "openai_key": ("openai sk-proj-abcdefghijklmnopqrstuvwx1234 failed", "sk-proj-abcdefghijklmnopqrstuvwx1234"),
    "github_token": (
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 expired",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    "slack_token": ("slack xoxb-123456789012-abcdefghijklmnop down", "xoxb-123456789012-abcdefghijklmnop"),
}
ALL = " | ".join(text for text, _raw in KINDS.values())
RAW = {kind: raw for kind, (_text, raw) in KINDS.items()}


def _trace(workspace: str) -> Any:
    tid = new_id(16)
    stack = (
        "Traceback (most recent call last):\n"
        f'  File "/srv/app/agent.py", line 10, in run\n    fetch()  # {ALL}\n'
        f"ValueError: {ALL}\n"
    )
    event = {
        "exception.type": "ValueError",
        "exception.message": ALL,
        "exception.stacktrace": stack,
        "exception.details": ALL,
    }
    attrs = {"tool.input": ALL, "alice.pii@example.com": "a key holding an address", "db.statement": ALL}
    recorded = span(f"call {ALL}", trace_id=tid, parent=new_id(8), error=True, attrs=attrs, exceptions=[event])
    # A status message with no `Type:` prefix becomes the error type, cut to 128 characters: one per kind.
    status_only = [
        span("step", trace_id=tid, parent=new_id(8), error=True, status_message=text) for text, _raw in KINDS.values()
    ]
    resource = {
        "workspace.id": workspace,
        "service.name": "agent-svc",
        "deployment.environment.name": f"prod {RAW['email']}",
        "service.version": f"1.0 {RAW['ipv4']}",
        "gen_ai.agent.name": f"agent {RAW['phone']}",
    }
    return traces(recorded, *status_only, resource=resource)


def _log(workspace: str) -> Any:
    record = {
        "exception.type": "KeyError",
        "exception.message": ALL,
        "exception.stacktrace": f"KeyError: {ALL}\n",
        "exception.details": ALL,
        "http.request.header.authorization": "Bearer abcdEFGH12345678tokenX",
        "_body": ALL,
        "_severity_text": f"ERROR {RAW['ssn']}",
        "_trace_id": new_id(16),
        "_span_id": new_id(8),
    }
    return logs(record, resource={"workspace.id": workspace, "service.name": "agent-svc"})


def _post(server: RunningServer, path: str, request: Any) -> None:
    response = httpx.post(
        f"{server.otlp_http}{path}",
        content=request.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def _api_responses(server: RunningServer, workspace: str) -> str:
    base = f"{server.api}/api/v1/workspaces/{workspace}"

    def get(path: str, **params: Any) -> Any:
        response = httpx.get(f"{base}{path}", params=params, timeout=10)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    seen = [get("/errors")]
    for item in seen[0]["items"]:
        seen.append(get(f"/errors/{item['errorId']}"))
        seen.append(get(f"/errors/{item['errorId']}/occurrences"))
    seen += [get("/error-tracking", timeframe=t) for t in ("1h", "24h")]
    return json.dumps(seen, ensure_ascii=False)


def _table_dump(url: str, workspace: str) -> str:
    """Every row of every table with a workspace_id column, as text."""
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
                " USING (table_schema, table_name) WHERE c.column_name = 'workspace_id' AND c.table_schema = 'public'"
                " AND t.table_type = 'BASE TABLE'"
            )
        ]
        assert {"errors", "error_occurrences", "error_stacktraces", "error_spans", "executions"} <= set(tables)
        rows = []
        for table in tables:
            rows += [
                r[0]
                for r in conn.execute(
                    f'SELECT t::text FROM "{table}" t WHERE workspace_id = %s',
                    (workspace,),
                )
            ]
    return "\n".join(rows)


def test_no_raw_secret_or_personal_data_is_stored_or_served(
    server: RunningServer, migrated: str, workspace: str
) -> None:
    _post(server, "/v1/traces", _trace(workspace))
    _post(server, "/v1/logs", _log(workspace))
    deadline, expected = time.monotonic() + 20, 2 + len(KINDS)  # the recorded exception, the log, each status
    while time.monotonic() < deadline:
        items = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors", timeout=10).json()["items"]
        if sum(i["occurrences"] for i in items) >= expected:
            break
        time.sleep(0.2)
    assert sum(i["occurrences"] for i in items) == expected
    stored = _table_dump(migrated, workspace)
    served = _api_responses(server, workspace)
    assert "[email]" in stored and "[redacted]" in served  # what was there was scrubbed, not dropped
    leaks = {
        kind: [where for where, text in (("stored", stored), ("served", served)) if raw in text]
        for kind, raw in RAW.items()
    }
    assert {kind: where for kind, where in leaks.items() if where} == {}
