"""The processor: extraction from span events, log records and ERROR spans; identity; propagation; executions."""

from __future__ import annotations

import json

import pytest
from otlp_builders import NOW, PY_TRACE, logs, new_id, span, traces

from otel_errors import Processor, ProcessorConfig, Severity
from otel_errors._candidates import ORIGIN_LOG_RECORD, ORIGIN_SPAN_EVENT, ORIGIN_SPAN_STATUS


def process(request, **kwargs):  # type: ignore[no-untyped-def]
    return Processor(**kwargs).process_traces(request, received_ns=NOW)


def test_span_event_named_exception_becomes_an_occurrence() -> None:
    tid = new_id(16)
    batch = process(
        traces(
            span(
                trace_id=tid,
                parent=new_id(8),
                error=True,
                exceptions=[
                    {
                        "exception.type": "ValueError",
                        "exception.message": "bad query 123",
                        "exception.stacktrace": PY_TRACE,
                    }
                ],
            )
        )
    )
    assert len(batch.events) == 1
    event = batch.events[0]
    assert (event.type, event.message, event.origin) == ("ValueError", "bad query 123", ORIGIN_SPAN_EVENT)
    assert len(event.fingerprint) == 32 and event.fingerprint_config
    assert event.trace_id == tid and "search" in event.culprit
    assert event.workspace_id == "default" and event.agent_id == "agent-svc"  # service.name fallback
    assert not event.handled and event.severity == Severity.MEDIUM


def test_newer_dotted_exception_event_names_are_exceptions_too() -> None:
    batch = process(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                exceptions=[
                    {
                        "_name": "gen_ai.client.operation.exception",
                        "exception.type": "RateLimitError",
                        "exception.message": "429",
                    },
                    {"_name": "not-an-exception", "exception.type": "Nope"},
                ],
            )
        )
    )
    assert [e.type for e in batch.events] == ["RateLimitError"]


def test_handled_exception_on_ok_span_is_low_severity() -> None:
    batch = process(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                exceptions=[{"exception.type": "KeyError", "exception.message": "'k'", "exception.escaped": False}],
            )
        )
    )
    assert batch.events[0].handled and batch.events[0].severity == Severity.LOW


def test_exception_escaping_the_execution_root_is_high_and_fails_the_execution() -> None:
    tid = new_id(16)
    batch = process(
        traces(
            span(
                "invoke_agent planner",
                trace_id=tid,
                error=True,
                attrs={"gen_ai.agent.id": "planner", "user.id": "u-1", "credits.used": 3.5},
                exceptions=[{"exception.type": "TimeoutError", "exception.message": "llm timed out"}],
            )
        )
    )
    assert batch.events[0].severity == Severity.HIGH
    assert batch.events[0].agent_id == "planner" and batch.events[0].user_id == "u-1"
    (execution,) = batch.executions
    assert execution.failed and execution.agent_id == "planner" and execution.credits == 3.5


def test_status_only_error_span_uses_error_type_else_status_message() -> None:
    batch = process(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                error=True,
                status_message="upstream said no",
                attrs={"error.type": "UpstreamRefused", "http.response.status_code": 503},
            ),
            span(trace_id=new_id(16), parent=new_id(8), error=True, status_message="connection reset by peer"),
        )
    )
    by_type = {e.type: e for e in batch.events}
    assert set(by_type) == {"UpstreamRefused", "connection reset by peer"}
    refused = by_type["UpstreamRefused"]
    assert refused.origin == ORIGIN_SPAN_STATUS and refused.message == "upstream said no"
    assert refused.category == 1  # api: 5xx
    assert by_type["connection reset by peer"].message == "connection reset by peer"


def test_status_message_in_sdk_format_splits_into_type_and_message() -> None:
    batch = process(
        traces(span(trace_id=new_id(16), parent=new_id(8), error=True, status_message="ValueError: bad input 42"))
    )
    assert (batch.events[0].type, batch.events[0].message) == ("ValueError", "bad input 42")


