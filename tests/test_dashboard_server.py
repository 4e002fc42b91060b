"""The dashboard's server side, without a browser: security headers, pages without inline code, the workspace
picker and its redirects, what a key's role is, and the packaging of templates and static files."""

from __future__ import annotations

import fnmatch
import re
import time
import tomllib
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import psycopg
import pytest
from conftest import ROOT, RunningServer, start_server, stop_server
from dashboard_helpers import execution, send, wait_for_occurrences

from otel_errors.api.dashboard._pages import STATIC_PREFIX
from otel_errors.api.dashboard._security import CONTENT_SECURITY_POLICY

DASHBOARD = ROOT / "api" / "dashboard"
SCRIPTS = sorted((DASHBOARD / "static" / "js").glob("*.js"))
# Ways to turn a string into markup or code. The dashboard builds its DOM from text nodes and attributes only.
HTML_SINKS = re.compile(
    r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\s*\(|"
    r"createContextualFragment|DOMParser|srcdoc|setAttribute\(\s*[\"']on|\.setAttribute\(\s*[\"']style"
)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _assert_no_inline_code(html: str) -> None:
    for tag, attrs in _tags(html):
        assert "style" not in attrs, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src"), "inline <script>"
        assert tag != "style", "inline <style>"
        for name in ("href", "src", "action"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:", "http:", "https:", "//")), (tag, attrs)


def test_pages_and_files_carry_the_security_headers(server: RunningServer, workspace: str) -> None:
    static = STATIC_PREFIX
    for path in (
        f"/workspaces/{workspace}",
        f"{static}/dashboard.css",
        f"{static}/js/main.js",
        f"{static}/favicon.svg",
    ):
        response = httpx.get(f"{server.api}{path}", timeout=10)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    # Files live under a digest of their contents and are cached for good; another version's path is not found.
    assert re.fullmatch(r"/static/[0-9a-f]{12}", static)
    script = httpx.get(f"{server.api}{static}/js/main.js", timeout=10)
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable" and script.headers["etag"]
    unchanged = httpx.get(
        f"{server.api}{static}/js/main.js", headers={"if-none-match": script.headers["etag"]}, timeout=10
    )
    assert unchanged.status_code == 304
    assert httpx.get(f"{server.api}/static/000000000000/js/main.js", timeout=10).status_code == 404
    assert httpx.get(f"{server.api}{static}/../_pages.py", timeout=10).status_code == 404
    # The JSON API and its OpenAPI page (which loads its own scripts) are left alone.
    api = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/errors", timeout=10)
    docs = httpx.get(f"{server.api}/docs", timeout=10)
    assert "content-security-policy" not in api.headers and "content-security-policy" not in docs.headers


def test_pages_have_no_inline_code_and_the_scripts_no_html_sinks(server: RunningServer, workspace: str) -> None:
    page = httpx.get(f"{server.api}/workspaces/{workspace}", timeout=10).text
    _assert_no_inline_code(page)
    tags = _tags(page)
    body = next(attrs for tag, attrs in tags if tag == "body")
    assert body["data-workspace"] == workspace and body["data-auth"] == "off" and body["data-static"] == STATIC_PREFIX
    preloaded = [attrs["href"] for tag, attrs in tags if tag == "link" and attrs.get("rel") == "modulepreload"]
    assert set(preloaded) == {f"{STATIC_PREFIX}/js/{p.name}" for p in SCRIPTS}
    assert preloaded[0] == f"{STATIC_PREFIX}/js/main.js"  # the bootstrap first: it sends the first API reads
    for template in (DASHBOARD / "templates").glob("*.html"):
        _assert_no_inline_code(template.read_text())
    assert SCRIPTS
    for script in SCRIPTS:
        found = HTML_SINKS.findall(script.read_text())
        assert found == [], (script.name, found)


def test_a_workspace_id_outside_the_pattern_is_refused(server: RunningServer) -> None:
    for bad in ("a%20b", "%3Cscript%3E", "-lead", "x" * 65):
        response = httpx.get(f"{server.api}/workspaces/{bad}", timeout=10)
        assert response.status_code == 422, bad
        assert "<script>" not in response.text


def test_whoami_with_authentication_off_is_an_anonymous_admin(server: RunningServer, workspace: str) -> None:
    response = httpx.get(f"{server.api}/api/v1/workspaces/{workspace}/whoami", timeout=10)
    assert response.json() == {"workspaceId": workspace, "role": "admin", "keyId": "anonymous", "auth": False}


@pytest.fixture
def fresh_database(migrated: str) -> Iterator[str]:
    """A database of its own on the tests' server: the picker depends on every workspace it holds."""
    name = f"dash_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = psycopg.conninfo.make_conninfo(migrated, dbname=name)
    yield url
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_home_goes_to_the_only_workspace_or_offers_a_picker(fresh_database: str, tmp_path: Path) -> None:
    server = start_server(fresh_database, tmp_path / "server.log")
    try:
        home = httpx.get(f"{server.api}/", timeout=10)
        assert home.status_code == 307 and home.headers["location"] == "/workspaces/default"  # nothing yet

        send(server, execution("solo", _recent(), type="SoloError", message="one"))
        wait_for_occurrences(server, "solo", 1)
        home = httpx.get(f"{server.api}/", timeout=10)
        assert home.status_code == 307 and home.headers["location"] == "/workspaces/solo"

        send(server, execution("alpha", _recent(), type="AlphaError", message="two"))
        wait_for_occurrences(server, "alpha", 1)
        with psycopg.connect(fresh_database, autocommit=True) as conn:  # a registered workspace, no data yet
            conn.execute("INSERT INTO workspaces (workspace_id, name) VALUES ('keys-only', '<b>Acme</b> & co')")
        home = httpx.get(f"{server.api}/", timeout=10)
        assert home.status_code == 200
        _assert_no_inline_code(home.text)
        links = [attrs["href"] for tag, attrs in _tags(home.text) if tag == "a"]
        assert links == ["/workspaces/alpha", "/workspaces/keys-only", "/workspaces/solo"]
        assert "&lt;b&gt;Acme&lt;/b&gt; &amp; co" in home.text and "<b>Acme" not in home.text
        assert home.headers["content-security-policy"] == CONTENT_SECURITY_POLICY

        chosen = httpx.get(f"{server.api}/", params={"workspace": "alpha"}, timeout=10)
        assert chosen.status_code == 303 and chosen.headers["location"] == "/workspaces/alpha"
        refused = httpx.get(f"{server.api}/", params={"workspace": "not a workspace"}, timeout=10)
        assert refused.status_code == 422
    finally:
        stop_server(server)


def _recent() -> int:
    return time.time_ns() - 10_000_000_000


def test_templates_and_static_files_are_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "otel_errors.api.dashboard" in config["packages"]
    patterns = config["package-data"]["otel_errors.api.dashboard"]
    shipped = [p for p in DASHBOARD.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert shipped
    for path in shipped:
        relative = path.relative_to(DASHBOARD).as_posix()
        assert any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns), relative
