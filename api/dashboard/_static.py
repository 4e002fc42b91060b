"""The dashboard's static files, under a path named by a digest of their contents (`/static/<version>/...`).

A new release gets a new path, so the files can be cached for good (`immutable`): a returning visitor's browser
requests none of them. The modules import each other by relative paths, which stay within one version.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CACHE_FOREVER = "public, max-age=31536000, immutable"


def content_version(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


class StaticAssets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["cache-control"] = CACHE_FOREVER
        return response
