"""Alerts: rules, evaluation beside the write path, incidents, webhook delivery and the live stream's fan-out
(docs/alerts.md). The decisions are pure (`otel_errors.alerting`); this package reads and writes PostgreSQL."""

from .config import AlertsConfig
from .delivery import WebhookSender
from .evaluator import AlertEvaluator
from .stream import StreamHub, Subscription, TooManySubscribers

__all__ = ["AlertEvaluator", "AlertsConfig", "StreamHub", "Subscription", "TooManySubscribers", "WebhookSender"]
