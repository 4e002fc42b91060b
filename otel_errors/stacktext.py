"""Where an exception's message sits in its stack trace text.

Runtimes print the message in the trace's header line (`ValueError: <message>`), and messages carry ids, so the
trace with the message cut out repeats across the occurrences of one bug. Scrubbing (a memo of clean templates)
and the store (stack traces kept once per template) both cut it out at the same, exact place.
"""

from __future__ import annotations

__all__ = ["header_message_at"]


def header_message_at(message: str, stacktrace: str) -> int:
    """The index of `message` in `stacktrace` when it appears there exactly once, right after `": "` and ending
    its line (or the text); else -1. Text cut there cannot be straddled by a contiguous pattern that contains no
    `": "` and no line break."""
    if not message:
        return -1
    at = stacktrace.find(message)
    end = at + len(message)
    if at < 2 or stacktrace[at - 2:at] != ": " or stacktrace.find(message, at + 1) >= 0 \
            or stacktrace[end:end + 1] not in ("", "\n", "\r"):
        return -1
    return at
