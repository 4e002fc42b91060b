"""Ingest authentication: `authorization: Bearer <token>` (gRPC metadata or HTTP header) -> workspace.

The receivers call it before they read, decompress or parse a request's body. The lookup itself (hashing, caches,
its own database connection) is injected: `serve` passes the store's credential lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from otel_errors.errors import Unauthenticated

# A token -> its workspace, or None when unknown or revoked. May raise StoreUnavailable (the client retries).
TokenLookup = Callable[[str], Awaitable[str | None]]
# Resolves the workspace of a request from its credentials (None: take it from the data, auth off).
Authenticator = Callable[[str | None], Awaitable[str | None]]


async def no_auth(_authorization: str | None) -> str | None:
    return None


def bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send an ingest token: authorization: Bearer <token>")
    return token


class TokenAuthenticator:
    def __init__(self, lookup: TokenLookup) -> None:
        self._lookup = lookup

    async def __call__(self, authorization: str | None) -> str | None:
        workspace = await self._lookup(bearer(authorization))
        if workspace is None:
            raise Unauthenticated("unknown or revoked ingest token")
        return workspace
