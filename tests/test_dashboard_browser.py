"""The dashboard in a real headless Chromium against the real server, with data sent over OTLP/HTTP: the cards
say what the API says, an error is selected and resolved, the timeline's spike narrows the list, filters work,
hostile telemetry shows as text, the keyboard and a phone work, and new errors appear without a reload."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from conftest import RunningServer
from dashboard_helpers import (
    HOUR,
    api_get,
    browser,
    execution,
    open_dashboard,
    page_of,
    send,
    wait_for,
    wait_for_occurrences,
)

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the fixture, imported for pytest

XSS_MESSAGE = "<script>window.__xss='message'</script> and <img src=x onerror=\"window.__xss='img'\">"
XSS_SPAN = "\"><img src=x onerror=window.__xss='span'>"
XSS_USER = "\"><img src=x onerror=window.__xss='user'>"
XSS_ATTRIBUTE = "<script>window.__xss='attribute'</script>"
STACK = """Traceback (most recent call last):
  File "/srv/agent/app/handlers.py", line 12, in handle
    return client.fetch(order)
  File "/usr/lib/python3.11/site-packages/httpx/_client.py", line 900, in fetch
    return self.send(request)
  File "/usr/lib/python3.11/site-packages/httpx/_transports.py", line 80, in send
    return retry(request)
  File "/srv/agent/app/retry.py", line 30, in retry
    raise ResolveMeError("order 17 failed")
