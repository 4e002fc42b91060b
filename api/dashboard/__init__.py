"""The error-tracking dashboard: server-rendered pages, static ES modules, and the two small reads they need.

The pages hold no data: the browser reads everything from the JSON API (`/api/v1/workspaces/{ws}/...`) with
the key kept in its session, so the dashboard sees exactly what the key may see.
"""

from ._install import install

__all__ = ["install"]