def test_ok_spans_without_events_produce_nothing_but_roots_count_as_executions() -> None:
    tid = new_id(16)
    root = span("agent run", trace_id=tid)
    child = span("tool", trace_id=tid, parent=root.span_id)
    batch = process(traces(root, child))
    assert len(batch.events) == 0 and len(batch.error_spans) == 0
    assert len(batch.executions) == 1 and not batch.executions[0].failed


def test_root_wrapping_agent_invocations_is_not_a_second_execution() -> None:
    tid = new_id(16)
    root = span("POST /chat", trace_id=tid)
    agent = span("invoke_agent writer", trace_id=tid, parent=root.span_id, attrs={"gen_ai.agent.id": "writer"})
    batch = process(traces(root, agent))
    assert [x.agent_id for x in batch.executions] == ["writer"]


def test_identity_precedence_span_then_resource() -> None:
    resource = {
        "service.name": "svc",
        "service.version": "1.2.3",
        "deployment.environment": "staging",
        "user.id": "resource-user",
        "gen_ai.agent.id": "resource-agent",
        "workspace.id": "acme",
    }
    batch = process(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                attrs={"enduser.id": "span-user", "deployment.environment.name": "prod"},
                exceptions=[{"exception.type": "E", "exception.message": "m"}],
            ),
            resource=resource,
        )
    )
    e = batch.events[0]
    assert e.workspace_id == "acme"
    assert e.user_id == "span-user"  # span attributes win over resource
    assert e.agent_id == "resource-agent"  # gen_ai.agent.id from the resource beats service.name
    assert e.environment == "prod" and e.version == "1.2.3" and e.service_name == "svc"


def test_invalid_workspace_id_is_rejected_and_counted() -> None:
    batch = process(
        traces(
            span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E", "exception.message": "m"}]),
            resource={"workspace.id": "bad workspace/../x"},
        )
    )
    assert len(batch.events) == 0 and batch.rejected == 1 and "workspace" in batch.rejected_reason


def test_authenticated_workspace_overrides_the_resource_attribute() -> None:
    batch = Processor().process_traces(
        traces(
            span(trace_id=new_id(16), parent=new_id(8), exceptions=[{"exception.type": "E"}]),
            resource={"workspace.id": "other"},
        ),
        "tokens-ws",
        NOW,
    )
    assert batch.events[0].workspace_id == "tokens-ws"


def test_missing_and_malformed_attributes_do_not_crash() -> None:
    batch = process(
        traces(
            span(
                trace_id=b"",
                span_id=b"",
                parent=new_id(8),
                attrs={"user.id": 12345, "credits.used": "not a number", "http.response.status_code": "abc"},
                exceptions=[{"exception.type": 7, "exception.message": True}, {}],
            )
        )
    )
    assert len(batch.events) == 2
    assert batch.events[0].user_id == "12345" and batch.events[0].credits == 0.0
    assert all(len(e.fingerprint) == 32 for e in batch.events)


def test_oversized_values_are_truncated_with_a_marker() -> None:
    cfg = ProcessorConfig(max_message_length=100, max_stacktrace_length=200)
    batch = Processor(cfg).process_traces(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                exceptions=[
                    {"exception.type": "E", "exception.message": "x" * 10_000, "exception.stacktrace": "y\n" * 10_000}
                ],
            )
        ),
        None,
        NOW,
    )
    e = batch.events[0]
    assert len(e.message) == 100 and e.message.endswith("[truncated]")
    assert len(e.stacktrace) == 200 and e.stacktrace.endswith("[truncated]")


def test_an_event_time_outside_the_window_falls_back_on_the_span_times() -> None:
    """Zero, too old or years ahead: the record's own time gives way to its span's end, never to the receive time
    (which would differ on every retry of the export)."""
    end = NOW - 1_000_000_000
    batch = process(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                end=end,
                exceptions=[
                    {"exception.type": "E", "_time": 1},
                    {"exception.type": "F", "_time": NOW + 10 * 365 * 86400 * 10**9},
                    {"exception.type": "G", "_time": 0},
                ],
            )
        )
    )
    assert [e.time_unix_nano for e in batch.events] == [end, end, end]
    assert batch.rejected == 0


