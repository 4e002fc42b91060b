"""A small AI "agent" that reports its errors to otel-errors with nothing but the OpenTelemetry SDK.

Each execution is an `invoke_agent` span holding an LLM call (`chat <model>`), a research step
(`agent_step research`) and one to three tool calls (`execute_tool <tool>`), then a best-effort notification.
Some of them fail with real exceptions raised by real code:

- escaped: the exception leaves the execution, which fails. The SDK records it on every span it passes through;
  otel-errors counts it once, at the innermost span.
- logged: the tool catches it, logs it with `logger.exception(...)` (a log record carrying `exception.*`) and
  the execution carries on.
- retried: a rate-limited LLM call is tried again (up to 3 attempts, each its own span): a retry, or a failed
  recovery when every attempt fails.
- fallback: a search that times out falls back to the cached index (another tool) when it has the query.
- cascade: without the cache, the timeout fails the research step (AgentStepError) and that fails the run
  (RunFailedError): one chain whose root is the timeout.
- handled: the notification tool's ConnectionError fails its span, the agent ignores it and the run ends OK.

Run `otel-errors serve` (or `make run`), then:  python examples/python_agent.py [--protocol http]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Tracer

MODEL = "gpt-4o-mini"
USERS = ["user-ada", "user-grace", "user-linus", "user-margaret"]
AGENTS = {"support-agent": "Support", "billing-agent": "Billing"}
ORDERS = {"ord-1001": 42.0, "ord-1002": 17.5, "ord-1003": 99.9}
SEARCH_BUDGET_MS = 800
CHAT_ATTEMPTS = 3

logger = logging.getLogger("python_agent")
recorded: Counter[str] = Counter()  # exceptions by type, each counted once: what otel-errors should store
recoveries: Counter[str] = Counter()  # episodes by how they ended: retry, fallback, handled, failed


class AgentStepError(Exception):
    """A step of the agent's plan could not be completed."""


class RunFailedError(Exception):
    """The agent gave up on the user's request."""


class RateLimitError(Exception):
    """What an LLM provider's client library raises on HTTP 429."""


def chat_with_retries(llm: LLMClient, prompt: str) -> str:
    for attempt in range(1, CHAT_ATTEMPTS + 1):
        try:
            answer = llm.chat(prompt)
        except RateLimitError:
            recorded["RateLimitError"] += 1
            if attempt == CHAT_ATTEMPTS:
                recoveries["failed"] += 1
                raise  # escapes the execution: the same exception, counted once
            continue
        if attempt > 1:
            recoveries["retry"] += 1
        return answer
    raise AssertionError("unreachable")


class LLMClient:
    """A stand-in for a provider SDK: the transport is simulated, the error handling is the real shape."""

    def __init__(self, tracer: Tracer, rng: random.Random) -> None:
        self.tracer, self.rng = tracer, rng

    def chat(self, prompt: str) -> str:
        with self.tracer.start_as_current_span(
            f"chat {MODEL}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": MODEL,
            },
        ) as span:
            status, body = self._post(prompt)
            if status == 429:
                raise RateLimitError(
                    f"Rate limit reached for {MODEL}: limit {body['limit']} tokens/min, "
                    f"retry after {body['retry_after']}s (request {body['request_id']})"
                )
            span.set_attribute("gen_ai.usage.input_tokens", len(prompt.split()))
            span.set_attribute("gen_ai.usage.output_tokens", body["tokens"])
            return str(body["text"])

    def _post(self, prompt: str) -> tuple[int, dict[str, Any]]:
        if self.rng.random() < 0.3:
            return 429, {
                "limit": self.rng.choice([30_000, 60_000]),
                "retry_after": self.rng.randint(1, 30),
                "request_id": f"req_{self.rng.getrandbits(48):012x}",
            }
        return 200, {"text": f"plan for: {prompt}", "tokens": self.rng.randint(20, 400)}


# -- tools: plain functions; the failures below are ordinary Python errors --------------------------------------


def lookup_order(order_id: str) -> float:
    return ORDERS[order_id]  # KeyError for an unknown order: escapes and fails the execution


def parse_amount(text: str) -> float:
    try:
        return float(text)  # ValueError for "1,234.50": handled, the agent goes on without the amount
    except ValueError:
        logger.exception("could not parse amount %r, continuing without it", text)
        recorded["ValueError"] += 1
        return 0.0


def web_search(query: str, rng: random.Random) -> list[str]:
    latency_ms = rng.randint(100, 1200)  # simulated backend latency
    if latency_ms > SEARCH_BUDGET_MS:
        raise TimeoutError(
            f"search backend did not answer within {SEARCH_BUDGET_MS} ms "
            f"(took {latency_ms} ms, query id q-{rng.randint(1000, 9999)})"
        )
    return [f"result for {query}"]


CACHED = {"refund policy"}  # what the cached index holds


def cached_search(query: str) -> list[str]:
    return [f"cached result for {query}"]


def notify_user(user_id: str, rng: random.Random) -> None:
    if rng.random() < 0.2:
        raise ConnectionError(f"notification service refused the connection for {user_id}")


