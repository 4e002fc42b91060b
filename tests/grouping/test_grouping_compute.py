"""compute_grouping: contract, rules, CLI, evaluation, and hypothesis properties."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_errors.cli import grouping as grouping_cli
from otel_errors.grouping import CONFIGS, DEFAULT_CONFIG, ExceptionInput, compute_grouping, parametrize_message
from otel_errors.grouping._evaluate import evaluate, load_rows, ours, score

FIXTURES = Path(__file__).parent / "fixtures"
HEX32 = re.compile(r"[0-9a-f]{32}")


def python_trace(prefix: str = "/srv/app", line: int = 10, func: str = "load", message: str = "user 42") -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "{prefix}/app/api.py", line {line + 7}, in handler\n    load()\n'
        f'  File "{prefix}/app/db.py", line {line}, in {func}\n    raise LookupError(x)\n'
        f"LookupError: {message}\n"
    )


def fp(exc_type: str = "LookupError", stacktrace: str = "", message: str = "", **attributes: object) -> str:
    return compute_grouping(ExceptionInput(exc_type, message, stacktrace, attributes)).fingerprint


def test_result_contract() -> None:
    res = compute_grouping(ExceptionInput("ValueError", "bad id 42", python_trace()), DEFAULT_CONFIG)
    assert HEX32.fullmatch(res.fingerprint) and res.config_id == DEFAULT_CONFIG.config_id
    assert res.title == "ValueError: bad id <int>"
    assert res.culprit == "app/app/db.py in load"
    assert res.component is not None and res.component.to_dict()["id"] == "v1"


def test_bare_and_qualified_types_match() -> None:
    assert fp("JSONDecodeError", python_trace()) == fp("json.decoder.JSONDecodeError", python_trace())
    java = "X\n\tat com.acme.A.run(A.java:1)\n"
    assert fp("IllegalStateException", java) == fp("java.lang.IllegalStateException", java)


def test_override_attribute() -> None:
    assert fp(stacktrace=python_trace(), **{"error.fingerprint": "checkout-timeout"}) == fp(
        "Other", **{"error.fingerprint": "checkout-timeout"}
    )
    assert fp(**{"error.fingerprint": "A" * 32}) == "a" * 32


def test_shared_call_site_generic_type_splits_on_kind() -> None:
    trace = python_trace(func="call_llm")
    rate = fp("openai.APIStatusError", trace, "Rate limit reached", **{"http.response.status_code": 429})
    auth = fp("openai.APIStatusError", trace, "Invalid API key", **{"http.response.status_code": 401})
    rate_again = fp(
        "openai.APIStatusError", trace, "Rate limit reached for org 7", **{"http.response.status_code": 429}
    )
    assert rate != auth and rate == rate_again
    assert fp("APIError", trace, "context length 9000 exceeds 8192") != fp("APIError", trace, "server overloaded")
    assert fp("APIError", trace, "context length 9000 exceeds 8192") == fp(
        "APIError", trace, "context length 12 exceeds 4"
    )


def test_specific_type_ignores_message_when_frames_exist() -> None:
    assert fp(stacktrace=python_trace(), message="a") == fp(stacktrace=python_trace(), message="totally different")


def test_no_frames_falls_back_to_parametrized_message() -> None:
    assert fp("KeyError", "", "'user_1' at 10.0.0.1") == fp("KeyError", "", "'user_2' at 10.0.0.9")
    assert fp("KeyError", "", "missing key") != fp("KeyError", "", "timeout")


def test_seed_config_is_registered_and_differs() -> None:
    assert set(CONFIGS) >= {"v0", "v1"}
    exc = ExceptionInput("ValueError", "x", python_trace())
    assert compute_grouping(exc, CONFIGS["v0"]).config_id == "v0"
    assert compute_grouping(exc, CONFIGS["v0"]).fingerprint != compute_grouping(exc).fingerprint


def test_never_raises_on_odd_input() -> None:
    for exc in (ExceptionInput(), ExceptionInput(None, None, None, None), ExceptionInput("\x00", "\udcff", "#0 (((")):  # type: ignore[arg-type]
        assert HEX32.fullmatch(compute_grouping(exc).fingerprint)


def test_message_patterns() -> None:
    assert parametrize_message("user 550e8400-e29b-41d4-a716-446655440000 from 10.1.2.3 at 2024-01-02T03:04:05Z") == (
        "user <uuid> from <ip> at <timestamp>"
    )
    assert (
        parametrize_message("GET https://x.io/a?b=1 took 350ms, mail bob@x.org")
        == "GET <url> took <duration>, mail <email>"
    )


def test_cli_fingerprint_lines_in_order() -> None:
    lines = [json.dumps({"type": "ValueError", "stacktrace": python_trace()}), "{not json", "{}"]
    out = io.StringIO()
    assert grouping_cli.run_fingerprint(argparse.Namespace(config="v1"), io.StringIO("\n".join(lines)), out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 3 and HEX32.fullmatch(rows[0]["fingerprint"]) and "error" in rows[1]
    assert set(rows[2]) == {"fingerprint", "title", "culprit"}


def test_cli_registers_commands() -> None:
    parser = argparse.ArgumentParser()
    grouping_cli.add_commands(parser.add_subparsers())
    args = parser.parse_args(["eval-grouping", str(FIXTURES / "labeled")])
    out = io.StringIO()
    assert grouping_cli.run_eval(args, out) == 0
    assert "defects4j_sample" in out.getvalue() and "seed (v0)" in out.getvalue()


def test_eval_scores_beat_seed_on_samples() -> None:
    sets = load_rows([FIXTURES / "labeled"])
    for rows in sets.values():
        assert evaluate(rows, ours()).adjusted_rand > 0.3


def test_score_perfect_and_singletons() -> None:
    perfect = score(["a", "a", "b"], ["x", "x", "y"])
    assert perfect.bcubed_f1 == 1.0 and perfect.adjusted_rand == 1.0
    alone = score(["a", "a", "b"], ["1", "2", "3"])
    assert alone.bcubed_precision == 1.0 and alone.groups_made == 3


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 5000))
def test_property_line_numbers_do_not_matter(a: int, b: int) -> None:
    assert fp(stacktrace=python_trace(line=a)) == fp(stacktrace=python_trace(line=b))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**9), st.uuids(), st.integers(0, 10**9))
def test_property_ids_in_messages_do_not_matter(n: int, uid: object, m: int) -> None:
    assert fp("KeyError", "", f"user {n} ({uid}) missing") == fp(
        "KeyError", "", f"user {m} (00000000-0000-0000-0000-000000000000) missing"
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(segment, min_size=0, max_size=4), st.integers(2020_01_01, 2030_12_31))
def test_property_deploy_prefix_does_not_matter(parts: list[str], release: int) -> None:
    prefix = "/" + "/".join([*parts, "releases", str(release)])
    assert fp(stacktrace=python_trace(prefix=prefix)) == fp(stacktrace=python_trace(prefix="/srv"))


@settings(max_examples=60, deadline=None)
@given(segment, segment)
def test_property_different_call_sites_differ(f1: str, f2: str) -> None:
    if f1 != f2:
        assert fp(stacktrace=python_trace(func=f1)) != fp(stacktrace=python_trace(func=f2))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["KeyError", "TypeError", "ZeroDivisionError"]), st.sampled_from(["IndexError", "OSError"]))
def test_property_different_types_differ(t1: str, t2: str) -> None:
    assert fp(t1, python_trace()) != fp(t2, python_trace())
