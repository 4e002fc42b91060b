"""otel-errors: error tracking for AI-agent platforms, built on OpenTelemetry.

This package is the pure core (no I/O): OTLP exports in, fingerprinted and classified error events out. The
receiver, exporter (store), API and command line install beside it as `otel_errors.receiver`,
`otel_errors.exporter`, `otel_errors.api` and `otel_errors.cli`; they depend on the core, never the reverse.
"""

from .classify import Category, Severity, Source
from .config import ProcessorConfig, WorkspaceRules
from .processor import TRUNCATION_MARKER, Processor

__all__ = ["TRUNCATION_MARKER", "Category", "Processor", "ProcessorConfig", "Severity", "Source", "WorkspaceRules"]
__version__ = "0.1.0"
