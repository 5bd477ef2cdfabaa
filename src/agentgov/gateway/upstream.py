"""The upstream MCP server behind the gateway: how to reach it, its stable name, and the SDK client
session over it.

An :class:`Upstream` is a name (the identity its tool pins are kept under, and the server that
grants and policies name) and a transport factory: a spawned command over stdio, a streamable HTTP
URL, or (in tests) an in-process server. Without a name given, it is derived from the command line or
the URL, in the alphabet of server names: what that cannot hold becomes ``_`` and a digest of the
whole is added, so that two commands never share a name. Failures to
reach it are translated here (STYLE 3): callers see Unavailable, never OSError or httpx errors.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shlex
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client import Transport
from mcp.client.session import MessageHandlerFnT
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import Implementation, InitializeResult

import agentgov
from agentgov.errors import InvalidInput, Unavailable
from agentgov.gateway.relay import UpstreamLink
from agentgov.gateway.settings import GatewaySettings
from agentgov.gateway.spawn import spawned
from agentgov.gateway.wire import StreamWire, Wire
from agentgov.policy.model import SERVER_NAME_PATTERN

__all__ = ["CLIENT_INFO", "Upstream", "connect", "http_upstream", "stdio_upstream"]

logger = logging.getLogger(__name__)

CLIENT_INFO = Implementation(name="agentgov-gateway", version=agentgov.__version__)
_MAX_NAME = 200  # longer derived names are cut and suffixed with a digest of the whole (column is 256)
_SERVER_NAME = re.compile(SERVER_NAME_PATTERN)
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.\-/:@]+")


@dataclass(frozen=True)
class Upstream:
    """``open`` gives the SDK's streams to the server; ``wire``, when set, its wire directly (the
    spawned stdio server: lines of JSON, no SDK transport task in between), given the longest line."""

    name: str
    open: Callable[[], Transport]
    description: str = ""
    wire: Callable[[int], AbstractAsyncContextManager[Wire]] | None = None

    def __post_init__(self) -> None:
        if not _SERVER_NAME.match(self.name):
            raise InvalidInput(
                f"the upstream name {self.name[:100]!r} is not a server name grants and policies can use: "
                "1 to 256 letters, digits and _ . - / : @, starting with a letter, digit or _",
                field="server_name",
            )


def _derived(text: str) -> str:
    """A server name for a command line or URL: itself when it is one, else what the alphabet of
    server names can hold (the rest as ``_``) and a digest of the whole."""
    if len(text) <= _MAX_NAME and _SERVER_NAME.match(text):
        return text
    kept = _NOT_IN_NAME.sub("_", text).lstrip(".-/:@")[: _MAX_NAME - 17] or "upstream"
    return f"{kept}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def stdio_upstream(
    command: Sequence[str],
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Upstream:
    """The server spawned by ``command``; named by the command line unless ``name`` is given."""
    if not command:
        raise InvalidInput("no upstream command given", field="command")
    params = StdioServerParameters(
        command=command[0], args=list(command[1:]), env=dict(env or {}) or None, cwd=cwd
    )
    line = shlex.join(command)

    def wire(max_line_bytes: int) -> AbstractAsyncContextManager[Wire]:
        return spawned(command, env=env, cwd=cwd, max_line_bytes=max_line_bytes)

    return Upstream(name or _derived(line), lambda: stdio_client(params), line, wire)


def http_upstream(url: str, *, name: str | None = None) -> Upstream:
    """The streamable HTTP server at ``url``; named by its host, port and path unless ``name`` is given."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not an http(s) URL: {url!r}", field="upstream")
    derived = f"{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path.rstrip('/')}"
    # The URL's query and userinfo are left out of the name: they may hold credentials.
    return Upstream(name or _derived(derived), lambda: streamable_http_client(url), derived)


def _max_line_bytes(settings: GatewaySettings) -> int:
    """The longest message read from a spawned upstream (16 MiB by default): a result over
    ``max_result_bytes`` is refused with its size named, up to this; past it the call fails at once."""
    return 4 * settings.max_result_bytes


@asynccontextmanager
async def connect(
    upstream: Upstream, settings: GatewaySettings, on_message: MessageHandlerFnT | None = None
) -> AsyncIterator[tuple[ClientSession, UpstreamLink, InitializeResult]]:
    """An initialised SDK client session to ``upstream`` (the initialize handshake) and the link it runs
    over, which the gateway's tool calls use directly; closed on exit."""
    async with AsyncExitStack() as stack:
        try:
            if upstream.wire is not None:
                wire = await stack.enter_async_context(upstream.wire(_max_line_bytes(settings)))
            else:
                wire = StreamWire(*await stack.enter_async_context(upstream.open()))
            link = UpstreamLink(wire, upstream.name)
            read, write = await stack.enter_async_context(link.session_streams())
            session = await stack.enter_async_context(
                ClientSession(
                    read,
                    write,
                    read_timeout_seconds=settings.upstream_call_timeout_s,
                    message_handler=on_message,
                    client_info=CLIENT_INFO,
                )
            )
            with anyio.fail_after(settings.upstream_connect_timeout_s):
                init = await session.initialize()
        except (OSError, MCPError, TimeoutError, RuntimeError, ValueError) as exc:
            raise Unavailable(f"upstream {upstream.name!r} did not start: {exc}") from exc
        yield session, link, init
