"""The gateway over stdio: one downstream client on the gateway's own stdin and stdout, one upstream.

``agentgov gateway stdio -- <server command>`` runs :func:`serve_stdio`, its stdin and stdout read and
written by the event loop as lines of JSON (:mod:`agentgov.gateway.pipes`); tests run
:func:`serve_streams` over the SDK's in-memory streams. Either way the client's messages go through
the :class:`~agentgov.gateway.relay.Relay`. The gateway session (upstream connection and guard session) opens
before the first message is read, so that a gateway that cannot reach its upstream or its guard stops
at once with the reason on stderr; it closes when the client closes its end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage

from agentgov.core.clock import Clock
from agentgov.gateway.pin_store import PinStore
from agentgov.gateway.pipes import stdio_wire
from agentgov.gateway.port import Gate
from agentgov.gateway.relay import Relay
from agentgov.gateway.server import Context, build_server
from agentgov.gateway.session import GatewaySession, Identity, open_session
from agentgov.gateway.settings import GatewaySettings
from agentgov.gateway.upstream import Upstream
from agentgov.gateway.wire import StreamWire, Wire

__all__ = ["serve_session", "serve_stdio", "serve_streams"]


async def serve_session(session: GatewaySession, wire: Wire) -> None:
    """Serve one downstream client over ``wire`` until it closes its end (see :mod:`.relay`)."""

    @asynccontextmanager
    async def scope(_ctx: Context) -> AsyncIterator[GatewaySession]:
        yield session

    server, options = build_server(session.info, scope, session.settings)
    await Relay(session, wire, tools=session.info.capabilities.tools is not None).serve(server, options)


async def serve_streams(
    read: ReadStream[SessionMessage | Exception],
    write: WriteStream[SessionMessage],
    upstream: Upstream,
    *,
    gate: Gate,
    identity: Identity,
    store: PinStore,
    settings: GatewaySettings,
    clock: Clock | None = None,
) -> None:
    async with open_session(
        upstream, gate=gate, identity=identity, store=store, settings=settings, clock=clock
    ) as session:
        await serve_session(session, StreamWire(read, write))


async def serve_stdio(
    upstream: Upstream,
    *,
    gate: Gate,
    identity: Identity,
    store: PinStore,
    settings: GatewaySettings,
    clock: Clock | None = None,
) -> None:
    """Serve the client on this process's stdin and stdout (nothing else may write to stdout)."""
    async with (
        open_session(
            upstream, gate=gate, identity=identity, store=store, settings=settings, clock=clock
        ) as session,
        stdio_wire(settings.max_request_bytes) as wire,
    ):
        await serve_session(session, wire)