ResolveMeError: order 17 failed
"""


@dataclass(frozen=True)
class Seeded:
    workspace: str
    ids: dict[str, str]  # error type -> errorId


def _away_from_the_hour() -> None:
    """The spike is the current hour's bucket; a test seeded in the hour's first seconds would split it."""
    while time.time() % 3600 < 20 or time.time() % 3600 > 3580:
        time.sleep(1)


@pytest.fixture(scope="module")
def seeded(server: RunningServer) -> Seeded:
    _away_from_the_hour()
    workspace = f"dash{uuid.uuid4().hex[:12]}"
    now = time.time_ns() - 30 * 1_000_000_000
    old = now - 3 * HOUR
    send(
        server,
        # Three hours ago, a little: the baseline, no spike.
        execution(workspace, old, type="OldError", message="stale cache entry", errors=2, user="u-old"),
        # Now, a burst: the spike.
        execution(workspace, now, type="SpikeError", message="upstream 503", errors=3, user="u-1", severity="critical"),
        execution(workspace, now, type="SpikeError", message="upstream 503", errors=3, user="u-2", severity="critical"),
        execution(workspace, now, type="ResolveMeError", message="order 17 failed", errors=2, stacktrace=STACK),
        execution(
            workspace,
            now,
            type="XssError",
            message=XSS_MESSAGE,
            user=XSS_USER,
            span_name=XSS_SPAN,
            attributes={"note": XSS_ATTRIBUTE},
        ),
    )
    items = wait_for_occurrences(server, workspace, 11)
    return Seeded(workspace, {i["type"]: i["errorId"] for i in items})


def _row(page: Any, error_id: str) -> Any:
    return page.locator(f"#error-rows tr[data-id='{error_id}']")


def _listed_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all("#error-rows tr[data-id]", "rows => rows.map(r => r.dataset.id)")
    return ids


def test_cards_show_the_api_figures_and_the_list_its_errors(
    browser: Any, server: RunningServer, seeded: Seeded
) -> None:
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace)
        overview = api_get(server, seeded.workspace, "/error-tracking", timeframe="24h", severity="all")["overview"]
        shown = page.eval_on_selector_all(
            "#cards li.card",
            """cards => cards.map(c => [c.dataset.field, c.querySelector('.value').dataset.value,
                                        c.querySelector('.value').textContent])""",
        )
        assert [field for field, _, _ in shown] == [
            "totalErrors", "uniqueErrors", "affectedUsers", "affectedAgents", "errorRate", "criticalErrorRate",
            "userImpact", "systemImpact", "estimatedRevenueLoss", "avgRecoveryTime", "autoRecoveryRate",
            "manualInterventions",
        ]  # fmt: skip
        for field, raw, text in shown:
            expected = overview[field]
            if isinstance(expected, str):
                assert raw == expected and text == expected, field
            elif expected is None:  # no recovery seen in the seed: a null figure reads "no data", never 0
                assert raw == "null" and text == "no data", field
            else:
                assert float(raw) == pytest.approx(expected), field
        texts = {field: text for field, _, text in shown}
        assert overview["totalErrors"] == 11 and texts["totalErrors"] == "11"
        assert texts["uniqueErrors"] == str(overview["uniqueErrors"]) == "4"
        assert texts["errorRate"] == f"{overview['errorRate']:g}%"
        change = page.locator("#cards [data-field='errorRateChange']")
        assert float(change.get_attribute("data-value") or "nan") == pytest.approx(overview["errorRateChange"])

        listed = api_get(server, seeded.workspace, "/errors", limit=25)["items"]
        assert _listed_ids(page) == [e["errorId"] for e in listed]
        row = _row(page, seeded.ids["SpikeError"])
        assert row.locator(".badge.sev-critical").text_content() == "critical"
        assert row.locator(".badge.status-new").text_content() == "new"
        assert row.locator("td.num").first.text_content() == "6"
        assert "ago" in (row.locator("time").text_content() or "")


def test_select_an_error_and_resolve_it_with_a_text(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    error_id = seeded.ids["ResolveMeError"]
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace)
        assert page.locator("#correlations").is_visible()  # correlations when nothing is selected
        _row(page, error_id).locator("button.row-button").click()
        panel = page.locator("#details")
        page.wait_for_selector("#details-title")
        assert not page.locator("#correlations").is_visible()
        assert panel.locator(".type").text_content() == "ResolveMeError"
        assert panel.locator("[data-field='message']").text_content() == "order 17 failed"
        assert panel.locator("[data-field='occurrences']").text_content() == "2"
        # In-app frames highlighted, the run of two library frames folded into one disclosure.
        in_app = panel.locator(".frames > li.frame.in-app .function").all_text_contents()
        assert in_app == ["retry", "handle"]
        assert panel.locator(".library-run summary").text_content() == "2 library frames"
        assert not panel.locator(".library-run .frame").first.is_visible()

        panel.locator("button[data-action='resolved']").click()
        panel.locator("#resolution").fill("half-typed")
        page.keyboard.press("Escape")  # cancels the form, keeps the panel
        assert panel.is_visible() and panel.locator("#resolution").count() == 0
        panel.locator("button[data-action='resolved']").click()
        panel.locator("#resolution").fill("Retried with backoff; upstream fixed")
        assert panel.locator("#resolved-by").input_value() == ""  # no identity with authentication off
        panel.locator("#resolved-by").fill("Ada")
        panel.locator("button.resolve[type='submit']").click()
        panel.locator(".badges .status-resolved").wait_for()
        assert panel.locator("[data-field='resolution']").text_content() == "Retried with backoff; upstream fixed"
        assert _row(page, error_id).locator(".badge.status-resolved").text_content() == "resolved"
        assert panel.locator("button[data-action='new']").text_content() == "Reopen"

        stored = api_get(server, seeded.workspace, f"/errors/{error_id}")
        assert stored["status"] == "resolved"
        assert stored["resolution"]["resolution"] == "Retried with backoff; upstream fixed"
        assert stored["resolution"]["resolvedBy"] == "Ada"

        # The other actions: reopen, then acknowledge and investigate, each shown at once.
        panel.locator("button[data-action='new']").click()
        panel.locator(".badges .status-new").wait_for()
        panel.locator("button[data-action='acknowledged']").click()
        panel.locator(".badges .status-acknowledged").wait_for()
        panel.locator("button[data-action='investigating']").click()
        panel.locator(".badges .status-investigating").wait_for()
        assert api_get(server, seeded.workspace, f"/errors/{error_id}")["status"] == "investigating"


def test_the_spike_narrows_the_list_to_its_window(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    spikes = api_get(server, seeded.workspace, "/error-tracking", timeframe="24h")["timeline"]["spikes"]
    assert len(spikes) == 1 and spikes[0]["totalErrors"] == 9
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace)
        everything = set(_listed_ids(page))
        assert seeded.ids["OldError"] in everything and len(everything) == 4
        band = page.locator("svg.chart g.spike")
        assert band.count() == 1 and band.get_attribute("data-start") == spikes[0]["startTime"]
        spike_text = page.locator("#spikes button").text_content() or ""
        assert "9 errors" in spike_text and "mostly SpikeError" in spike_text, spike_text
        band.click()
        wait_for(lambda: seeded.ids["OldError"] not in _listed_ids(page), what="the list narrowed to the spike")
        assert set(_listed_ids(page)) == everything - {seeded.ids["OldError"]}
        assert page.locator("#window").is_visible()
        assert page.locator("svg.chart g.spike.active").count() == 1
        page.locator("#window-clear").click()
        wait_for(lambda: set(_listed_ids(page)) == everything, what="the whole timeframe again")
        assert not page.locator("#window").is_visible()
        # The spike's button in the list under the chart does the same, from the keyboard too.
        page.locator("#spikes button").focus()
        page.keyboard.press("Enter")
        wait_for(lambda: seeded.ids["OldError"] not in _listed_ids(page), what="the spike again, by keyboard")


def test_filters_narrow_the_cards_and_the_list(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace)
        page.select_option("#severity", "critical")
        critical = api_get(server, seeded.workspace, "/error-tracking", timeframe="24h", severity="critical")
        wait_for(
            lambda: (
                page.locator("#cards [data-field='totalErrors'] .value").get_attribute("data-value")
                == str(critical["overview"]["totalErrors"])
            ),
            what="the critical cards",
        )
        assert critical["overview"]["totalErrors"] == 6
        wait_for(lambda: _listed_ids(page) == [seeded.ids["SpikeError"]], what="only the critical error listed")
        assert "severity=critical" in page.url
        page.select_option("#severity", "all")
        wait_for(lambda: len(_listed_ids(page)) == 4, what="every error again")
        page.locator("#q").fill("stale cache")
        wait_for(lambda: _listed_ids(page) == [seeded.ids["OldError"]], what="the search result")
        page.locator("#q").fill("")
        page.select_option("#sort", "occurrences")
        wait_for(lambda: _listed_ids(page)[:1] == [seeded.ids["SpikeError"]], what="busiest first")
        assert page.locator("th[data-sort='occurrences']").get_attribute("aria-sort") == "descending"
        page.select_option("#timeframe", "1h")
        wait_for(lambda: seeded.ids["OldError"] not in _listed_ids(page), what="the last hour only")
        hour = api_get(server, seeded.workspace, "/error-tracking", timeframe="1h")["overview"]["totalErrors"]
        wait_for(
            lambda: page.locator("#cards [data-field='totalErrors'] .value").get_attribute("data-value") == str(hour),
            what="the last hour's cards",
        )


def test_hostile_telemetry_shows_as_text(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    error_id = seeded.ids["XssError"]
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace)
        assert _row(page, error_id).locator(".message").text_content() == XSS_MESSAGE
        _row(page, error_id).locator("button.row-button").click()
        panel = page.locator("#details")
        page.wait_for_selector("#details .occurrences li", state="attached")
        page.eval_on_selector_all("#details details", "all => all.forEach(d => { d.open = true; })")
        assert panel.locator("[data-field='message']").text_content() == XSS_MESSAGE
        assert panel.locator(".span-name").first.text_content() == XSS_SPAN
        assert XSS_USER in panel.locator(".chip").all_text_contents()
        assert XSS_ATTRIBUTE in (panel.locator(".occurrences pre.json").first.text_content() or "")
        page.locator("#details .close").click()
        assert XSS_USER in (page.locator("#correlations").text_content() or "")
        assert page.evaluate("window.__xss") is None
        assert page.locator("img").count() == 0  # the dashboard has no images: any <img> came from data
        assert page.locator("script:not([src])").count() == 0


def test_keyboard_moves_through_the_list_and_the_panel(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace)
        ids = _listed_ids(page)
        first = page.locator("#error-rows button.row-button").first
        first.focus()
        page.keyboard.press("ArrowDown")
        focused = page.evaluate("document.activeElement.closest('tr').dataset.id")
        assert focused == ids[1]
        page.keyboard.press("End")
        assert page.evaluate("document.activeElement.closest('tr').dataset.id") == ids[-1]
        page.keyboard.press("Home")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_selector("#details-title")
        assert page.evaluate("document.activeElement.id") == "details-title"
        assert _row(page, ids[1]).get_attribute("aria-selected") == "true"
        assert f"error={ids[1]}" in page.url
        page.keyboard.press("Escape")
        assert not page.locator("#details").is_visible()
        assert page.evaluate("document.activeElement.closest('tr').dataset.id") == ids[1]
        # Screen-reader names: the chart, the sort buttons, the list.
        assert page.locator("svg.chart").get_attribute("aria-label")
        assert page.locator("#error-table").get_attribute("aria-labelledby") == "errors-title"


def test_phone_width_is_one_readable_column(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    with page_of(browser, width=390, height=844) as page:
        open_dashboard(page, server, seeded.workspace)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        cards = page.locator("#cards li.card")
        assert cards.first.bounding_box()["width"] < 200  # two cards a row
        list_box = page.locator("section.errors").bounding_box()
        side_box = page.locator("aside.side").bounding_box()
        assert side_box["y"] >= list_box["y"] + list_box["height"]  # one column: the panel under the list
        page.locator("#error-rows button.row-button").first.click()
        page.wait_for_selector("#details-title")
        assert page.locator("#details").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_new_errors_appear_without_a_reload(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace, "refresh=2")
        before = page.locator("#cards [data-field='totalErrors'] .value").get_attribute("data-value")
        page.evaluate("window.__sameDocument = true")
        send(server, execution(seeded.workspace, time.time_ns() - 5_000_000_000, type="LiveError", message="fresh"))
        page.wait_for_selector("#error-rows tr.fresh", timeout=30_000)
        fresh = page.locator("#error-rows tr.fresh")
        assert fresh.locator("button.row-button").text_content() == "LiveError"
        wait_for(
            lambda: (
                page.locator("#cards [data-field='totalErrors'] .value").get_attribute("data-value")
                == str(int(before or "0") + 1)
            ),
            what="the cards updated",
        )
        page.wait_for_timeout(2500)  # a later refresh keeps the mark until the filters change
        assert page.locator("#error-rows tr.fresh").count() == 1
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        assert "live" in (page.locator("#live").text_content() or "")


def test_the_stream_brings_new_errors_and_alerts_without_waiting_for_the_timer(
    browser: Any, server: RunningServer
) -> None:
    workspace = f"live{uuid.uuid4().hex[:12]}"
    send(server, execution(workspace, time.time_ns() - 60_000_000_000, type="FirstError", message="first"))
    with page_of(browser) as page:
        open_dashboard(page, server, workspace, "refresh=600")  # the timer will not fire during the test
        page.wait_for_selector("#alerts [data-part='alerts'] li")
        wait_for(lambda: "streaming" in (page.locator("#live").text_content() or ""), what="the stream is open")
        page.evaluate("window.__sameDocument = true")
        send(server, execution(workspace, time.time_ns() - 5_000_000_000, type="StreamedError", message="pushed"))
        page.wait_for_selector("#error-rows tr.fresh", timeout=15_000)
        wait_for(
            lambda: "StreamedError" in (page.locator("#alerts [data-part='alerts']").text_content() or ""),
            what="the new alert is listed",
        )
        assert page.evaluate("window.__sameDocument") is True


def test_alerts_and_incidents_say_when_the_server_has_none(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    base = f"{server.api}/api/v1/workspaces/{seeded.workspace}"
    alerts = httpx.get(f"{base}/alerts", params={"status": "firing"}, timeout=10)
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace)
        page.wait_for_selector("#alerts [data-part='alerts'] p, #alerts [data-part='alerts'] ul")
        text = page.locator("#alerts [data-part='alerts']").text_content() or ""
        if alerts.status_code == 404:
            assert "Alerts are not available" in text
        else:
            assert alerts.status_code == 200 and "not available" not in text


def test_null_figures_read_no_data(browser: Any, server: RunningServer, seeded: Seeded) -> None:
    """Every figure the cards show can be null: each one given as null reads "no data"."""
    with page_of(browser) as page:
        open_dashboard(page, server, seeded.workspace)
        overview = api_get(server, seeded.workspace, "/error-tracking")["overview"]
        shown = page.evaluate(
            """async (overview) => {
                const { renderOverview } = await import(document.body.dataset.static + '/js/cards.js');
                const list = document.createElement('ul');
                renderOverview(list, { ...overview, avgRecoveryTime: null, autoRecoveryRate: null,
                                       errorRateChange: null, estimatedRevenueLoss: undefined });
                return Object.fromEntries([...list.querySelectorAll('[data-field]')].map(
                    e => [e.dataset.field, (e.querySelector('.value') ?? e).textContent]));
            }""",
            overview,
        )
        assert shown["avgRecoveryTime"] == "no data" and shown["autoRecoveryRate"] == "no data"
        assert shown["estimatedRevenueLoss"] == "no data" and "no data" in shown["errorRateChange"]
        assert shown["totalErrors"] == f"{overview['totalErrors']:,}"
        zero = page.evaluate(
            "import(document.body.dataset.static + '/js/format.js')"
            ".then(f => [f.count(0), f.percent(0), f.count(null)])"
        )
        assert zero == ["0", "0%", "no data"]
