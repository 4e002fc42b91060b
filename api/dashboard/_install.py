"""`install(app)`: the dashboard's routes, static files and security headers on the API's FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from . import _pages, _whoami
from ._security import SecurityHeaders
from ._static import StaticAssets


def install(app: FastAPI, *, default_workspace: str = "default") -> None:
    """`default_workspace`: where `/` goes when no workspace has data yet."""
    app.state.dashboard_default_workspace = default_workspace
    app.include_router(_whoami.router)
    app.include_router(_pages.router)
    app.mount(_pages.STATIC_PREFIX, StaticAssets(directory=_pages.STATIC_DIR), name="dashboard-static")
    app.add_middleware(SecurityHeaders, prefixes=("/static/", _pages.PAGES_PREFIX))
