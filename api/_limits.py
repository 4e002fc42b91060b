"""ASGI middleware that refuses what the API must never read: bodies over the limit (413), NUL bytes in the
query string (400). Both answer before the request reaches a route, a dependency or the database."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestLimits:
    def __init__(self, app: App, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"\x00" in query or b"%00" in query.lower():
            await _refuse(send, 400, "invalid_request", "a query parameter contains a NUL byte")
            return
        limit = self.max_body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit():
                    await _refuse(send, 400, "invalid_request", "invalid content-length")
                    return
                if int(value) > limit:
                    await _refuse(send, 413, "too_large", f"the request body exceeds {limit} bytes")
                    return
        received = 0

        async def bounded_receive() -> Message:
            # A body without a length (chunked) is counted as it arrives; FastAPI passes this exception on as is,
            # and the problems handler answers it like any other.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"the request body exceeds {limit} bytes")
            return message

        await self.app(scope, bounded_receive, send)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
