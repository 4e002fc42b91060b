#!/usr/bin/env python
"""Ingest benchmark: real OTLP/gRPC trace exports -> `otel-errors serve` -> PostgreSQL, end to end.

Not a test: it measures and prints. What it does, in order:

1. builds a pool of distinct serialized `ExportTraceServiceRequest`s (512 spans each, agent-shaped traces of ~20
   spans, 5% of spans carrying an `exception` event with a ~2 KB Python/Java/JS stack trace drawn from ~50 bugs);
   before each send a client stamps fresh trace ids (and fresh ids into messages that carry one), so no
   occurrence is ever deduplicated as a retry, while the bytes on the wire stay the same size and shape;
2. creates a scratch database (`bench_<random>`) on `--database-url`, dropped at the end; with
   `--history-days 90`, with the 90 past daily partitions of a store at its default retention;
3. for each `--workers` count: starts `python -m otel_errors.cli.main serve` on free loopback ports, waits until
   every worker is ready, drives it with `--clients` load-generator processes (`--concurrency` calls in flight
   each) for a warm-up and then `--seconds`, and counts acknowledged exports (OTLP success = committed);
   CPU of the server, of PostgreSQL and of the clients is read with psutil over the measured window;
   then stops the server (drain) and checks the database: stored occurrences == exception events acknowledged;
4. the same clients drive a minimal grpc.aio server that only receives and parses the same requests
   (`ExportTraceServiceRequest.FromString`), for the raw rate of one process, and the ratio end-to-end / raw;
5. in-process, without gRPC: `FromString` only, and `Processor.process_traces` of the bytes (where the CPU goes);
6. prints one table, and for each end-to-end phase the machine's ceiling at the CPU costs it measured.

    .venv/bin/python bench/ingest.py --seconds 15 --workers 1,2
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing as mp
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
WORKSPACE = "bench"
TOKEN_LEN = 12  # hex characters of an id inside an exception message, rewritten at every send
MAX_MESSAGE = 64 * 1024 * 1024

# ---------------------------------------------------------------------------------------------------------------
# Realistic payloads
# ---------------------------------------------------------------------------------------------------------------

_PY_LIB_FRAMES = [
    (
        "/usr/local/lib/python3.11/site-packages/httpx/_client.py",
        1617,
        "send",
        "response = await self._send_handling_auth(",
    ),
    (
        "/usr/local/lib/python3.11/site-packages/httpx/_client.py",
        1645,
        "_send_handling_auth",
        "response = await self._send_handling_redirects(",
    ),
    (
        "/usr/local/lib/python3.11/site-packages/httpx/_client.py",
        1682,
        "_send_handling_redirects",
        "response = await self._send_single_request(request)",
    ),
    (
        "/usr/local/lib/python3.11/site-packages/httpx/_transports/default.py",
        366,
        "handle_async_request",
        "with map_httpcore_exceptions():",
    ),
    (
        "/usr/local/lib/python3.11/site-packages/openai/_base_client.py",
        1594,
        "_request",
        "raise self._make_status_error_from_response(err.response) from None",
    ),
    (
        "/usr/local/lib/python3.11/site-packages/openai/resources/chat/completions.py",
        1720,
        "create",
        "return await self._post(",
    ),
    ("/usr/local/lib/python3.11/site-packages/psycopg/cursor_async.py", 97, "execute", "raise ex.with_traceback(None)"),
    (
        "/usr/local/lib/python3.11/site-packages/pydantic/main.py",
        596,
        "model_validate",
        "return cls.__pydantic_validator__.validate_python(",
    ),
    ("/usr/local/lib/python3.11/json/__init__.py", 346, "loads", "return _default_decoder.decode(s)"),
    ("/usr/local/lib/python3.11/json/decoder.py", 337, "decode", "obj, end = self.raw_decode(s, idx=_w(s, 0).end())"),
    ("/usr/local/lib/python3.11/asyncio/tasks.py", 489, "wait_for", "return fut.result()"),
    (
        "/usr/local/lib/python3.11/site-packages/tenacity/_asyncio.py",
        50,
        "__call__",
        "result = await fn(*args, **kwargs)",
    ),
    (
        "/usr/local/lib/python3.11/site-packages/langchain_core/tools/base.py",
        593,
        "arun",
        "response = await asyncio.create_task(coro, context=context)",
    ),
    (
        "/usr/local/lib/python3.11/site-packages/redis/asyncio/client.py",
        612,
        "execute_command",
        "return await conn.retry.call_with_retry(",
    ),
]
_PY_ENTRY_FRAMES = [
    ("/srv/agent/app/runtime/executor.py", 88, "run_agent", "result = await agent.invoke(state, config=config)"),
    ("/srv/agent/app/runtime/graph.py", 143, "invoke", "state = await node.run(state)"),
    ("/srv/agent/app/runtime/graph.py", 201, "run", "return await self._fn(state, **self._bound)"),
]
_PY_APP_MODULES = [
    "planner",
    "router",
    "memory",
    "retrieval",
    "billing",
    "orders",
    "search",
    "crm",
    "summarize",
    "calendar",
    "email",
    "tickets",
]
_PY_APP_FUNCS = [
    "handle",
    "call_tool",
    "fetch",
    "lookup",
    "build_prompt",
    "resolve",
    "execute",
    "load_context",
    "parse_reply",
    "store_result",
    "rank",
    "dispatch",
    "validate_args",
    "refresh_token",
]
_PY_CODE = [
    "result = await self.client.fetch(url, params=params)",
    "reply = await self.llm.complete(messages)",
    "rows = await cur.execute(QUERY, (order_id,))",
    "args = SearchArgs.model_validate(raw_args)",
    "data = json.loads(response.text)",
    "return await self._call(name, payload)",
    "context = await self.memory.load(session_id)",
    "item = self.cache[key]",
    "return handler(request).content.strip()",
    "await self.store.save(result, ttl=3600)",
]

# (exception type, message template; "{tok}" is a fresh id at every send, "{n}" a fixed number)
_PY_ERRORS = [
    ("KeyError", "'customer_id'"),
    ("ValueError", "invalid tool arguments for call call_{tok}"),
    (
        "openai.RateLimitError",
        "Error code: 429 - {{'error': {{'message': 'Rate limit reached for gpt-4o in "
        "organization org-{tok} on tokens per min (TPM): Limit 30000000, Used 29998000, Requested 4213.', "
        "'type': 'tokens', 'code': 'rate_limit_exceeded'}}}}",
    ),
    ("httpx.ReadTimeout", "timed out"),
    ("json.decoder.JSONDecodeError", "Expecting value: line 1 column {n} (char {n})"),
    (
        "psycopg.errors.UniqueViolation",
        'duplicate key value violates unique constraint "orders_pkey"\nDETAIL:  Key (id)=(ord_{tok}) already exists.',
    ),
    ("AttributeError", "'NoneType' object has no attribute 'content'"),
    ("TimeoutError", "tool search exceeded 30s (request req_{tok})"),
    (
        "pydantic_core._pydantic_core.ValidationError",
        "1 validation error for SearchArgs\nquery\n  Field required "
        "[type=missing, input_value={{'q': 'weather'}}, input_type=dict]",
    ),
    ("PermissionError", "user usr_{tok} may not read workspace documents"),
    ("LookupError", "document doc_{tok} not found in index products-v3"),
    (
        "openai.BadRequestError",
        "Error code: 400 - This model's maximum context length is 128000 tokens. However, "
        "your messages resulted in 13{n} tokens. Please reduce the length of the messages.",
    ),
    ("redis.exceptions.ConnectionError", "Error 111 connecting to cache:6379. Connection refused."),
]
_JAVA_ERRORS = [
    ("java.lang.IllegalStateException", "order ord_{tok} is already closed"),
    ("java.net.SocketTimeoutException", "Read timed out"),
    ("java.lang.NullPointerException", 'Cannot invoke "String.length()" because "<local4>" is null'),
    (
        "com.fasterxml.jackson.core.JsonParseException",
        "Unexpected character ('<' (code 60)): expected a valid "
        'value at [Source: (String)"<html>"; line: 1, column: 2]',
    ),
    (
        "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable",
        "503 Service Unavailable: upstream request req_{tok} failed",
    ),
]
_JAVA_PACKAGES = [
    "com.acme.agents.billing",
    "com.acme.agents.orders",
    "com.acme.agents.search",
    "com.acme.agents.runtime",
]
_JAVA_LIB_FRAMES = [
    "org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:{l})",
    "org.springframework.web.client.RestTemplate.execute(RestTemplate.java:{l})",
    "com.fasterxml.jackson.databind.ObjectMapper._readMapAndClose(ObjectMapper.java:{l})",
    "java.base/java.net.SocketInputStream.socketRead0(Native Method)",
    "java.base/java.util.concurrent.FutureTask.run(FutureTask.java:{l})",
    "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:{l})",
    "java.base/java.lang.Thread.run(Thread.java:{l})",
    "io.opentelemetry.instrumentation.spring.webmvc.v6_0.WebMvcTelemetryProducingFilter.doFilterInternal("
    "WebMvcTelemetryProducingFilter.java:{l})",
    "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:{l})",
]
_JS_ERRORS = [
    ("TypeError", "Cannot read properties of undefined (reading 'choices')"),
    ("Error", "Request failed with status code 502 (request req_{tok})"),
    ("SyntaxError", "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON"),
]
_JS_LIB_FRAMES = [
    "processTicksAndRejections (node:internal/process/task_queues:{l}:5)",
    "async AgentExecutor._call (/app/node_modules/langchain/dist/agents/executor.cjs:{l}:32)",
    "async AgentExecutor.invoke (/app/node_modules/@langchain/core/dist/runnables/base.cjs:{l}:22)",
    "async Axios.request (/app/node_modules/axios/dist/node/axios.cjs:{l}:15)",
    "async RetryOperation._fn (/app/node_modules/p-retry/index.js:{l}:18)",
    "JSON.parse (<anonymous>)",
]


@dataclass
class Bug:
    language: str
    exc_type: str
    message: str  # template
    stack: Any  # callable(version, message) -> str


def _py_text(frames: list[tuple[str, int, str, str]], version: int) -> str:
    out = ["Traceback (most recent call last):\n"]
    for path, line, func, code in frames:
        line += 7 * version if path.startswith("/srv/") else 0  # another release: the same code, moved
        out.append(f'  File "{path}", line {line}, in {func}\n    {code}\n')
    return "".join(out)


def _py_bug(rng: random.Random, exc_type: str, message: str) -> Bug:
    app = [
        (
            f"/srv/agent/app/{rng.choice(_PY_APP_MODULES)}/{rng.choice(_PY_APP_MODULES)}.py",
            rng.randint(20, 400),
            rng.choice(_PY_APP_FUNCS),
            rng.choice(_PY_CODE),
        )
        for _ in range(rng.randint(5, 8))
    ]
    libs = rng.sample(_PY_LIB_FRAMES, rng.randint(2, 4))
    frames = list(_PY_ENTRY_FRAMES) + app + libs

    # Deep agent stacks: outer application frames until the text is ~2 KB (the same frames for every version).
    outer: list[tuple[str, int, str, str]] = []
    while len(_py_text(outer + frames, 0)) < 1900:
        path, line, func, code = app[len(outer) % len(app)]
        outer.append((path, line + 40, f"{func}_step", code))
    frames = outer + frames

    def stack(version: int, msg: str) -> str:
        return _py_text(frames, version) + f"{exc_type}: {msg}\n"

    return Bug("python", exc_type, message, stack)


def _java_bug(rng: random.Random, exc_type: str, message: str) -> Bug:
    pkg = rng.choice(_JAVA_PACKAGES)
    classes = [
        f"{pkg}.{rng.choice(['Order', 'Invoice', 'Search', 'Agent', 'Tool', 'Ledger'])}"
        f"{rng.choice(['Service', 'Client', 'Handler', 'Repository', 'Controller'])}"
        for _ in range(8)
    ]
    methods = [
        rng.choice(["process", "handle", "invoke", "lookup", "apply", "execute", "fetch", "close"]) for _ in classes
    ]
    lines = [rng.randint(30, 600) for _ in classes]
    libs = [f.format(l=rng.randint(100, 900)) for f in rng.sample(_JAVA_LIB_FRAMES, 6)]

    def body(version: int) -> str:
        out = []
        for cls, method, line in zip(classes, methods, lines, strict=True):
            out.append(f"\tat {cls}.{method}({cls.rsplit('.', 1)[1]}.java:{line + 5 * version})\n")
        out.extend(f"\tat {lib}\n" for lib in libs)
        return "".join(out)

    pad, extra = "", 0
    while len(body(0)) + len(pad) < 1850:  # ~2 KB, the same frames for every version
        pad += f"\tat {classes[extra % 8]}$$SpringCGLIB$$0.{methods[extra % 8]}(<generated>)\n"
        extra += 1

    def stack(version: int, msg: str) -> str:
        return f"{exc_type}: {msg}\n" + body(version) + pad

    return Bug("java", exc_type, message, stack)


def _js_bug(rng: random.Random, exc_type: str, message: str) -> Bug:
    files = [
        f"/app/dist/{rng.choice(['tools', 'agents', 'lib', 'routes'])}/{rng.choice(_PY_APP_MODULES)}.js"
        for _ in range(8)
    ]
    funcs = [
        rng.choice(
            [
                "SearchTool.call",
                "Planner.next",
                "fetchJson",
                "handleMessage",
                "runStep",
                "Object.<anonymous>",
                "async Promise.all (index 0)",
                "CrmClient.lookup",
            ]
        )
        for _ in files
    ]
    lines = [rng.randint(10, 300) for _ in files]
    libs = [f.format(l=rng.randint(50, 900)) for f in rng.sample(_JS_LIB_FRAMES, 4)]

    def body(version: int) -> str:
        out = []
        for fn, path, line in zip(funcs, files, lines, strict=True):
            out.append(f"    at {fn} ({path}:{line + 4 * version}:{(line * 7) % 60 + 1})\n")
        out.extend(f"    at {lib}\n" for lib in libs)
        return "".join(out)

    pad, extra = "", 0
    while len(body(0)) + len(pad) < 1850:  # ~2 KB, the same frames for every version
        pad += f"    at async {funcs[extra % 8]} ({files[extra % 8]}:{lines[extra % 8] + 11}:{extra + 3})\n"
        extra += 1

    def stack(version: int, msg: str) -> str:
        return f"{exc_type}: {msg}\n" + body(version) + pad

    return Bug("js", exc_type, message, stack)


def make_bugs(seed: int = 7) -> list[Bug]:
    """~50 distinct bugs: 35 Python, 10 Java, 5 JavaScript (same type with other stacks = other bugs)."""
    rng = random.Random(seed)
    bugs = [_py_bug(rng, *_PY_ERRORS[i % len(_PY_ERRORS)]) for i in range(35)]
    bugs += [_java_bug(rng, *_JAVA_ERRORS[i % len(_JAVA_ERRORS)]) for i in range(10)]
    bugs += [_js_bug(rng, *_JS_ERRORS[i % len(_JS_ERRORS)]) for i in range(5)]
    return bugs


_SERVICES = {
    "python": [("support-agent", "2.14.1"), ("research-agent", "0.9.3"), ("billing-agent", "1.4.0")],
    "java": [("orders-agent", "3.2.7")],
    "js": [("web-assistant", "5.0.2")],
}
_SDK = {"python": ("python", "1.40.0"), "java": ("java", "1.52.0"), "js": ("nodejs", "2.1.0")}


@dataclass
class Template:
    payload: bytes
    spans: int
    exceptions: int
    traces: int
    trace_id_offsets: list[int]  # where the last 8 bytes of a trace id start (rewritten per send)
    token_offsets: list[list[int]] = field(default_factory=list)  # per exception: where its message id sits


def build_templates(count: int, spans_per_request: int, error_rate: float, seed: int = 11) -> list[Template]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    rng = random.Random(seed)
    bugs = make_bugs()
    by_language = collections.defaultdict(list)
    for bug in bugs:
        by_language[bug.language].append(bug)
    now = time.time_ns() - 30 * 1_000_000_000

    def kv(key: str, v: Any) -> KeyValue:
        if isinstance(v, bool):
            return KeyValue(key=key, value=AnyValue(bool_value=v))
        if isinstance(v, int):
            return KeyValue(key=key, value=AnyValue(int_value=v))
        if isinstance(v, float):
            return KeyValue(key=key, value=AnyValue(double_value=v))
        return KeyValue(key=key, value=AnyValue(string_value=str(v)))

    def attrs(span: Any, values: dict[str, Any]) -> None:
        span.attributes.extend(kv(k, v) for k, v in values.items())

    templates = []
    for t_index in range(count):
        language = "python" if t_index % 10 < 7 else ("java" if t_index % 10 < 9 else "js")
        service, version = rng.choice(_SERVICES[language])
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.extend(
            [
                kv("service.name", service),
                kv("service.version", version),
                kv("deployment.environment", "production"),
                kv("service.instance.id", f"{service}-{rng.randrange(16**8):08x}"),
                kv("host.name", f"ip-10-0-{rng.randrange(256)}-{rng.randrange(256)}"),
                kv("telemetry.sdk.language", _SDK[language][0]),
                kv("telemetry.sdk.name", "opentelemetry"),
                kv("telemetry.sdk.version", _SDK[language][1]),
                kv("workspace.id", WORKSPACE),
            ]
        )
        agent_scope = rs.scope_spans.add()
        agent_scope.scope.name = "openinference.instrumentation.agents"
        http_scope = rs.scope_spans.add()
        http_scope.scope.name = "opentelemetry.instrumentation.httpx"
        db_scope = rs.scope_spans.add()
        db_scope.scope.name = "opentelemetry.instrumentation.psycopg"

        # Spans as (span, depth, parent index, children); built as plain protos, sorted into scopes at the end.
        spans: list[tuple[Any, Any, int, int]] = []  # (span, scope, depth, parent index)
        trace_ids: list[bytes] = []
        roots: list[int] = []
        while len(spans) < spans_per_request:
            size = min(rng.randint(15, 25), spans_per_request - len(spans))
            trace_id = secrets.token_bytes(16)
            trace_ids.append(trace_id)
            t0 = now - rng.randrange(20_000_000_000)
            agent = rng.choice(["triage", "researcher", "planner", "refunds", "scheduler"])

            def new(name: str, scope: Any, depth: int, parent: int, kind: int, t: int, dur: int) -> int:
                s = Span(
                    trace_id=trace_id,
                    span_id=secrets.token_bytes(8),
                    name=name,
                    kind=kind,
                    start_time_unix_nano=t,
                    end_time_unix_nano=t + dur,
                )
                if parent >= 0:
                    s.parent_span_id = spans[parent][0].span_id
                spans.append((s, scope, depth, parent))
                return len(spans) - 1

            root = new(f"invoke_agent {agent}", agent_scope, 0, -1, Span.SPAN_KIND_INTERNAL, t0, 9_000_000_000)
            roots.append(root)
            attrs(
                spans[root][0],
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": agent,
                    "gen_ai.agent.id": f"agt_{agent}_{rng.randrange(4)}",
                    "user.id": f"usr_{rng.randrange(5000):05d}",
                    "session.id": f"ses_{rng.randrange(16**12):012x}",
                    "credits.used": round(rng.uniform(0.1, 40), 2),
                    "gen_ai.conversation.id": f"conv_{rng.randrange(16**12):012x}",
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "agent.step.count": rng.randint(2, 12),
                },
            )
            t = t0 + 5_000_000
            while len(spans) - root < size:
                kind = rng.random()
                remaining = size - (len(spans) - root)
                if kind < 0.4 or remaining < 2:
                    chat = new("chat gpt-4o", agent_scope, 1, root, Span.SPAN_KIND_CLIENT, t, 800_000_000)
                    attrs(
                        spans[chat][0],
                        {
                            "gen_ai.operation.name": "chat",
                            "gen_ai.system": "openai",
                            "gen_ai.request.model": "gpt-4o",
                            "gen_ai.response.model": "gpt-4o-2024-08-06",
                            "gen_ai.usage.input_tokens": rng.randint(500, 9000),
                            "gen_ai.usage.output_tokens": rng.randint(20, 900),
                            "gen_ai.request.temperature": 0.2,
                            "gen_ai.response.finish_reasons": "tool_calls",
                            "gen_ai.response.id": f"chatcmpl-{rng.randrange(16**16):016x}",
                            "server.address": "api.openai.com",
                        },
                    )
                    if remaining >= 2:
                        http = new("POST", http_scope, 2, chat, Span.SPAN_KIND_CLIENT, t + 1_000_000, 790_000_000)
                        attrs(
                            spans[http][0],
                            {
                                "http.request.method": "POST",
                                "url.full": "https://api.openai.com/v1/chat/completions",
                                "server.address": "api.openai.com",
                                "server.port": 443,
                                "http.response.status_code": 200,
                                "network.protocol.version": "1.1",
                                "user_agent.original": "AsyncOpenAI/Python 1.54.3",
                                "http.request.body.size": 18211,
                                "http.response.body.size": rng.randint(400, 4000),
                                "url.scheme": "https",
                            },
                        )
                    t += 810_000_000
                else:
                    tool_name = rng.choice(["search", "lookup_order", "send_email", "calendar", "crm"])
                    tool = new(
                        f"execute_tool {tool_name}", agent_scope, 1, root, Span.SPAN_KIND_INTERNAL, t, 300_000_000
                    )
                    attrs(
                        spans[tool][0],
                        {
                            "gen_ai.operation.name": "execute_tool",
                            "gen_ai.tool.name": tool_name,
                            "gen_ai.tool.call.id": f"call_{rng.randrange(16**12):012x}",
                            "gen_ai.tool.type": "function",
                            "gen_ai.tool.description": f"{tool_name} tool",
                            "gen_ai.system": "openai",
                            "tool.args.size": rng.randint(20, 400),
                            "tool.result.size": rng.randint(50, 9000),
                            "tool.cached": rng.random() < 0.3,
                            "tool.attempt": 1,
                        },
                    )
                    for _ in range(min(rng.randint(1, 2), size - (len(spans) - root))):
                        if rng.random() < 0.5:
                            db = new(
                                "SELECT orders", db_scope, 2, tool, Span.SPAN_KIND_CLIENT, t + 2_000_000, 15_000_000
                            )
                            attrs(
                                spans[db][0],
                                {
                                    "db.system.name": "postgresql",
                                    "db.namespace": "shop",
                                    "db.operation.name": "SELECT",
                                    "db.collection.name": "orders",
                                    "db.query.text": (
                                        "SELECT id, status, total FROM orders WHERE customer_id = $1 LIMIT 50"
                                    ),
                                    "server.address": "db.internal",
                                    "server.port": 5432,
                                    "db.response.returned_rows": rng.randint(0, 50),
                                    "network.peer.address": "10.0.3.17",
                                    "db.client.connection.pool.name": "shop",
                                },
                            )
                        else:
                            http = new("GET", http_scope, 2, tool, Span.SPAN_KIND_CLIENT, t + 2_000_000, 120_000_000)
                            attrs(
                                spans[http][0],
                                {
                                    "http.request.method": "GET",
                                    "url.full": f"https://search.internal/v2/query?q=item{rng.randrange(10**6)}",
                                    "server.address": "search.internal",
                                    "server.port": 443,
                                    "http.response.status_code": 200,
                                    "network.protocol.version": "2",
                                    "user_agent.original": "python-httpx/0.27.2",
                                    "url.scheme": "https",
                                    "http.response.body.size": rng.randint(400, 40000),
                                    "url.path": "/v2/query",
                                },
                            )
                    t += 310_000_000

        # 5% of the spans record an exception (status ERROR); never a span next to another one, so nothing is a
        # propagation duplicate. A root fails when the failing span is its direct child (its ERROR then counts
        # no occurrence of its own: the exception below it was already counted).
        chosen: set[int] = set()
        children = collections.defaultdict(set)
        for i, (_s, _scope, _depth, parent) in enumerate(spans):
            if parent >= 0:
                children[parent].add(i)
        candidates = [i for i, (_s, _sc, depth, _p) in enumerate(spans) if depth > 0]
        rng.shuffle(candidates)
        wanted = round(spans_per_request * error_rate)
        for i in candidates:
            if len(chosen) == wanted:
                break
            parent = spans[i][3]
            if parent in chosen or children[i] & chosen:
                continue
            chosen.add(i)
        tokens: list[str] = []
        for i in sorted(chosen):
            s, _scope, depth, parent = spans[i]
            bug = rng.choice(by_language[language])
            token = secrets.token_hex(TOKEN_LEN // 2)
            message = bug.message.format(tok=token, n=rng.randint(1, 99))
            if "{tok}" in bug.message:
                tokens.append(token)
            stack = bug.stack(rng.randrange(3), message)
            s.status.CopyFrom(
                Status(code=Status.STATUS_CODE_ERROR, message=f"{bug.exc_type.rsplit('.', 1)[-1]}: {message}")
            )
            event = s.events.add()
            event.name = "exception"
            event.time_unix_nano = s.end_time_unix_nano - 1000
            event.attributes.extend(
                [
                    kv("exception.type", bug.exc_type),
                    kv("exception.message", message),
                    kv("exception.stacktrace", stack),
                    kv("exception.escaped", True),
                ]
            )
            if depth == 1 and rng.random() < 0.5:
                root = spans[parent][0]
                root.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="agent run failed"))
        for s, scope, _depth, _parent in spans:
            scope.spans.append(s)
        payload = request.SerializeToString()

        offsets = []
        for trace_id in trace_ids:
            start, found = 0, 0
            while (at := payload.find(trace_id, start)) >= 0:
                offsets.append(at + 8)
                start, found = at + 16, found + 1
            assert found >= 1, "trace id not found in the payload"
        token_offsets = []
        for token in tokens:
            needle, start, where = token.encode(), 0, []
            while (at := payload.find(needle, start)) >= 0:
                where.append(at)
                start = at + len(needle)
            token_offsets.append(where)
        templates.append(Template(payload, len(spans), len(chosen), len(trace_ids), offsets, token_offsets))
    return templates


def render(template: Template, nonce: int) -> bytes:
    """The template with fresh trace ids and message ids: same size and shape, never a retry of an earlier send."""
    buf = bytearray(template.payload)
    suffix = nonce.to_bytes(8, "big")
    for at in template.trace_id_offsets:
        buf[at : at + 8] = suffix
    for k, where in enumerate(template.token_offsets):
        token = b"%012x" % ((nonce * 0x9E3779B97F4A7C15 + k) & 0xFFFFFFFFFFFF)
        for at in where:
            buf[at : at + TOKEN_LEN] = token
    return bytes(buf)


# ---------------------------------------------------------------------------------------------------------------
# Load generator (client processes)
# ---------------------------------------------------------------------------------------------------------------


def _client_process(
    index: int,
    templates: list[Template],
    target: str,
    concurrency: int,
    channels: int,
    rate: float,
    schedule: Any,
    ready: Any,
    go: Any,
    results: Any,
) -> None:
    import grpc

    async def run() -> dict[str, Any]:
        options = [
            ("grpc.max_send_message_length", MAX_MESSAGE),
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.use_local_subchannel_pool", 1),
        ]  # one TCP connection per channel (spread over workers)
        chans = [grpc.aio.insecure_channel(target, options=options) for _ in range(channels)]
        for ch in chans:
            await asyncio.wait_for(ch.channel_ready(), 30)
        calls = [ch.unary_unary(TRACE_EXPORT, request_serializer=None, response_deserializer=None) for ch in chans]
        ready.put(index)
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        t_start, t_end = schedule[0], schedule[1]
        rng = random.Random(index)
        base = secrets.randbits(64)
        stats = {p: collections.Counter() for p in ("warmup", "measure", "tail")}
        latencies: list[float] = []
        seq = 0
        # Open loop (`--rate`): the k-th send of this client is due at begin + k / rate, whenever the answers come;
        # a send that leaves more than 50 ms after it was due is counted as late (the rate was not held).
        begin = time.time()

        async def worker(w: int) -> None:
            nonlocal seq
            call = calls[w % len(calls)]
            while time.time() < t_end:
                template = templates[rng.randrange(len(templates))]
                seq += 1
                nonce = seq  # taken now: other workers move `seq` while this one waits for its turn
                if rate > 0:
                    due = begin + nonce / rate
                    wait = due - time.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    elif wait < -0.05 and t_start <= time.time() <= t_end:
                        stats["measure"]["late"] += 1
                payload = render(template, (base + nonce) & 0xFFFFFFFFFFFFFFFF)
                sent = time.perf_counter()
                try:
                    response = await call(payload, timeout=60)
                    outcome = "ok"
                except grpc.aio.AioRpcError as exc:
                    outcome = exc.code().name
                done = time.time()
                phase = "warmup" if done < t_start else ("measure" if done <= t_end else "tail")
                c = stats[phase]
                c["requests"] += 1
                if outcome == "ok":
                    c["ok"] += 1
                    c["spans"] += template.spans
                    c["exceptions"] += template.exceptions
                    c["traces"] += template.traces
                    if response:
                        c["partial_success_responses"] += 1
                    if phase == "measure":
                        latencies.append(time.perf_counter() - sent)
                else:
                    c[f"failed:{outcome}"] += 1
                    c["failed_exceptions"] += template.exceptions

        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        for ch in chans:
            await ch.close()
        return {"stats": {k: dict(v) for k, v in stats.items()}, "latencies": latencies}

    try:
        results.put((index, asyncio.run(run())))
    except BaseException as exc:  # noqa: BLE001 - report, never hang the parent
        ready.put(index)
        results.put((index, {"error": repr(exc)}))


@dataclass
class LoadResult:
    seconds: float
    stats: dict[str, collections.Counter]
    latencies: list[float]
    cpu: dict[str, float]
    errors: list[str]
    busy: float  # machine CPU busy over the window, in cores


def drive(
    target: str, templates: list[Template], args: argparse.Namespace, watch: dict[str, Any], on_start: Any = None
) -> LoadResult:
    """Run the client processes against `target`; sample CPU of the `watch` process groups over the window."""
    import psutil

    ctx = mp.get_context("spawn")
    schedule = ctx.Array("d", 2)
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(
            target=_client_process,
            args=(
                i,
                templates,
                target,
                args.concurrency,
                args.channels,
                args.rate / args.clients,
                schedule,
                ready,
                go,
                results,
            ),
            daemon=True,
        )
        for i in range(args.clients)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    t_start = time.time() + args.warmup
    schedule[0], schedule[1] = t_start, t_start + args.seconds
    go.set()
    groups = dict(watch)
    groups["clients"] = lambda: [psutil.Process(p.pid) for p in procs if p.pid]
    time.sleep(max(0.0, t_start - time.time()))
    before = {name: _cpu(fn()) for name, fn in groups.items()}
    machine_before, wall_before = psutil.cpu_times(), time.monotonic()
    if on_start is not None:
        on_start()
    time.sleep(max(0.0, schedule[1] - time.time()))
    after = {name: _cpu(fn()) for name, fn in groups.items()}
    machine_after, wall = psutil.cpu_times(), time.monotonic() - wall_before
    busy = (
        (sum(machine_after) - machine_after.idle - machine_after.iowait)
        - (sum(machine_before) - machine_before.idle - machine_before.iowait)
    ) / wall
    steal = (getattr(machine_after, "steal", 0.0) - getattr(machine_before, "steal", 0.0)) / wall
    kernel_net = (getattr(machine_after, "softirq", 0.0) - getattr(machine_before, "softirq", 0.0)) / wall
    stats = {p: collections.Counter() for p in ("warmup", "measure", "tail")}
    latencies: list[float] = []
    errors = []
    for _ in procs:
        _i, res = results.get(timeout=args.seconds + 180)
        if "error" in res:
            errors.append(res["error"])
            continue
        for phase, c in res["stats"].items():
            stats[phase].update(c)
        latencies.extend(res["latencies"])
    for p in procs:
        p.join(timeout=10)
    cpu = {name: after[name] - before[name] for name in groups}
    cpu["steal"], cpu["softirq"] = steal * args.seconds, kernel_net * args.seconds
    return LoadResult(args.seconds, stats, latencies, cpu, errors, busy)


def _cpu(processes: list[Any]) -> float:
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except Exception:  # noqa: BLE001 - gone, or not ours to read
            pass
    return total


def _tree(pid: int) -> Any:
    import psutil

    def procs() -> list[Any]:
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    return procs


def _postgres() -> list[Any]:
    import psutil

    out = []
    for p in psutil.process_iter(["name"]):
        if (p.info["name"] or "").startswith("postgres"):
            out.append(p)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Servers under test
# ---------------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, database_url: str, workers: int, workdir: Path) -> None:
        self.workers = workers
        self.grpc_port, self.http_port, self.api_port = free_port(), free_port(), free_port()
        self.log_path = workdir / f"serve-w{workers}.log"
        env = dict(
            os.environ,
            OTEL_ERRORS_DATABASE_URL=database_url,
            OTEL_ERRORS_GRPC_PORT=str(self.grpc_port),
            OTEL_ERRORS_HTTP_PORT=str(self.http_port),
            OTEL_ERRORS_API_PORT=str(self.api_port),
            OTEL_ERRORS_WORKERS=str(workers),
            OTEL_ERRORS_DATA_DIR=str(workdir / "data"),
            OTEL_ERRORS_LOG_LEVEL="info",
        )
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "otel_errors.cli.main", "serve"], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if self.log().count("otel-errors ready") >= self.workers:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/healthz", timeout=2) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready within {timeout}s:\n{self.log()[-3000:]}")

    def worker_pids(self) -> list[int]:
        import psutil

        if self.workers == 1:
            return [self.process.pid]
        return [
            c.pid
            for c in psutil.Process(self.process.pid).children()
            if "multiprocessing" in " ".join(c.cmdline()) or c.name().startswith("python")
        ]

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


_RAW_SERVER = r"""
import asyncio, sys, grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

