"""Webhook delivery: queued deliveries (`alert_deliveries`) sent with a timeout, an HMAC signature, and retries with
backoff; every attempt recorded (`alert_delivery_attempts`), a delivery that runs out of attempts marked failed.

Any process may send: a delivery is claimed (FOR UPDATE SKIP LOCKED) and leased for longer than an attempt can
take, so two senders never send it at once, and one that dies mid-attempt leaves it to be retried after the lease.
Sending never runs on anyone else's path: the evaluator only queues rows.

Addresses: the destination's host is resolved here, every address it resolves to is checked, and the connection
goes to the checked address (a second lookup could answer differently: DNS rebinding). Loopback, private,
link-local, unspecified and other non-global addresses are refused unless `allow_private_webhooks`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from otel_errors import alerting

from ..citus import has_citus
from .config import AlertsConfig

log = logging.getLogger("otel_errors.exporter.alerts")

_MAX_RESPONSE_HEAD = 16 * 1024


class DeliveryError(Exception):
    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(slots=True)
class _Claimed:
    workspace_id: str
    delivery_id: uuid.UUID
    attempt: int
    body: bytes
    url: str
    secret: str


# Due deliveries to enabled destinations, at most PER_WORKSPACE of each workspace per claim, oldest first: one
# tenant's many (or slow) webhooks take turns with everyone else's instead of filling the sender.
PER_WORKSPACE = 2
_CLAIM = """
WITH due AS (
    SELECT d.workspace_id, d.delivery_id FROM alert_deliveries d
    WHERE (d.workspace_id, d.delivery_id) IN (
        SELECT workspace_id, delivery_id FROM (
            SELECT p.workspace_id, p.delivery_id, p.next_attempt_at,
                   row_number() OVER (PARTITION BY p.workspace_id ORDER BY p.next_attempt_at) AS turn
            FROM alert_deliveries p
            JOIN alert_destinations x ON x.workspace_id = p.workspace_id AND x.destination_id = p.destination_id
            WHERE p.status = 'pending' AND p.next_attempt_at <= now() AND x.enabled
        ) r
        WHERE turn <= %(per_workspace)s ORDER BY next_attempt_at LIMIT %(limit)s
    )
    FOR UPDATE SKIP LOCKED
)
UPDATE alert_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => %(lease)s)
FROM due, alert_destinations x
WHERE d.workspace_id = due.workspace_id AND d.delivery_id = due.delivery_id
  AND x.workspace_id = d.workspace_id AND x.destination_id = d.destination_id
