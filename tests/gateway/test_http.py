"""The streamable HTTP gateway, served by uvicorn in process, in front of an upstream served the same
way: the official SDK client (the high-level ``Client``, which probes ``server/discover`` first and
falls back to the handshake), approvals by elicitation over HTTP, and sessions closed on DELETE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client, ClientSession
from mcp.client import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData, TextContent

from agentgov.gateway import GatewaySettings, MemoryPinStore, SessionPool, http_app, http_upstream, probe
from agentgov.gateway.testing import ScriptedGate
from tests.gateway.harness import BOUND_S, IDENTITY, serving
from tests.gateway.servers import ToyServer

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def http_gateway(toy: ToyServer, gate: ScriptedGate) -> AsyncIterator[tuple[str, SessionPool]]:
    """The toy over HTTP, and the gateway over HTTP in front of it; yields the gateway's MCP URL."""
    settings = GatewaySettings(ask_wait_s=0)
    async with serving(toy.server.streamable_http_app(host="127.0.0.1")) as toy_url:
        upstream = http_upstream(f"{toy_url}/mcp", name="toy")
        with anyio.fail_after(BOUND_S):
            info = await probe(upstream, settings)
        app, pool = http_app(
            upstream, info, gate=gate, identity=IDENTITY, store=MemoryPinStore(), settings=settings
        )
        async with serving(app) as gateway_url:
            yield f"{gateway_url}/mcp", pool


def text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_sdk_client_lists_and_calls_through_the_http_gateway() -> None:
    toy = ToyServer()
    gate = ScriptedGate(
        {"delete_everything": "block"}, default="allow", reasons={"delete_everything": "no bulk deletes"}
    )
    async with http_gateway(toy, gate) as (url, _pool):
        with anyio.fail_after(BOUND_S):
            async with Client(url) as client:
                assert client.protocol_version == "2025-11-25"  # the handshake, after the discover probe
                assert [t.name for t in (await client.list_tools()).tools] == [
                    "echo",
                    "add",
                    "delete_everything",
                ]
                echoed = await client.call_tool("echo", {"message": "over http"})
                blocked = await client.call_tool("delete_everything", {"confirm": True})
    assert (echoed.is_error, text(echoed)) == (False, "over http")
    assert blocked.is_error
    assert "no bulk deletes" in text(blocked)
    assert toy.calls == [("echo", {"message": "over http"})]


async def test_user_approves_over_http_through_elicitation() -> None:
    toy, gate = ToyServer(), ScriptedGate({"add": "ask"})
    asked: list[str] = []

    async def accept(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"approve": True})

    async with http_gateway(toy, gate) as (url, _pool):
        with anyio.fail_after(BOUND_S):
            async with Client(url, elicitation_callback=accept) as client:
                result = await client.call_tool("add", {"a": 20, "b": 22})
    assert (result.is_error, text(result)) == (False, "42")
    assert len(asked) == 1


async def test_deleting_the_http_session_closes_its_upstream_and_guard_sessions() -> None:
    toy, gate = ToyServer(), ScriptedGate(default="allow")
    async with http_gateway(toy, gate) as (url, pool):
        with anyio.fail_after(BOUND_S):
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as client:
                await client.initialize()
                await client.call_tool("echo", {"message": "one"})
                assert len(pool) == 1
            await gate.closed.wait()  # the client deleted its session on the way out
        assert len(pool) == 0
    assert [s["open"] for s in gate.sessions.values()] == [False]
