"""The JSON API (FastAPI) and dashboard."""

from .app import create_app
from .config import ApiConfig

__all__ = ["ApiConfig", "create_app"]