RETURNING d.workspace_id, d.delivery_id, d.attempts, d.body, x.url, x.secret
"""

# Citus takes row locks only in a query that reaches one shard: there the due deliveries are read without a lock,
# and the UPDATE checks them again. A sender that claimed one meanwhile holds its row; the second waits for it and
# then, re-reading the row, finds it no longer due (its lease moved next_attempt_at on) and skips it.
_CITUS_CLAIM = (
    _CLAIM.replace(" FOR UPDATE SKIP LOCKED\n", "\n")
    .replace("WITH due AS (", "WITH due AS MATERIALIZED (")
    .replace(
        "  AND x.workspace_id = d.workspace_id",
        "  AND d.status = 'pending' AND d.next_attempt_at <= now()\n  AND x.workspace_id = d.workspace_id",
    )
)
if _CITUS_CLAIM.count("FOR UPDATE") or _CITUS_CLAIM.count("d.next_attempt_at <= now()") != 1:
    raise AssertionError("_CLAIM changed; update _CITUS_CLAIM")


class WebhookSender:
    """Sends due deliveries when woken and every `poll_seconds`; idempotent start/shutdown."""

    def __init__(self, config: AlertsConfig, *, poll_seconds: float = 0.5) -> None:
        if not config.database_url:
            raise ValueError("AlertsConfig.database_url is required")
        self.config = config
        self._poll = poll_seconds
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(config.webhook_concurrency)
        self._claim_sql: str | None = None  # _CITUS_CLAIM when the database has Citus (known at the first claim)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="otel-errors-webhooks")

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for sending in list(self._sending):
            sending.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    def wake(self) -> None:
        self._wakeup.set()

    async def _loop(self) -> None:
        conn: psycopg.AsyncConnection[Any] | None = None
        while True:
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._poll)
            except TimeoutError:
                pass
            self._wakeup.clear()
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(
                        self.config.database_url or "", autocommit=True, options="-c timezone=UTC"
                    )
                while (free := self.config.webhook_concurrency - len(self._sending)) > 0:
                    claimed = await self._claim(conn, free)
                    for item in claimed:
                        task = asyncio.create_task(self._deliver(item))
                        self._sending.add(task)
                        task.add_done_callback(self._sending.discard)
                    if len(claimed) < free:
                        break
            except (psycopg.Error, OSError) as exc:
                log.warning("webhook deliveries deferred: %s", exc)
                if conn is not None:
                    await conn.close()
                conn = None

    async def _claim(self, conn: psycopg.AsyncConnection[Any], limit: int) -> list[_Claimed]:
        lease = self.config.webhook_timeout_seconds + 30.0
        if self._claim_sql is None:
            self._claim_sql = _CITUS_CLAIM if await has_citus(conn) else _CLAIM
        cur = await conn.execute(self._claim_sql, {"limit": limit, "lease": lease, "per_workspace": PER_WORKSPACE})
        return [_Claimed(str(r[0]), r[1], int(r[2]), bytes(r[3]), str(r[4]), str(r[5])) for r in await cur.fetchall()]

    async def _deliver(self, item: _Claimed) -> None:
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        retry = False
        try:
            async with self._slots:
                status = await post(
                    item.url,
                    item.body,
                    secret=item.secret,
                    timeout=self.config.webhook_timeout_seconds,
                    allow_private=self.config.allow_private_webhooks,
                )
            if not 200 <= status < 300:
                error, retry = f"HTTP {status}", alerting.retryable(status)
        except DeliveryError as exc:
            error, retry = str(exc), exc.retry
        except Exception as exc:  # noqa: BLE001 - anything else is recorded on the delivery, never lost
            error, retry = f"{type(exc).__name__}: {exc}", True
        await self._record(item, status, error, retry, (time.perf_counter() - started) * 1000.0)

    async def _record(self, item: _Claimed, status: int | None, error: str | None, retry: bool, ms: float) -> None:
        if error is None:
            outcome, wait = "delivered", 0.0
        elif retry and item.attempt < self.config.webhook_attempts:
            outcome, wait = "pending", alerting.backoff_seconds(item.attempt, self.config.webhook_backoff_seconds)
        else:
            outcome, wait = "failed", 0.0
        if error is not None:
            log.warning("webhook delivery %s attempt %d: %s (%s)", item.delivery_id, item.attempt, error, outcome)
        for attempt in range(3):
            try:
                async with await psycopg.AsyncConnection.connect(self.config.database_url or "") as conn:
                    await conn.execute(
                        "INSERT INTO alert_delivery_attempts (workspace_id, delivery_id, attempt, http_status, error,"
                        " milliseconds) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (item.workspace_id, item.delivery_id, item.attempt, status, error, ms),
                    )
                    # The finish time chosen here, not by a CASE: Citus refuses now() inside CASE.
                    finished = "NULL" if outcome == "pending" else "now()"
                    await conn.execute(
                        "UPDATE alert_deliveries SET status = %s, last_error = %s,"
                        " next_attempt_at = now() + make_interval(secs => %s),"
                        f" finished_at = {finished}"
                        # Only this attempt's own result: a late one must not overwrite a newer attempt's.
                        " WHERE workspace_id = %s AND delivery_id = %s AND status = 'pending' AND attempts = %s",
                        (outcome, error, wait, item.workspace_id, item.delivery_id, item.attempt),
                    )
                return
            except (psycopg.Error, OSError) as exc:
                # Unrecorded, the lease expires and the delivery is tried again: sent twice, never lost.
                log.warning("could not record webhook delivery %s: %s", item.delivery_id, exc)
                await asyncio.sleep(0.5 * (attempt + 1))


async def post(url: str, body: bytes, *, secret: str, timeout: float, allow_private: bool) -> int:
    """POST `body` to `url` (HTTP/1.1, one request per connection) and return the response's status."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise DeliveryError(f"not an http(s) URL: {url!r}", retry=False)
    host = parsed.hostname
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        async with asyncio.timeout(timeout):
            addresses = await resolve(host, port, allow_private=allow_private)
            context = ssl.create_default_context() if parsed.scheme == "https" else None
            reader, writer = await _connect(addresses, port, context, host)
            try:
                timestamp = int(time.time())
                path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
                host_header = host if parsed.port is None else f"{host}:{parsed.port}"
                if ":" in host and not host.startswith("["):
                    host_header = f"[{host}]" + (f":{parsed.port}" if parsed.port else "")
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: otel-errors-webhook/1\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
                    f"{alerting.TIMESTAMP_HEADER}: {timestamp}\r\n"
                    f"{alerting.SIGNATURE_HEADER}: {alerting.signature(secret, timestamp, body)}\r\n\r\n"
                )
                writer.write(head.encode("ascii") + body)
                await writer.drain()
                line = await reader.readuntil(b"\r\n")
                if len(line) > _MAX_RESPONSE_HEAD:
                    raise DeliveryError("response status line too long", retry=True)
                parts = line.decode("latin-1").split(" ", 2)
                if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                    raise DeliveryError(f"not an HTTP response: {line[:80]!r}", retry=True)
                return int(parts[1])
            finally:
                writer.close()
                try:
                    await writer.wait_closed()
                except (OSError, ssl.SSLError):
                    pass
    except TimeoutError:
        raise DeliveryError(f"no answer within {timeout:g}s", retry=True) from None
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}", retry=True) from None


async def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Every address `host` resolves to, all of them checked; DeliveryError (not retried) when one is refused."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DeliveryError(f"cannot resolve {host}: {exc}", retry=True) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise DeliveryError(f"{host} resolves to no address", retry=True)
    if not allow_private:
        for address in addresses:
            reason = alerting.refused_address(address.split("%")[0])
            if reason is not None:
                raise DeliveryError(f"refused: {host} resolves to {reason}", retry=False)
    return addresses


async def _connect(
    addresses: list[str], port: int, context: ssl.SSLContext | None, host: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    last: Exception | None = None
    for address in addresses:
        try:
            return await asyncio.open_connection(
                address,
                port,
                ssl=context,
                server_hostname=host if context is not None else None,
                limit=_MAX_RESPONSE_HEAD,
            )
        except OSError as exc:
            last = exc
    assert last is not None
    raise last