def test_a_record_with_no_time_inside_the_window_is_refused_with_a_reason() -> None:
    old = NOW - 400 * 86400 * 10**9
    batch = process(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                start=old,
                end=old + 1000,
                exceptions=[{"exception.type": "E", "_time": 0}],
            )
        )
    )
    assert batch.events == [] and batch.rejected == 1
    assert "outside the accepted window" in batch.rejected_reason


def test_occurrence_ids_are_deterministic_so_retries_are_idempotent() -> None:
    request = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            exceptions=[
                {"exception.type": "E", "exception.message": "m"},
                {"exception.type": "E", "exception.message": "m"},
            ],
        )
    )
    first = Processor().process_traces(request, None, NOW)
    again = Processor().process_traces(request, None, NOW + 5_000_000_000)
    assert [e.occurrence_id for e in first.events] == [e.occurrence_id for e in again.events]
    assert first.events[0].occurrence_id != first.events[1].occurrence_id


def test_propagation_across_nested_spans_counts_once_at_the_innermost() -> None:
    tid = new_id(16)
    exc = {"exception.type": "ValueError", "exception.message": "bad query 123", "exception.stacktrace": PY_TRACE}
    root = span("invoke_agent a", trace_id=tid, error=True, start=NOW - 9_000_000_000, exceptions=[dict(exc)])
    mid = span("step", trace_id=tid, parent=root.span_id, error=True, start=NOW - 8_000_000_000, exceptions=[dict(exc)])
    inner = span(
        "tool", trace_id=tid, parent=mid.span_id, error=True, start=NOW - 7_000_000_000, exceptions=[dict(exc)]
    )
    batch = process(traces(root, mid, inner))
    assert len(batch.events) == 1
    assert batch.events[0].span_id == inner.span_id
    assert batch.events[0].severity == Severity.HIGH  # it escaped the execution
    propagated = {s.span_id: s.propagated for s in batch.error_spans}
    assert propagated == {root.span_id: True, mid.span_id: True, inner.span_id: False}


def test_propagation_is_remembered_across_exports_of_one_trace() -> None:
    tid = new_id(16)
    exc = {"exception.type": "ValueError", "exception.message": "boom"}
    outer = span("step", trace_id=tid, parent=new_id(8), error=True, start=NOW - 8_000_000_000)
    inner = span(
        "tool", trace_id=tid, parent=outer.span_id, error=True, start=NOW - 7_000_000_000, exceptions=[dict(exc)]
    )
    outer.events.add().CopyFrom(inner.events[0])
    processor = Processor()
    first = processor.process_traces(traces(inner), None, NOW)
    processor.committed(first)
    second = processor.process_traces(traces(outer), None, NOW)
    assert len(first.events) == 1 and len(second.events) == 0


def test_same_exception_in_sibling_retries_counts_each_time() -> None:
    tid = new_id(16)
    parent = new_id(8)
    exc = {"exception.type": "RateLimitError", "exception.message": "slow down"}
    attempts = [span(f"attempt {i}", trace_id=tid, parent=parent, error=True, exceptions=[dict(exc)]) for i in range(3)]
    assert len(process(traces(*attempts)).events) == 3


def test_error_status_parent_of_a_recorded_exception_is_propagation() -> None:
    tid = new_id(16)
    parent = span(
        "step", trace_id=tid, parent=new_id(8), error=True, status_message="ValueError: boom", start=NOW - 8_000_000_000
    )
    child = span(
        "tool",
        trace_id=tid,
        parent=parent.span_id,
        error=True,
        start=NOW - 7_000_000_000,
        exceptions=[{"exception.type": "ValueError", "exception.message": "boom"}],
    )
    batch = process(traces(parent, child))
    assert [e.origin for e in batch.events] == [ORIGIN_SPAN_EVENT]


