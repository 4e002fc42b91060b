"""The pure alert decisions (otel_errors.alerting): rule validation, each condition at its edges, the shared spike
detector, address refusal, the signature and the backoff."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from otel_errors import alerting, analytics
from otel_errors.alerting import DEFAULT_RULES, ErrorFacts, RuleSpec
from otel_errors.classify import Category, Severity


def test_defaults_cover_every_kind_and_are_valid() -> None:
    assert sorted(rule.kind for rule in DEFAULT_RULES) == sorted(alerting.KINDS)
    spike = next(rule for rule in DEFAULT_RULES if rule.kind == "spike")
    assert (spike.window_minutes, spike.threshold, spike.min_count) == (5, 3.0, 10)
    rate = next(rule for rule in DEFAULT_RULES if rule.kind == "error_rate")
    assert rate.threshold == 5.0 and rate.min_count > 0


@pytest.mark.parametrize(
    "kind,fields,needle",
    [
        ("spike", {"threshold": 1.0, "min_count": 1}, "threshold"),
        ("spike", {"threshold": 3, "min_count": 1, "window_minutes": 30, "baseline_minutes": 60}, "baselineMinutes"),
        ("spike", {"threshold": 3, "min_count": 0}, "minCount"),
        ("error_rate", {"threshold": 100.0, "min_count": 1}, "threshold"),
        ("error_rate", {"threshold": 5.0, "min_count": 1, "environment": "prod"}, "agent only"),
        ("frequency", {"threshold": 0}, "threshold"),
        ("frequency", {"threshold": 5, "window_minutes": 200}, "windowMinutes"),
        ("new_error", {"renotify_minutes": -1}, "renotifyMinutes"),
    ],
)
def test_invalid_rules_are_refused_with_the_field_named(kind: str, fields: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        RuleSpec(kind, **fields)  # type: ignore[arg-type]


def _facts(**kw: object) -> ErrorFacts:
    base: dict[str, object] = {"severity": 2, "category": 1, "environment": "prod", "agent_id": "a", "status": "new"}
    return ErrorFacts(**{**base, **kw})  # type: ignore[arg-type]


def test_filters_and_statuses() -> None:
    rule = RuleSpec("new_error", min_severity=Severity.HIGH, environment="prod", category=Category.API, agent_id="a")
    assert alerting.matches(rule, _facts(severity=3))
    assert alerting.matches(rule, _facts(severity=4))
    assert not alerting.matches(rule, _facts(severity=2))  # below the minimum severity
    assert not alerting.matches(rule, _facts(severity=3, environment="staging"))
    assert not alerting.matches(rule, _facts(severity=3, agent_id="b"))
    assert not alerting.matches(rule, _facts(severity=3, category=2))
    assert not alerting.matches(rule, _facts(severity=4, status="ignored"))  # ignored errors never alert
    assert not alerting.matches(rule, _facts(severity=4, status="resolved"))
    assert alerting.matches(RuleSpec("new_error"), _facts(severity=1, status="acknowledged"))


def test_error_rate_fires_strictly_above_the_threshold_with_enough_executions() -> None:
    rule = RuleSpec("error_rate", threshold=5.0, min_count=20)
    assert not alerting.rate_firing(rule, 20, 1)  # exactly 5%
    assert alerting.rate_firing(rule, 20, 2)
    assert not alerting.rate_firing(rule, 19, 19)  # too few executions
    assert not alerting.rate_firing(rule, 0, 0)


def test_frequency_fires_above_occurrences_or_users() -> None:
    rule = RuleSpec("frequency", threshold=100, users=20)
    assert not alerting.frequency_firing(rule, 100, 20)
    assert alerting.frequency_firing(rule, 101, 0)
    assert alerting.frequency_firing(rule, 0, 21)
    assert not alerting.frequency_firing(RuleSpec("frequency", threshold=100), 5, 10**6)  # users not watched


def test_spike_edges_use_the_timelines_detector() -> None:
    rule = RuleSpec("spike", window_minutes=5, baseline_minutes=60, threshold=3.0, min_count=10)
    assert alerting.spike_buckets(rule) == 13
    quiet = [2] * 12
    assert alerting.spike_now(rule, [*quiet, 6]) is None  # 3x the baseline is not above it
    assert alerting.spike_now(rule, [*quiet, 7]) is None  # above 3x, under the minimum count
    assert alerting.spike_now(rule, [*quiet, 10]) == alerting.SpikeNow(12, 10, 10)
    assert alerting.spike_now(rule, [*quiet[:-1], 12, 10]) == alerting.SpikeNow(11, 10, 22)  # one spike, two windows
    assert alerting.spike_now(rule, [*quiet[:-1], 12, 2]) is None  # over: resolved, as the timeline says
    # One error at night (baseline 0, counted as 1) is no spike with a minimum count.
    assert alerting.spike_now(rule, [0] * 12 + [4]) is None
    # The timeline's call, with its defaults, is the same function: a spike there is resolved exactly when the
    # rule's condition has cleared.
    counts = [*quiet[:-1], 12, 2]
    assert analytics.spikes(counts)[-1].resolved


def test_refused_addresses() -> None:
    for address in (
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.0.5",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "224.0.0.1",
        "::",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
        "fec0::1",  # site-local
    ):
        assert alerting.refused_address(address) is not None, address
    for address in ("93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"):
        assert alerting.refused_address(address) is None, address


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert alerting.signature("whsec_k", 1700000000, body) == f"sha256={expected}"


def test_backoff_doubles_and_is_capped() -> None:
    assert [alerting.backoff_seconds(n, 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert alerting.backoff_seconds(30, 1.0) == 300.0
    assert alerting.retryable(None) and alerting.retryable(503) and alerting.retryable(429)
    assert not alerting.retryable(404) and not alerting.retryable(400)
