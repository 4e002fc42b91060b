"""The dashboard's static files: revalidated on every load (ETag, answered 304 when unchanged), so a new
version of the dashboard is used at once and an unchanged one costs no transfer."""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class StaticAssets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["cache-control"] = "no-cache"
        return response