def test_log_record_with_exception_attributes() -> None:
    request = logs(
        {
            "exception.type": "json.decoder.JSONDecodeError",
            "exception.message": "Expecting value",
            "exception.stacktrace": PY_TRACE,
            "user.id": "u-9",
            "_severity": 17,
        },
        {"_body": "just a log line", "_severity": 17},
        {"exception.message": "fatal thing", "_severity": 21, "_body": "ignored body"},
    )
    batch = Processor().process_logs(request, None, NOW)
    assert [e.origin for e in batch.events] == [ORIGIN_LOG_RECORD, ORIGIN_LOG_RECORD]
    first, fatal = batch.events
    assert first.type == "json.decoder.JSONDecodeError" and first.user_id == "u-9"
    assert first.severity == Severity.MEDIUM
    assert fatal.severity == Severity.CRITICAL and fatal.message == "fatal thing"


def test_log_message_falls_back_to_the_body() -> None:
    batch = Processor().process_logs(logs({"exception.type": "KeyError", "_body": "lookup failed"}), None, NOW)
    assert batch.events[0].message == "lookup failed"


def test_log_of_an_exception_also_recorded_on_its_span_counts_once() -> None:
    tid, sid = new_id(16), new_id(8)
    processor = Processor()
    exc = {"exception.type": "ValueError", "exception.message": "boom"}
    spans = processor.process_traces(
        traces(span(trace_id=tid, span_id=sid, parent=new_id(8), error=True, exceptions=[dict(exc)])), None, NOW
    )
    processor.committed(spans)
    logged = processor.process_logs(logs({**exc, "_trace_id": tid, "_span_id": sid}), None, NOW)
    assert len(spans.events) == 1 and len(logged.events) == 0


def test_pii_is_scrubbed_before_fingerprinting() -> None:
    def batch_for(email: str):  # type: ignore[no-untyped-def]
        return process(
            traces(
                span(
                    trace_id=new_id(16),
                    parent=new_id(8),
                    exceptions=[{"exception.type": "LookupError", "exception.message": f"no account for {email}"}],
                )
            )
        )

    a, b = batch_for("alice@example.com").events[0], batch_for("bob@example.org").events[0]
    assert "@" not in a.message and a.fingerprint == b.fingerprint


@pytest.mark.parametrize(
    "attrs,category",
    [
        ({"http.response.status_code": 401}, 4),
        ({"http.response.status_code": 504}, 2),
        ({"http.response.status_code": 422}, 3),
        ({"http.response.status_code": 500}, 1),
        ({"rpc.grpc.status_code": 4}, 2),
        ({"error.category": "auth"}, 4),
    ],
)
def test_category_rules_and_override(attrs: dict[str, object], category: int) -> None:
    batch = process(
        traces(
            span(trace_id=new_id(16), parent=new_id(8), attrs=attrs, exceptions=[{"exception.type": "SomethingFailed"}])
        )
    )
    assert batch.events[0].category == category


@pytest.mark.parametrize(
    "attrs,source",
    [
        ({"gen_ai.system": "openai"}, 1),
        ({"db.system": "postgresql"}, 3),
        ({"http.request.method": "GET"}, 2),
        ({"messaging.system": "kafka"}, 4),
        ({}, 5),
        ({"error.source": "database"}, 3),
    ],
)
def test_source_rules(attrs: dict[str, object], source: int) -> None:
    batch = process(
        traces(span(trace_id=new_id(16), parent=new_id(8), attrs=attrs, exceptions=[{"exception.type": "E"}]))
    )
    assert batch.events[0].source == source


def test_severity_attribute_overrides_rules() -> None:
    batch = process(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                attrs={"error.severity": "critical"},
                exceptions=[{"exception.type": "E"}],
            )
        )
    )
    assert batch.events[0].severity == Severity.CRITICAL


def test_config_validates() -> None:
    with pytest.raises(ValueError):
        ProcessorConfig(default_workspace="has space")
    with pytest.raises(ValueError):
        ProcessorConfig(max_message_length=0)


