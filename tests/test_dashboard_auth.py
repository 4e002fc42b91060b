"""The dashboard with authentication on: the key is asked for once and kept in the tab's session only, a wrong
key is refused, the page shows what the key's role allows (a viewer sees no resolve button), and `/` names no
workspace to anonymous callers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import ROOT, RunningServer, start_server, stop_server
from dashboard_helpers import browser, execution, page_of, send, wait_for_occurrences

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the fixture, imported for pytest


def _cli(database_url: str, *args: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "otel_errors.cli.main", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OTEL_ERRORS_DATABASE_URL": database_url},
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def auth_server(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(migrated, tmp_path_factory.mktemp("dash-auth") / "server.log", {"OTEL_ERRORS_AUTH": "true"})
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def keyed(auth_server: RunningServer, migrated: str) -> dict[str, str]:
    """A workspace with one error and a key of each role (and one of another workspace)."""
    workspace = f"dashauth{uuid.uuid4().hex[:10]}"
    token = _cli(migrated, "token", "create", "--workspace", workspace, "--name", "agents")["secret"]
    send(
        auth_server,
        execution(workspace, time.time_ns() - 10_000_000_000, type="GuardedError", message="behind a key"),
        headers={"authorization": f"Bearer {token}"},
    )
    keys = {
        role: _cli(migrated, "key", "create", "--workspace", workspace, "--role", role, "--name", role)["secret"]
        for role in ("viewer", "member", "admin")
    }
    keys["other"] = _cli(migrated, "key", "create", "--workspace", "elsewhere", "--role", "admin")["secret"]
    wait_for_occurrences(auth_server, workspace, 1, key=keys["viewer"])
    return {"workspace": workspace, **keys}


def _enter_key(page: Any, key: str) -> None:
    page.wait_for_selector("#key-dialog[open]")
    page.fill("#key-input", key)
    page.press("#key-input", "Enter")


def test_whoami_names_the_keys_role(auth_server: RunningServer, keyed: dict[str, str]) -> None:
    url = f"{auth_server.api}/api/v1/workspaces/{keyed['workspace']}/whoami"
    for role in ("viewer", "member", "admin"):
        body = httpx.get(url, headers={"authorization": f"Bearer {keyed[role]}"}, timeout=10).json()
        assert (body["role"], body["auth"], body["workspaceId"]) == (role, True, keyed["workspace"])
        assert body["keyId"] != "anonymous"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"authorization": f"Bearer {keyed['other']}"}, timeout=10).status_code == 401


def test_a_viewer_sees_the_errors_and_no_actions(
    browser: Any, auth_server: RunningServer, keyed: dict[str, str]
) -> None:
    with page_of(browser) as page:
        page.goto(f"{auth_server.api}/workspaces/{keyed['workspace']}?refresh=600")
        _enter_key(page, "oek_not-a-key")
        page.wait_for_selector("#key-error:not([hidden])")
        assert "not valid" in (page.locator("#key-error").text_content() or "")
        assert page.evaluate("sessionStorage.length") == 0  # a refused key is not kept
        page.fill("#key-input", keyed["other"])  # a real key, of another workspace
        page.press("#key-input", "Enter")
        page.wait_for_function("document.getElementById('key-error').textContent.includes('not valid')")
        page.fill("#key-input", keyed["viewer"])
        page.press("#key-input", "Enter")
        page.wait_for_selector("body[data-usable='true']", timeout=20_000)
        assert page.locator("#role").text_content() == "role: viewer"
        assert page.locator("#cards [data-field='totalErrors'] .value").text_content() == "1"
        page.locator("#error-rows button.row-button").first.click()
        page.wait_for_selector("#details-title")
        assert page.locator("#details .actions button").count() == 0
        assert "read-only" in (page.locator("#details .actions-box").text_content() or "")
        # The key lives in this tab's session only.
        assert page.evaluate("Object.values(sessionStorage)") == [keyed["viewer"]]
        assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
        assert keyed["viewer"] not in page.url
        page.locator("#sign-out").click()
        page.wait_for_selector("#key-dialog[open]")
        assert page.evaluate("sessionStorage.length") == 0


def test_a_member_can_act_and_a_reload_keeps_the_key(
    browser: Any, auth_server: RunningServer, keyed: dict[str, str]
) -> None:
    with page_of(browser) as page:
        page.goto(f"{auth_server.api}/workspaces/{keyed['workspace']}?refresh=600")
        _enter_key(page, keyed["member"])
        page.wait_for_selector("body[data-usable='true']", timeout=20_000)
        assert page.locator("#role").text_content() == "role: member"
        page.locator("#error-rows button.row-button").first.click()
        page.locator("#details button[data-action='resolved']").wait_for()
        page.locator("#details button[data-action='acknowledged']").click()
        page.locator("#details .badges .status-acknowledged").wait_for()
        page.reload()
        page.wait_for_selector("body[data-usable='true']", timeout=20_000)
        assert not page.locator("#key-dialog").is_visible()  # asked once per tab
        assert page.locator("#error-rows .badge.status-acknowledged").count() == 1


def test_home_with_authentication_on_lists_no_workspace(auth_server: RunningServer, keyed: dict[str, str]) -> None:
    home = httpx.get(f"{auth_server.api}/", timeout=10)
    assert home.status_code == 200
    assert keyed["workspace"] not in home.text and "workspace-list" not in home.text
    assert 'name="workspace"' in home.text
