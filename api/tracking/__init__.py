"""The error-tracking object (docs/metrics.md): read from the rollups on up to three connections, then assembled
section by section (overview, categories, timeline, errors, top errors, correlations, recovery)."""

from ._assemble import error_tracking
from ._models import ErrorTracking

__all__ = ["ErrorTracking", "error_tracking"]