async def main(port):
    async def export(payload, context):
        ExportTraceServiceRequest.FromString(payload)
        return b""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
                             maximum_concurrent_rpcs=256)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        {"Export": grpc.unary_unary_rpc_method_handler(export)}),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()

try:  # the event loop `otel-errors serve` runs on, so the ratio compares like with like
    import uvloop
except ImportError:
    asyncio.run(main(int(sys.argv[1])))
else:
    uvloop.run(main(int(sys.argv[1])))
"""


# ---------------------------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------------------------


def create_database(url: str) -> tuple[str, str]:
    import psycopg
    from psycopg.conninfo import make_conninfo

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, make_conninfo(url, dbname=name)


def add_history(url: str, days: int) -> None:
    """Migrate and create `days` past daily partitions: the partition count of a store `days` into its retention
    (planning costs grow with it where a statement cannot prune)."""
    import datetime as dt

    import psycopg

    from otel_errors.exporter._migrate import migrate
    from otel_errors.exporter._partitions import Partitions

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await migrate(conn)
            today = dt.datetime.now(dt.UTC).date()
            await Partitions().ensure(conn, [today - dt.timedelta(days=i) for i in range(days)])

    asyncio.run(run())


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def db_counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT coalesce(sum(occurrences), 0) FROM errors WHERE workspace_id = %(w)s),"
            " (SELECT count(*) FROM error_occurrences WHERE workspace_id = %(w)s),"
            " (SELECT count(*) FROM errors WHERE workspace_id = %(w)s),"
            " (SELECT count(*) FROM executions WHERE workspace_id = %(w)s)",
            {"w": WORKSPACE},
        ).fetchone()
        version = conn.execute("SHOW server_version").fetchone()[0]
    assert row is not None
    return {
        "occurrences": int(row[0]),
        "occurrence_rows": int(row[1]),
        "errors": int(row[2]),
        "executions": int(row[3]),
        "version": version,
    }


# ---------------------------------------------------------------------------------------------------------------
# Profiling (optional, py-spy)
# ---------------------------------------------------------------------------------------------------------------


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        print("  (py-spy not found: pip install py-spy; profile skipped)")
        return None
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def summarize_profile(path: Path, top: int) -> str:
    """Self and inclusive time per frame, from py-spy's collapsed stacks."""
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = [re.sub(r"^(.*) \((.*):(\d+)\)$", r"\1 (\2:\3)", f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        self_t[_short(frames[-1])] += count
        for f in {_short_fn(f) for f in frames}:
            incl[f] += count
    if not total:
        return "  (no samples)"
    out = [f"  {total} samples; self time (leaf frame):"]
    out += [f"    {100 * c / total:5.1f}%  {f}" for f, c in self_t.most_common(top)]
    out.append("  inclusive time (function anywhere on the stack):")
    out += [f"    {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(top + 10)]
    return "\n".join(out)


def _short(frame: str) -> str:
    return re.sub(r"/[^ ]*/(site-packages|python3\.\d+|main)/", "", frame)


def _short_fn(frame: str) -> str:
    # drop the line number: one entry per function
    return re.sub(r":\d+\)$", ")", _short(frame))


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------


def in_process_rates(templates: list[Template], seconds: float) -> tuple[float, float]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from otel_errors import Processor

    payloads = [render(t, secrets.randbits(64)) for t in templates]
    spans = [t.spans for t in templates]

    def loop(fn: Any) -> float:
        n, count, t0 = 0, 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            i = n % len(payloads)
            fn(payloads[i])
            count += spans[i]
            n += 1
        return count / (time.perf_counter() - t0)

    parse = loop(ExportTraceServiceRequest.FromString)
    processor = Processor()
    # fresh trace ids every time, as on the wire
    it = iter(range(10**12))
    n_t = len(templates)

    def parse_and_process(_payload: bytes) -> None:
        i = next(it)
        wire = render(templates[i % n_t], i)
        processor.process_traces(None, wire=wire)  # the bytes, as the receivers hand them over

    loop(parse_and_process)  # warm caches the way a running server has them
    return parse, loop(parse_and_process)


GOAL_SPANS_S = 160_000  # the goal for one receiver process (README, Performance)


def machine_ceiling(row: dict[str, Any], cpus: int) -> str:
    """What the machine allows at the CPU costs a run measured: with the server, PostgreSQL and the load generator on
    the same CPUs, spans/s can exceed neither `cpus` / (their CPU-seconds per span), however the work is spread over
    processes. Tells a figure bounded by the machine from one bounded by the server's event loop, and what the
    server would have to cost per span for the goal on this machine, PostgreSQL and the load generator costing what
    they did."""
    if not row["spans"]:
        return f"machine ceiling ({row['name']}): no spans measured"
    server = row["cpu"]["server"] / row["spans"]
    others = (row["cpu"]["postgres"] + row["cpu"]["clients"]) / row["spans"]
    per_span = server + others
    budget = cpus / GOAL_SPANS_S - others
    goal = (
        f"{GOAL_SPANS_S:,} would need the server at <= {100_000 * budget:.2f} CPU-s/100k"
        if budget > 0
        else f"{GOAL_SPANS_S:,} is beyond these CPUs: PostgreSQL and the load generator alone would need them all"
    )
    return (
        f"machine ceiling (workers={row['workers']}): {100_000 * per_span:.2f} CPU-s per 100k spans in all "
        f"(server {100_000 * server:.2f}, PostgreSQL and load generator "
        f"{100_000 * others:.2f}) -> at most {cpus / per_span:,.0f} spans/s on {cpus} CPUs; {goal}"
    )


def report_load(name: str, r: LoadResult) -> dict[str, Any]:
    m = r.stats["measure"]
    spans_s = m["spans"] / r.seconds
    failed = {k: v for c in r.stats.values() for k, v in c.items() if k.startswith("failed:")}
    lat = sorted(r.latencies)

    def pct(q: float) -> float:
        return 1000 * lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")

    return {
        "name": name,
        "spans_s": spans_s,
        "exc_s": m["exceptions"] / r.seconds,
        "req_s": m["ok"] / r.seconds,
        "failed": failed,
        "p50": pct(0.5),
        "p99": pct(0.99),
        "cpu": r.cpu,
        "busy": r.busy,
        "seconds": r.seconds,
        "spans": m["spans"],
        "late": m["late"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OTEL_ERRORS_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL server to use; a scratch database is created on it and dropped after",
    )
    parser.add_argument("--seconds", type=float, default=20, help="measured window of every phase")
    parser.add_argument("--warmup", type=float, default=3, help="load before the measured window")
    parser.add_argument("--workers", default="1", help="comma-separated `serve --workers` counts, e.g. 1,2")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--concurrency", type=int, default=8, help="calls in flight per client process")
    parser.add_argument("--channels", type=int, default=2, help="gRPC connections per client process")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="requests/s over all clients, sent on schedule (open loop; --concurrency caps what is in flight); "
        "0: each call as soon as the last is answered (closed loop, at saturation)",
    )
    parser.add_argument("--payloads", type=int, default=48, help="distinct request templates in the pool")
    parser.add_argument("--spans-per-request", type=int, default=512)
    parser.add_argument("--error-rate", type=float, default=0.05, help="share of spans carrying an exception")
    parser.add_argument("--skip-raw", action="store_true", help="skip the receive-and-parse-only phase")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the (first) worker during the workers=1 phase; collapsed stacks written here, a summary printed",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    parser.add_argument(
        "--history-days",
        type=int,
        default=0,
        help="create this many past daily partitions first (90: a store at its default retention)",
    )
    args = parser.parse_args(argv)
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()]

    import grpc
    from google.protobuf.internal import api_implementation

    t_build = time.perf_counter()
    templates = build_templates(args.payloads, args.spans_per_request, args.error_rate)
    sizes = [len(t.payload) for t in templates]
    exc_share = sum(t.exceptions for t in templates) / sum(t.spans for t in templates)
    print(
        f"payloads: {len(templates)} templates, {args.spans_per_request} spans each, "
        f"{sum(sizes) / len(sizes) / 1024:.0f} KiB average, {100 * exc_share:.1f}% of spans with an exception, "
        f"~{sum(t.traces for t in templates) / len(templates):.0f} traces each "
        f"(built in {time.perf_counter() - t_build:.1f}s)"
    )
    print(
        f"load: {args.clients} client processes x {args.concurrency} in flight x {args.channels} connections; "
        + (f"{args.rate:g} requests/s on schedule (open loop); " if args.rate else "")
        + f"warm-up {args.warmup:g}s, measured {args.seconds:g}s per phase"
    )

    workdir = Path(tempfile.mkdtemp(prefix="otel-errors-bench-"))
    db_name, db_url = create_database(args.database_url)
    if args.history_days:
        add_history(db_url, args.history_days)
    print(
        f"scratch database: {db_name}" + (f", {args.history_days} past days of partitions" if args.history_days else "")
    )
    rows: list[dict[str, Any]] = []
    checks: list[str] = []
    pg_version = "?"
    profile_text = ""
    acked_exc_total = failed_exc_total = acked_traces_total = 0
    try:
        for workers in worker_counts:
            server = Server(db_url, workers, workdir)
            try:
                server.wait_ready()
                pids = server.worker_pids()
                print(f"\n[e2e workers={workers}] serve pid {server.process.pid}, workers {pids}")
                on_start = None
                prof_holder: dict[str, Any] = {}
                if args.profile and workers == worker_counts[0]:

                    def on_start() -> None:
                        prof_holder["p"] = start_profile(pids[0], args.seconds, args.profile)

                result = drive(
                    server.target,
                    templates,
                    args,
                    {"server": _tree(server.process.pid), "postgres": _postgres},
                    on_start,
                )
                prof = prof_holder.get("p")
                if prof is not None:
                    prof.wait(timeout=args.seconds + 30)
                    err = prof.stderr.read().decode(errors="replace") if prof.stderr else ""
                    if args.profile.exists():
                        profile_text = summarize_profile(args.profile, 25)
                    else:
                        profile_text = f"  (py-spy wrote nothing: {err.strip()[-500:]})"
            finally:
                server.stop()
            if result.errors:
                print("  client errors:", *result.errors, sep="\n    ")
            row = report_load(f"end-to-end, serve --workers {workers}", result)
            row["workers"] = workers
            rows.append(row)
            for c in result.stats.values():
                acked_exc_total += c["exceptions"]
                failed_exc_total += c["failed_exceptions"]
                acked_traces_total += c["traces"]
            counts = db_counts(db_url)
            pg_version = counts["version"]
            ok = acked_exc_total <= counts["occurrences"] <= acked_exc_total + failed_exc_total
            exact = counts["occurrences"] == acked_exc_total
            checks.append(
                f"after workers={workers}: sum(errors.occurrences)={counts['occurrences']:,} "
                f"(rows {counts['occurrence_rows']:,}, {counts['errors']} error groups); exception events "
                f"acknowledged={acked_exc_total:,}, in failed requests={failed_exc_total:,} -> "
                + ("OK, exact" if exact else ("OK (failed requests may have committed)" if ok else "MISMATCH"))
                + f"; executions {counts['executions']:,} vs traces acknowledged {acked_traces_total:,}"
            )
            print("  " + checks[-1])
            if server.process.returncode not in (0, None):
                print(f"  server exit code {server.process.returncode}; log tail:\n{server.log()[-2000:]}")
            tail = [ln for ln in server.log().splitlines() if " ERROR " in ln or "WARNING" in ln]
            if tail:
                print(f"  server log: {len(tail)} warnings/errors, e.g. {tail[0][:300]}")

        if not args.skip_raw:
            port = free_port()
            raw = subprocess.Popen([sys.executable, "-c", _RAW_SERVER, str(port)], stdout=subprocess.PIPE)
            try:
                assert raw.stdout is not None
                if raw.stdout.readline().strip() != b"ready":
                    raise RuntimeError("raw server did not start")
                print(f"\n[raw receive+parse] pid {raw.pid}")
                result = drive(f"127.0.0.1:{port}", templates, args, {"server": _tree(raw.pid), "postgres": _postgres})
            finally:
                raw.terminate()
                raw.wait(10)
            if result.errors:
                print("  client errors:", *result.errors, sep="\n    ")
            row = report_load("raw receive + parse only (1 process)", result)
            row["workers"] = 0
            rows.append(row)

        print("\n[in-process, no gRPC, no database] ...")
        parse_rate, process_rate = in_process_rates(templates, min(5.0, args.seconds / 3))
    finally:
        if args.keep_db:
            print(f"kept database {db_name}")
        else:
            drop_database(args.database_url, db_name)
        shutil.rmtree(workdir, ignore_errors=True)

    # -- the table ------------------------------------------------------------------------------------------------
    print("\n" + "=" * 118)
    print(
        f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, protobuf {api_implementation.Type()}, grpcio {grpc.__version__}, "
        f"PostgreSQL {pg_version}; server, PostgreSQL and the load generator share these CPUs"
    )
    print(
        f"payload: {args.spans_per_request} spans/request, {100 * exc_share:.1f}% with an exception "
        f"(~2 KB stack), {sum(sizes) / len(sizes) / 1024:.0f} KiB; {args.clients} clients x {args.concurrency} "
        f"in flight; {args.seconds:g}s measured"
    )
    print("=" * 118)
    head = (
        f"{'phase':<40} {'spans/s':>10} {'exc ev/s':>9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'srv CPU':>8} {'CPU s/100k':>10} {'PG CPU':>7} {'cli CPU':>7} {'busy':>5}"
    )
    print(head)
    print("-" * len(head))
    notes: list[str] = []
    for r in rows:
        cpu_s = r["cpu"]["server"]
        per_100k = 100_000 * cpu_s / r["spans"] if r["spans"] else float("nan")
        print(
            f"{r['name']:<40} {r['spans_s']:>10,.0f} {r['exc_s']:>9,.0f} {r['req_s']:>7,.1f} {r['p50']:>7.1f} "
            f"{r['p99']:>7.1f} {cpu_s / r['seconds']:>7.2f}c {per_100k:>10.3f} "
            f"{r['cpu']['postgres'] / r['seconds']:>6.2f}c {r['cpu']['clients'] / r['seconds']:>6.2f}c "
            f"{r['busy']:>4.2f}c"
        )
        notes.append(
            f"  {r['name']}: machine busy {r['busy']:.2f}c of which steal {r['cpu']['steal'] / r['seconds']:.2f}c, "
            f"softirq {r['cpu']['softirq'] / r['seconds']:.2f}c; p50/p99 are per-request latencies"
            + (f"; {r['late']} sends left over 50 ms late: --rate was not held" if r["late"] else "")
        )
    print(f"{'in-process FromString only (1 thread)':<40} {parse_rate:>10,.0f}")
    print(f"{'in-process process_traces (bytes)':<40} {process_rate:>10,.0f}")
    print("-" * len(head))
    print("\n".join(notes))
    print(
        "CPU columns are cores used over the measured window (c = CPU-seconds per second); 'CPU s/100k' is the "
        "server's CPU-seconds per 100k spans;\n'busy' is the whole machine. Failures are listed below, "
        "never dropped."
    )
    e2e = [r for r in rows if r["workers"] > 0]
    raw_rows = [r for r in rows if r["workers"] == 0]
    if e2e and raw_rows and raw_rows[0]["spans_s"]:
        for r in e2e:
            print(
                f"ratio end-to-end (workers={r['workers']}) / raw receive+parse: "
                f"{r['spans_s'] / raw_rows[0]['spans_s']:.2f}"
            )
    if len(e2e) > 1:
        base = e2e[0]["spans_s"]
        print(
            "scaling: "
            + ", ".join(
                f"workers={r['workers']}: {r['spans_s']:,.0f} spans/s (x{r['spans_s'] / base:.2f})" for r in e2e
            )
        )
    per_process = [r["spans_s"] / r["workers"] for r in e2e]
    if per_process:
        print(f"goal: >= {GOAL_SPANS_S:,} spans/s per receiver process; measured {per_process[0]:,.0f} with 1 worker")
    for r in e2e:
        print(machine_ceiling(r, os.cpu_count() or 1))
    for r in rows:
        if r["failed"]:
            print(f"FAILED requests in '{r['name']}': {r['failed']}")
    print("database check:")
    for c in checks:
        print("  " + c)
    if profile_text:
        print(f"\nprofile of the workers=1 server ({args.profile}):\n{profile_text}")
    return 0 if all("MISMATCH" not in c for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
