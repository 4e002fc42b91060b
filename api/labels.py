"""Stored small-integer enums <-> API labels (the core's enums are the source of truth)."""

from __future__ import annotations

from otel_errors import Category, Severity, Source
from otel_errors.batch import Origin

SEVERITY = {int(s): s.label for s in Severity}
CATEGORY = {int(c): c.label for c in Category}
SOURCE = {int(s): s.label for s in Source}
ORIGIN = {int(o): o.label for o in Origin}

SEVERITY_VALUE = {label: value for value, label in SEVERITY.items()}
CATEGORY_VALUE = {label: value for value, label in CATEGORY.items()}
SOURCE_VALUE = {label: value for value, label in SOURCE.items()}
