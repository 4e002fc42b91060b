"""Configuration: validation, JSON round-trip and every switch changes behaviour."""

from __future__ import annotations

import statistics
import time

import pytest

from otel_errors.scrub import DEFAULT_SENSITIVE_KEYS, Scrubber, ScrubConfig, builtin_rule_names


def test_defaults_and_rule_order() -> None:
    assert ScrubConfig().enabled and ScrubConfig().scrub_ips
    assert "password" in DEFAULT_SENSITIVE_KEYS
    names = Scrubber().rule_names
    assert names == builtin_rule_names()
    assert names.index("url_password") < names.index("email")
    assert names.index("bearer") < names.index("jwt")


def test_disabled_is_identity() -> None:
    s = Scrubber(ScrubConfig(enabled=False))
    assert s.text("bob@example.com") == "bob@example.com"
    assert s.attributes({"password": "x"}) == {"password": "x"}


def test_scrub_ips_false_keeps_addresses() -> None:
    s = Scrubber(ScrubConfig(scrub_ips=False))
    assert s.text("from 10.1.2.3 and fe80::1 by bob@example.com") == "from 10.1.2.3 and fe80::1 by [email]"
    assert "ipv4" not in s.rule_names


def test_allow_keys() -> None:
    s = Scrubber(ScrubConfig(allow_keys=("session.id", "client.address")))
    out = s.attributes({"session.id": "abc", "client.address": "10.0.0.1", "session.token": "t"})
    assert out == {"session.id": "abc", "client.address": "10.0.0.1", "session.token": "[redacted]"}


def test_extra_patterns() -> None:
    s = Scrubber(ScrubConfig(extra_patterns=(("tenant", r"tnt_[0-9a-f]{8}"),)))
    assert s.text("tenant tnt_deadbeef failed for bob@example.com") == "tenant [tenant] failed for [email]"
    assert s.rule_names[-1] == "tenant"


def test_sensitive_keys_override() -> None:
    s = Scrubber(ScrubConfig(sensitive_keys=(*DEFAULT_SENSITIVE_KEYS, "pin")))
    assert s.attributes({"card.pin": 1234, "pinned": "yes"}) == {"card.pin": "[redacted]", "pinned": "yes"}
    assert s.text("pin=1234") == "pin=[redacted]"


def test_max_value_length_cuts_attributes_after_scrubbing() -> None:
    s = Scrubber(ScrubConfig(max_value_length=20))
    out = s.attributes({"msg": "x" * 15 + " bob@example.com " + "y" * 100})
    assert out["msg"] == ("x" * 15 + " [email]")[:20] + "...[truncated]"
    assert s.text("z" * 100) == "z" * 100  # text() is not truncated


def test_from_dict_round_trip() -> None:
    cfg = ScrubConfig.from_dict(
        {
            "scrub_ips": False,
            "extra_patterns": {"ticket": r"TCK-\d+"},
            "allow_keys": ["user.id"],
            "max_value_length": 64,
        }
    )
    assert cfg.extra_patterns == (("ticket", r"TCK-\d+"),)
    assert cfg.allow_keys == ("user.id",)
    assert ScrubConfig.from_dict(cfg.to_dict()) == cfg
    hash(cfg)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scrub_emails": True}, "unknown scrub setting"),
        ({"enabled": "yes"}, "enabled must be a bool"),
        ({"allow_keys": "user.id"}, "allow_keys must be a list"),
        ({"sensitive_keys": []}, "must not be empty"),
        ({"sensitive_keys": ["--"]}, "no letters"),
        ({"extra_patterns": [["Bad Name", "x"]]}, "must match"),
        ({"extra_patterns": [["email", "x"]]}, "reserved"),
        ({"extra_patterns": [["x", "("]]}, "not a valid regex"),
        ({"extra_patterns": [["x", "a*"]]}, "empty string"),
        ({"extra_patterns": [["x", r"\w+"]]}, "its own replacement"),
        ({"max_value_length": 3}, "max_value_length"),
        ({"max_value_length": True}, "max_value_length"),
    ],
)
def test_from_dict_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScrubConfig.from_dict(data)


def test_from_dict_rejects_non_mapping() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        ScrubConfig.from_dict(["enabled"])  # type: ignore[arg-type]


def test_clean_trace_is_fast() -> None:
    """Guards the gate design (README budget 25 µs); the bound is loose so slow CI machines pass."""
    frame = (
        '  File "/usr/lib/python3.11/site-packages/requests/sessions.py", line {}, in send\n'
        "    r = adapter.send(request, **kwargs)\n"
    )
    traces = [
        "Traceback (most recent call last):\n" + "".join(frame.format(i + j) for j in range(18)) for i in range(300)
    ]
    s = Scrubber(memo_size=0)
    assert s.text(traces[0]) == traces[0]
    times = []
    for t in traces:
        t0 = time.perf_counter()
        s.text(t)
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 250e-6
