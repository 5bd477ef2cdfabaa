"""HTTP surface: REST API under /v1, well-known documents, metrics, console."""

from agentgov.server.app import create_app
from agentgov.server.settings import ServerSettings

__all__ = ["ServerSettings", "create_app"]
