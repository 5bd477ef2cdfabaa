"""The MCP gateway (Art. 8, 9, 10): a proxy between an MCP client and one upstream MCP server that pins
the upstream's tools and puts every tool call through the guard.

Transports: stdio (:func:`serve_stdio`, the client on the gateway's stdin/stdout, the upstream spawned)
and streamable HTTP (:func:`http_app`). The guard is reached through the :class:`Gate` port.
"""

from agentgov.gateway.catalog import TOOL_CHANGE
from agentgov.gateway.http import SessionPool, http_app, probe
from agentgov.gateway.pin_store import FIRST_USE, MemoryPinStore, PinRecord, PinStore, SqlPinStore
from agentgov.gateway.pins import Pin, PinReport, ToolChange, review, tool_definition, tool_digest
from agentgov.gateway.port import CallVerdict, Gate, ResultVerdict
from agentgov.gateway.session import GatewaySession, Identity, open_session
from agentgov.gateway.settings import GatewaySettings
from agentgov.gateway.stdio import serve_session, serve_stdio, serve_streams
from agentgov.gateway.upstream import Upstream, http_upstream, stdio_upstream

__all__ = [
    "FIRST_USE",
    "TOOL_CHANGE",
    "CallVerdict",
    "Gate",
    "GatewaySession",
    "GatewaySettings",
    "Identity",
    "MemoryPinStore",
    "Pin",
    "PinRecord",
    "PinReport",
    "PinStore",
    "ResultVerdict",
    "SessionPool",
    "SqlPinStore",
    "ToolChange",
    "Upstream",
    "http_app",
    "http_upstream",
    "open_session",
    "probe",
    "review",
    "serve_session",
    "serve_stdio",
    "serve_streams",
    "stdio_upstream",
    "tool_definition",
    "tool_digest",
]
