"""Ingest authentication: `authorization: Bearer <token>` (gRPC metadata or HTTP header) -> workspace.

Tokens are stored hashed (sha256); lookups are cached briefly so the hot path rarely touches the database.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from otel_errors.errors import Unauthenticated

TokenLookup = Callable[[bytes], Awaitable[str | None]]


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenAuthenticator:
    def __init__(
        self,
        lookup: TokenLookup,
        *,
        ttl_seconds: float = 30.0,
        negative_ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
    ) -> None:
        self._lookup = lookup
        self._ttl, self._negative_ttl, self._max = ttl_seconds, negative_ttl_seconds, max_entries
        self._cache: OrderedDict[bytes, tuple[str | None, float]] = OrderedDict()

    async def __call__(self, authorization: str | None) -> str | None:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("send an ingest token: authorization: Bearer <token>")
        key = token_hash(token)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            workspace = cached[0]
        else:
            workspace = await self._lookup(key)  # StoreUnavailable propagates: the client retries
            self._cache[key] = (workspace, now + (self._ttl if workspace else self._negative_ttl))
            self._cache.move_to_end(key)
            if len(self._cache) > self._max:
                self._cache.popitem(last=False)
        if workspace is None:
            raise Unauthenticated("unknown or revoked ingest token")
        return workspace
