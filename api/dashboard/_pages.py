"""The dashboard's pages: `/` (the only workspace, or a picker) and `/workspaces/{workspaceId}`.

The pages are shells: the browser's modules read every figure from the JSON API. With authentication on, `/`
asks for a workspace and lists none (naming tenants to anonymous callers would leak them).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from otel_errors.config import WORKSPACE_ID_REGEX

from ..deps import WorkspaceId
from . import _workspaces
from ._static import content_version

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = f"/static/{content_version(STATIC_DIR)}"
PAGES_PREFIX = "/workspaces/"
PICKER_LIMIT = 500
# Refresh interval of the live view, seconds, until the API streams changes.
REFRESH_SECONDS = 15
_SCRIPTS = STATIC_DIR / "js"


def _preload_order() -> tuple[str, ...]:
    """Every module, preloaded by the page so the browser fetches them at once instead of discovering them
    import by import: first the bootstrap and its static imports (it sends the first API reads, so they go
    first of the six connections a browser opens), then the rest."""
    imports = re.findall(r'^import [^;]* from "\./([\w-]+\.js)";', (_SCRIPTS / "main.js").read_text(), re.MULTILINE)
    first = ["main.js", *imports]
    return (*first, *sorted(p.name for p in _SCRIPTS.glob("*.js") if p.name not in first))


MODULES = _preload_order()

_TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=True,  # every value in a page is escaped, whatever the template's file name
        undefined=jinja2.StrictUndefined,
    )
)

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return _TEMPLATES.TemplateResponse(request, template, {"static": STATIC_PREFIX, **context})


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    workspace: Annotated[str | None, Query(pattern=WORKSPACE_ID_REGEX)] = None,
) -> Response:
    """`?workspace=` (the picker's form, which works without scripts) opens that workspace."""
    if workspace:
        return RedirectResponse(f"{PAGES_PREFIX}{workspace}", status_code=303)
    default: str = request.app.state.dashboard_default_workspace
    if request.app.state.config.auth:
        return _page(request, "picker.html", auth=True, workspaces=[], default_workspace=default)
    async with request.app.state.pool.connection() as conn:
        found = await _workspaces.list_workspaces(conn, limit=PICKER_LIMIT)
    if len(found) <= 1:
        only = found[0].workspace_id if found else default
        return RedirectResponse(f"{PAGES_PREFIX}{only}", status_code=307)
    return _page(request, "picker.html", auth=False, workspaces=found, default_workspace=default)


@router.get(PAGES_PREFIX + "{workspace_id}", response_class=HTMLResponse)
async def dashboard(request: Request, workspace_id: WorkspaceId) -> Response:
    return _page(
        request,
        "dashboard.html",
        workspace_id=workspace_id,
        auth=bool(request.app.state.config.auth),
        refresh_seconds=REFRESH_SECONDS,
        modules=MODULES,
    )
