"""Running the gateway in process for tests: an upstream over the SDK's in-memory streams, and an SDK
client session connected to the gateway over another pair."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import uvicorn
from mcp import ClientSession
from mcp.client.session import ElicitationFnT, MessageHandlerFnT
from mcp.shared.memory import create_client_server_memory_streams
from starlette.types import ASGIApp

from agentgov.gateway import GatewaySettings, Identity, MemoryPinStore, PinStore, Upstream, serve_streams
from agentgov.gateway.port import Gate
from tests.gateway.servers import ToyServer

__all__ = ["BOUND_S", "IDENTITY", "memory_upstream", "serving", "through_gateway"]

BOUND_S = 15.0  # every wait in these tests is bounded by this
IDENTITY = Identity(agent_id="agent-assistant", user_id="alice", task="tidy the inbox")


def memory_upstream(toy: ToyServer, name: str = "toy") -> Upstream:
    @asynccontextmanager
    async def transport() -> AsyncIterator[Any]:
        async with (
            create_client_server_memory_streams() as (client_side, server_side),
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(toy.server.run, server_side[0], server_side[1], toy.options())
            try:
                yield client_side
            finally:
                tg.cancel_scope.cancel()

    return Upstream(name, transport, "in-process toy")


@asynccontextmanager
async def through_gateway(
    upstream: Upstream,
    gate: Gate,
    *,
    store: PinStore | None = None,
    settings: GatewaySettings | None = None,
    elicitation_callback: ElicitationFnT | None = None,
    message_handler: MessageHandlerFnT | None = None,
    initialize: bool = True,
    identity: Identity = IDENTITY,
) -> AsyncIterator[ClientSession]:
    """An initialised SDK client session whose server is the gateway in front of ``upstream``."""
    serve = partial(
        serve_streams,
        upstream=upstream,
        gate=gate,
        identity=identity,
        store=store if store is not None else MemoryPinStore(),
        settings=settings or GatewaySettings(ask_wait_s=0.0),
    )
    async with (
        create_client_server_memory_streams() as (client_side, gateway_side),
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(partial(serve, gateway_side[0], gateway_side[1]))
        with anyio.fail_after(BOUND_S):
            async with ClientSession(
                client_side[0],
                client_side[1],
                elicitation_callback=elicitation_callback,
                message_handler=message_handler,
            ) as client:
                if initialize:
                    await client.initialize()
                yield client
            await client_side[1].aclose()  # end of input: the gateway closes its session and stops


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """``app`` served by uvicorn in this event loop on a free loopback port; yields its base URL.

    The socket listens before the server starts, so a client may connect at once (it waits in the
    backlog until uvicorn accepts): no readiness polling.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(server.serve, sockets=[sock]))
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
    finally:
        sock.close()
