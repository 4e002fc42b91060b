"""The labels the built-in rules print (`[email]`, `[api_key]`, ...): extra patterns may not reuse them, and the
`key=value` rule keeps a value that already is one."""

from __future__ import annotations

BUILTIN_LABELS: tuple[str, ...] = (
    "redacted",
    "token",
    "jwt",
    "api_key",
    "aws_secret",
    "private_key",
    "password",
    "email",
    "card",
    "iban",
    "ssn",
    "phone",
    "ip",
)