def test_scrubbed_placeholders_group_with_the_raw_values() -> None:
    from otel_errors import WorkspaceRules
    from otel_errors.scrub import ScrubConfig

    def fingerprint(scrub_ips: bool) -> str:
        rules = WorkspaceRules(scrub=ScrubConfig(scrub_ips=scrub_ips))
        batch = Processor(rules_for=lambda _ws: rules).process_traces(
            traces(
                span(
                    trace_id=new_id(16),
                    parent=new_id(8),
                    exceptions=[{"exception.type": "ConnectionError", "exception.message": "no route to 10.1.2.3"}],
                )
            ),
            None,
            NOW,
        )
        return str(batch.events[0].fingerprint)

    assert fingerprint(True) == fingerprint(False)


def test_a_secret_straddling_the_message_cut_is_scrubbed_whole() -> None:
    cfg = ProcessorConfig(max_message_length=100)
    message = "x" * 80 + " bob.secret@example.com " + "y" * 5_000_000  # huge: cut to 2x before scrubbing
    batch = Processor(cfg).process_traces(
        traces(
            span(
                trace_id=new_id(16),
                parent=new_id(8),
                exceptions=[{"exception.type": "E", "exception.message": message}],
            )
        ),
        None,
        NOW,
    )
    stored = batch.events[0].message
    assert len(stored) == 100 and "bob" not in stored and "[em" in stored


def test_very_long_stack_traces_are_not_memoized() -> None:
    from otel_errors.grouping import _stack

    before = _stack._analyze_memo.cache_info().currsize
    huge = PY_TRACE.replace(
        "Traceback (most recent call last):\n",
        "Traceback (most recent call last):\n" + '  File "/a.py", line 1, in f\n' * 1000,
    )
    assert len(huge) > _stack.MEMO_MAX_CHARS
    _stack.analyze_stack(huge, (), (), 1)
    assert _stack._analyze_memo.cache_info().currsize == before


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"gen_ai.tool.name": "crm", "tool.args.size": 163, "tool.cached": False, "ratio": 0.25, "none": None},
        {
            "unicode": "naïve 日本 \u2028 \U0001f600",
            "escapes": 'quote " backslash \\ tab \t nl \n nul-free \x01',
            "big": 2**63 - 1,
            "negative": -7,
            "tiny": 5e-324,
            "exp": 1e300,
            "yes": True,
        },
    ],
)
def test_plain_attribute_json_is_json_dumps(context: dict[str, object]) -> None:
    """The attributes text of a plain context comes from one reused C encoder: it must be json.dumps's text."""
    import json

    from otel_errors._bounds import _PLAIN_JSON, _plain_and_short

    assert _plain_and_short(context, 4096)  # type: ignore[arg-type]
    assert _PLAIN_JSON(context) == json.dumps(context, ensure_ascii=False)  # type: ignore[arg-type]


def test_user_ids_can_be_stored_as_a_keyed_hash_everywhere_they_appear() -> None:
    """`hash_user_ids`: the user id column of occurrences and executions and the `user.id` attribute all hold the
    same keyed hash (so users still count), never the id; another workspace's hash of the same id differs."""
    cfg = ProcessorConfig(hash_user_ids=True, user_id_hash_key="k1")
    tid = new_id(16)
    request = traces(
        span("invoke_agent a", trace_id=tid, attrs={"user.id": "alice@example.com"}),
        span(
            "tool",
            trace_id=tid,
            parent=new_id(8),
            error=True,
            attrs={"user.id": "alice@example.com", "enduser.id": "alice"},
            exceptions=[{"exception.type": "E"}],
        ),
        resource={"workspace.id": "ws-one"},
    )
    batch = Processor(cfg).process_traces(request, None, NOW)
    other = Processor(cfg).process_traces(request, "ws-two", NOW)
    hashed = batch.events[0].user_id
    assert hashed.startswith("h:") and len(hashed) == 34
    assert batch.executions[0].user_id == hashed
    attributes = json.loads(batch.events[0].attributes_json)
    assert attributes["user.id"] == hashed and attributes["enduser.id"].startswith("h:")
    assert "alice" not in repr((batch.events, batch.executions))
    assert other.events[0].user_id != hashed
    rekeyed = Processor(ProcessorConfig(hash_user_ids=True, user_id_hash_key="k2")).process_traces(request, None, NOW)
    assert rekeyed.events[0].user_id != hashed
