"""Authentication under a flood: bad keys and tokens are refused in milliseconds without exhausting anything, a
valid key is served during the flood, and nothing expensive happens before authentication.

Found: with authentication on, 256 requests with bad API keys, 64 at a time, made the API answer 503 to everyone
for 10-20 s (each request held a pooled connection while its key lookup waited for a second one), and every
ingest token miss opened a database connection of its own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import statistics
import time
from collections.abc import Iterator

import grpc
import httpx
import psycopg
import pytest
from conftest import RunningServer, start_server, stop_server
from otlp_builders import new_id, span, traces
from test_auth import cli, new_key

TRACE_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@pytest.fixture(scope="module")
def auth_server(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(migrated, tmp_path_factory.mktemp("flood") / "server.log", {"OTEL_ERRORS_AUTH": "true"})
    yield running
    stop_server(running)


def _sessions(url: str) -> int:
    """Sessions ever established to the database (pg_stat_database.sessions)."""
    with psycopg.connect(url) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def test_a_flood_of_bad_api_keys_is_refused_fast_while_a_valid_key_is_served(
    auth_server: RunningServer, migrated: str, workspace: str
) -> None:
    valid = new_key(migrated, workspace, "viewer")
    url = f"{auth_server.api}/api/v1/workspaces/{workspace}/errors"

    async def flood() -> tuple[list[int], list[float], list[int]]:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            gate = asyncio.Semaphore(64)

            async def bad(i: int) -> tuple[int, float]:
                async with gate:
                    # Well-formed keys that do not exist (each a real lookup), and malformed ones.
                    key = f"oek_{secrets.token_urlsafe(32)}" if i % 4 else f"junk-{i}"
                    started = time.perf_counter()
                    response = await client.get(url, headers={"authorization": f"Bearer {key}"})
                    return response.status_code, time.perf_counter() - started

            async def good() -> list[int]:
                codes = []
                for _ in range(10):
                    response = await client.get(url, headers={"authorization": f"Bearer {valid}"})
                    codes.append(response.status_code)
                    await asyncio.sleep(0.02)
                return codes

            results, served = await asyncio.gather(asyncio.gather(*(bad(i) for i in range(256))), good())
            return [code for code, _ in results], [seconds for _, seconds in results], served

    started = time.monotonic()
    codes, seconds, served = asyncio.run(flood())
    elapsed = time.monotonic() - started
    assert set(codes) == {401}, sorted(set(codes))  # never 503: nothing was exhausted
    assert served == [200] * 10  # the valid key was served during the flood
    # Not a timing test (bench/hostile.py measures): only a bound no queue behind a pool would meet on any machine.
    assert elapsed < 30, (statistics.median(seconds), elapsed)
    # And right after it, too.
    assert httpx.get(url, headers={"authorization": f"Bearer {valid}"}).status_code == 200


def test_ingest_token_misses_do_not_open_a_connection_each(
    auth_server: RunningServer, migrated: str, workspace: str
) -> None:
    payload = traces(
        span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E"}]),
        resource={"workspace.id": workspace},
    ).SerializeToString()
    before = _sessions(migrated)
    with grpc.insecure_channel(auth_server.otlp_grpc) as channel:
        call = channel.unary_unary(TRACE_METHOD, request_serializer=None, response_deserializer=None)
        for i in range(128):
            token = f"oet_{secrets.token_urlsafe(32)}" if i % 2 else "oet_the-same-bad-token"
            with pytest.raises(grpc.RpcError) as info:
                call(payload, timeout=10, metadata=[("authorization", f"Bearer {token}")])
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert _sessions(migrated) - before < 10  # one lookup connection, not one per miss


def test_the_http_receiver_refuses_a_bad_token_before_reading_the_body(auth_server: RunningServer) -> None:
    """The request claims 16 MB and sends none of it: the answer comes at once, from the headers alone."""
    host, port = "127.0.0.1", int(auth_server.otlp_http.rsplit(":", 1)[1])
    head = (
        f"POST /v1/traces HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-protobuf\r\n"
        "Content-Encoding: gzip\r\nAuthorization: Bearer oet_wrong\r\nContent-Length: 16000000\r\n\r\n"
    )
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(head.encode())
        started = time.monotonic()
        answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 401"), answer[:200]
    assert time.monotonic() - started < 2


def test_the_api_bounds_request_bodies(auth_server: RunningServer, migrated: str, workspace: str) -> None:
    admin = new_key(migrated, workspace, "admin")
    url = f"{auth_server.api}/api/v1/workspaces/{workspace}/rules"
    headers = {"authorization": f"Bearer {admin}", "content-type": "application/json"}
    big = json.dumps({"scrub": {"allow_keys": ["k" * 100] * 20_000}}).encode()
    assert len(big) > 1024 * 1024
    declared = httpx.put(url, content=big, headers=headers, timeout=10)
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no content-length: counted as it arrives
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    streamed = httpx.put(url, content=chunks(), headers=headers, timeout=10)
    assert streamed.status_code == 413
    assert httpx.get(url, headers=headers, timeout=10).status_code == 200


def test_revoking_a_key_takes_effect_at_once_in_the_process_that_revoked_it(
    auth_server: RunningServer, migrated: str, workspace: str
) -> None:
    admin = new_key(migrated, workspace, "admin")
    base = f"{auth_server.api}/api/v1/workspaces/{workspace}"
    created = httpx.post(f"{base}/api-keys", json={"role": "viewer"}, headers={"authorization": f"Bearer {admin}"})
    key = created.json()
    assert httpx.get(f"{base}/errors", headers={"authorization": f"Bearer {key['secret']}"}).status_code == 200
    httpx.delete(f"{base}/api-keys/{key['id']}", headers={"authorization": f"Bearer {admin}"})
    assert httpx.get(f"{base}/errors", headers={"authorization": f"Bearer {key['secret']}"}).status_code == 401
    assert cli(migrated, "key", "list", "--workspace", workspace).count("revoked") == 1