def research(tracer: Tracer, rng: random.Random, query: str) -> list[str]:
    """Search, else the cached index (a fallback); without either the step fails, caused by the timeout."""
    with tracer.start_as_current_span("agent_step research", attributes={"gen_ai.operation.name": "agent_step"}):
        try:
            return list(call_tool(tracer, "web_search", web_search, query, rng))
        except TimeoutError as timeout:
            recorded["TimeoutError"] += 1
            if query in CACHED:
                recoveries["fallback"] += 1
                return list(call_tool(tracer, "cached_search", cached_search, query))
            recorded["AgentStepError"] += 1
            raise AgentStepError(f"research step failed: no answer for {query!r}: {timeout}") from timeout


def call_tool(tracer: Tracer, name: str, call: Callable[..., Any], *args: Any) -> Any:
    with tracer.start_as_current_span(
        f"execute_tool {name}", attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
    ):
        return call(*args)


def run_execution(tracer: Tracer, llm: LLMClient, rng: random.Random, agent_id: str, user_id: str) -> None:
    with tracer.start_as_current_span(
        f"invoke_agent {AGENTS[agent_id]}",
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.id": agent_id,
            "gen_ai.agent.name": AGENTS[agent_id],
            "user.id": user_id,
            "credits.used": round(rng.uniform(0.5, 5.0), 2),
        },
    ):
        chat_with_retries(llm, f"help {user_id} with their order")
        try:
            research(tracer, rng, rng.choice(["refund policy", "shipping times"]))
        except AgentStepError as step_failed:
            recorded["RunFailedError"] += 1
            raise RunFailedError(f"could not help {user_id}: {step_failed}") from step_failed
        # Inputs the model "chose": some are bad on purpose (an unknown order, a thousands separator).
        order_id = rng.choice([*ORDERS, f"ord-{rng.randint(2000, 9999)}"])
        amount = rng.choice(["12.50", "7", f"{rng.randint(1, 9)},{rng.randint(100, 999)}.50"])
        tools: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
            ("lookup_order", lookup_order, (order_id,)),
            ("parse_amount", parse_amount, (amount,)),
        ]
        for name, call, args in rng.sample(tools, rng.randint(1, 2)):
            call_tool(tracer, name, call, *args)
        try:  # best effort, last: its failure is handled (nothing retries it and the execution ends OK)
            call_tool(tracer, "notify_user", notify_user, user_id, rng)
        except ConnectionError:
            recorded["ConnectionError"] += 1
            recoveries["handled"] += 1


def setup(protocol: str, endpoint: str | None, resource: Resource) -> tuple[TracerProvider, LoggerProvider]:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        base = endpoint or "localhost:4317"
        span_exporter, log_exporter = OTLPSpanExporter(base, insecure=True), OTLPLogExporter(base, insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # type: ignore[assignment]
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]

        base = (endpoint or "http://localhost:4318").rstrip("/")
        span_exporter = OTLPSpanExporter(f"{base}/v1/traces")
        log_exporter = OTLPLogExporter(f"{base}/v1/logs")
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    # Records at ERROR and above go out as OTLP logs; with exc_info they carry exception.type/message/stacktrace.
    logger.addHandler(LoggingHandler(level=logging.ERROR, logger_provider=logger_provider))
    return tracer_provider, logger_provider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", choices=["grpc", "http"], default="grpc")
    parser.add_argument("--endpoint", help="default localhost:4317 (grpc) or http://localhost:4318 (http)")
    parser.add_argument("--executions", type=int, default=20)
    parser.add_argument("--workspace", help="resource attribute workspace.id (default: the server's default)")
    parser.add_argument("--seed", type=int, help="make the run reproducible")
    parser.add_argument("--json-summary", action="store_true", help="print the summary as one JSON object")
    options = parser.parse_args()

    attributes = {
        "service.name": "python-agent-example",
        "service.version": "1.4.2",
        "deployment.environment.name": "development",
    }
    if options.workspace:
        attributes["workspace.id"] = options.workspace
    tracer_provider, logger_provider = setup(options.protocol, options.endpoint, Resource.create(attributes))
    tracer = tracer_provider.get_tracer("python_agent")
    rng = random.Random(options.seed)
    llm = LLMClient(tracer, rng)

    failed = 0
    for _ in range(options.executions):
        try:
            run_execution(tracer, llm, rng, rng.choice(list(AGENTS)), rng.choice(USERS))
        except Exception as exc:  # noqa: BLE001 - the agent's own failures, counted
            # Already recorded on the spans it escaped (the SDK's record_exception): logging it again here
            # would only add a duplicate record, so just count it (those counted where raised already are).
            failed += 1
            if not isinstance(exc, RateLimitError | RunFailedError):
                recorded[type(exc).__name__] += 1
        time.sleep(0.01)

    # Without a flush the batch processors may drop whatever is still queued when the process exits.
    tracer_provider.force_flush()
    logger_provider.force_flush()
    tracer_provider.shutdown()
    logger_provider.shutdown()

    summary = {
        "executions": options.executions,
        "failed": failed,
        "exceptions": sum(recorded.values()),
        "by_type": dict(recorded),
        "recoveries": dict(recoveries),
    }
    if options.json_summary:
        print(json.dumps(summary))
    else:
        print(
            f"ran {options.executions} executions: {failed} failed, {summary['exceptions']} exceptions "
            f"raised and recorded ({', '.join(f'{k} {v}' for k, v in sorted(recorded.items()))}); "
            f"recoveries: {', '.join(f'{k} {v}' for k, v in sorted(recoveries.items())) or 'none'}"
        )


if __name__ == "__main__":
    main()
