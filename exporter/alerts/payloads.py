"""Webhook bodies: a generic JSON document and a Slack-compatible message (docs/alerts.md, "Payloads")."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

_EMOJI = {"fired": ":rotating_light:", "renotified": ":bell:", "resolved": ":white_check_mark:"}


def error_link(base: str, workspace_id: str, error_id: uuid.UUID | None) -> str:
    """The dashboard page of the workspace, opened on the error when there is one."""
    page = f"{base.rstrip('/')}/workspaces/{urllib.parse.quote(workspace_id, safe='')}"
    return f"{page}?error={error_id}" if error_id is not None else page


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions: telemetry text must not make one.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body(format: str, alert: dict[str, Any], *, workspace_id: str, link: str) -> bytes:
    if format == "slack":
        event = str(alert["event"])
        title = _slack_escape(str(alert["title"]))[:300]
        rule = _slack_escape(str(alert.get("ruleName") or alert["kind"]))[:200]
        head = f"{_EMOJI.get(event, '')} [{workspace_id}] {event}: {title}".strip()
        detail = f"rule *{rule}* · severity {alert['severity']}"
        if alert.get("value") is not None:
            detail += f" · value {alert['value']:g} (threshold {alert['threshold']:g})"
        message = {
            "text": f"{head} <{link}|open>",
            "blocks": [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"*{head}*\n{detail}\n<{link}|Open in otel-errors>"},
                }
            ],
        }
        return json.dumps(message, separators=(",", ":")).encode()
    document = {"type": f"alert.{alert['event']}", "workspaceId": workspace_id, "link": link, "alert": alert}
    return json.dumps(document, separators=(",", ":"), default=str).encode()
