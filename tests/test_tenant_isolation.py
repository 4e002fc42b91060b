"""No data crosses workspaces: the same bug sent to two workspaces by one process, each response checked for the
other's paths and messages; an `error.fingerprint` attribute copied from another workspace reaches nothing of it.

Found: the processor's grouping-details memo was keyed by fingerprint only, so the second workspace to hit a
library bug got the first one's frames, absolute paths and explanation in its error details.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from conftest import RunningServer
from hypothesis import given, settings
from hypothesis import strategies as st
from otlp_builders import NOW, new_id, span, traces

from otel_errors import Processor

# One library bug (the frames' functions and modules are the same), seen from two deployments whose paths differ.
_TRACE = """Traceback (most recent call last):
  File "{root}/app/agent.py", line 12, in run
    fetch(url)
  File "{root}/site-packages/httpx/_client.py", line 88, in fetch
    raise ConnectTimeout(message)
httpx.ConnectTimeout: {message}
"""


def _request(workspace: str, root: str, message: str, user: str, extra: dict[str, Any] | None = None) -> Any:
    attrs = {"user.id": user, "code.filepath": f"{root}/app/agent.py"}
    exc = {
        "exception.type": "httpx.ConnectTimeout",
        "exception.message": message,
        "exception.stacktrace": _TRACE.format(root=root, message=message),
        **(extra or {}),
    }
    return traces(
        span("fetch", trace_id=new_id(16), parent=new_id(8), error=True, attrs=attrs, exceptions=[exc]),
        resource={"workspace.id": workspace, "service.name": f"svc-{workspace}"},
    )


def _texts(batch: Any) -> str:
    return repr((batch.events, batch.error_spans, batch.executions))


_ROOT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=6, max_size=12).map(lambda s: f"/home/{s}")


@settings(max_examples=30, deadline=None)
@given(
    roots=st.tuples(_ROOT, _ROOT).filter(lambda r: r[0] not in r[1] and r[1] not in r[0]),
    order=st.permutations([0, 1, 0, 1]),
)
def test_one_processor_never_hands_a_workspace_another_ones_paths_or_messages(
    roots: tuple[str, str], order: list[int]
) -> None:
    """Interleaved exports of the same bug from two workspaces, through one processor (its memos shared): each
    batch holds only its own workspace's paths, messages and users."""
    processor = Processor()
    workspaces = ("tenant-a", "tenant-b")
    marks = [(roots[i], f"timed out for {workspaces[i]}-secret", f"user-of-{workspaces[i]}") for i in range(2)]
    for i in order:
        batch = processor.process_traces(_request(workspaces[i], *marks[i]), None, NOW)
        processor.committed(batch)
        text = _texts(batch)
        assert marks[i][0] in text  # its own path is there (details show frames)
        other = marks[1 - i]
        for leaked in other:
            assert leaked not in text, (workspaces[i], leaked)


def test_a_fingerprint_copied_from_another_workspace_reaches_nothing_of_it() -> None:
    processor = Processor()
    first = processor.process_traces(_request("tenant-a", "/home/alice", "alice secret", "alice"), None, NOW)
    processor.committed(first)
    fingerprint = first.events[0].fingerprint
    copied = processor.process_traces(
        _request("tenant-b", "/srv/bob", "bob's own", "bob", {"error.fingerprint": fingerprint}), None, NOW
    )
    assert copied.events[0].fingerprint == fingerprint
    assert "alice" not in _texts(copied)


def _get(server: RunningServer, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.api}{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _everything(server: RunningServer, workspace: str) -> str:
    """Every response of the workspace's read endpoints, as one text."""
    base = f"/api/v1/workspaces/{workspace}"
    seen = [_get(server, f"{base}/errors")]
    for item in seen[0]["items"]:
        seen.append(_get(server, f"{base}/errors/{item['errorId']}"))
        seen.append(_get(server, f"{base}/errors/{item['errorId']}/occurrences"))
    for timeframe in ("1h", "24h"):
        seen.append(_get(server, f"{base}/error-tracking", timeframe=timeframe))
    return json.dumps(seen)


def test_the_same_bug_in_two_workspaces_shows_each_only_its_own_data(server: RunningServer, workspace: str) -> None:
    a, b = f"{workspace}-a", f"{workspace}-b"
    sent = {
        a: ("/home/alice-deploy", "connect to alice-internal.example timed out", "alice-user"),
        b: ("/opt/bob-deploy", "connect to bob-internal.example timed out", "bob-user"),
    }
    # One process (the server), interleaved, and the second workspace also copies the first one's fingerprint.
    for ws in (a, b, a, b):
        response = httpx.post(
            f"{server.otlp_http}/v1/traces",
            content=_request(ws, *sent[ws]).SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        counts = [
            sum(i["occurrences"] for i in _get(server, f"/api/v1/workspaces/{ws}/errors")["items"]) for ws in sent
        ]
        if counts == [2, 2]:
            break
        time.sleep(0.2)
    assert counts == [2, 2]
    for ws, other in ((a, b), (b, a)):
        text = _everything(server, ws)
        assert sent[ws][0] in text and sent[ws][1] in text
        for leaked in sent[other]:
            assert leaked not in text, (ws, leaked)
