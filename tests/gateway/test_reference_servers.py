"""The gateway against the reference MCP servers from npm (server-everything, server-filesystem), with the
official SDK client: through the stdio gateway process and through the HTTP gateway."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from subprocess import PIPE
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData, TextContent

from agentgov.db import make_engine, upgrade
from agentgov.gateway import GatewaySettings, MemoryPinStore, http_app, http_upstream, probe, stdio_upstream
from agentgov.gateway.testing import ScriptedGate
from tests.gateway.harness import IDENTITY, serving, through_gateway
from tests.gateway.peers import node_server, unused_port

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).parents[2]
STARTUP_S = 60.0  # a cold node start on a busy machine


def text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_everything_server_through_the_stdio_gateway_process(peers: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agentgov.db'}"
    upgrade(make_engine(url))
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            *("-m", "tests.gateway.gateway_main", "stdio", "--agent", "agent-1", "--user", "alice"),
            *("--server-name", "everything", "--", *node_server(peers, "server-everything", "stdio")),
        ],
        env={"AGENTGOV_DATABASE_URL": url},
        cwd=ROOT,
    )
    with anyio.fail_after(STARTUP_S):
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            names = [t.name for t in (await client.list_tools()).tools]
            echoed = await client.call_tool("echo", {"message": "hello everything"})
            summed = await client.call_tool("get-sum", {"a": 2, "b": 40})
    assert {"echo", "get-sum", "get-env"} <= set(names)
    assert (echoed.is_error, text(echoed)) == (False, "Echo: hello everything")
    assert "42" in text(summed)


async def test_filesystem_server_reads_through_the_gateway_and_writes_only_if_allowed(
    peers: Path, tmp_path: Path
) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    (root / "notes.txt").write_text("quarterly numbers\n")
    gate = ScriptedGate(
        {"write_file": "block"}, default="allow", reasons={"write_file": "the folder is read-only"}
    )
    upstream = stdio_upstream(node_server(peers, "server-filesystem", str(root)), name="files")
    settings = GatewaySettings(ask_wait_s=0, upstream_connect_timeout_s=STARTUP_S)
    with anyio.fail_after(STARTUP_S):
        async with through_gateway(upstream, gate, settings=settings) as client:
            listing = await client.call_tool("list_directory", {"path": str(root)})
            content = await client.call_tool("read_text_file", {"path": str(root / "notes.txt")})
            write = await client.call_tool("write_file", {"path": str(root / "new.txt"), "content": "x"})
    assert "notes.txt" in text(listing)
    assert "quarterly numbers" in text(content)
    assert write.is_error
    assert "read-only" in text(write)
    assert not (root / "new.txt").exists()


@asynccontextmanager
async def everything_over_http(peers: Path) -> AsyncIterator[str]:
    """server-everything in streamable HTTP mode on a free port; yields its MCP URL once it listens."""
    port = unused_port()
    command = node_server(peers, "server-everything", "streamableHttp")
    async with await anyio.open_process(command, stdout=PIPE, stderr=PIPE, env=_env(port)) as process:
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(_wait_for_listening, process)
                yield f"http://127.0.0.1:{port}/mcp"
                tg.cancel_scope.cancel()
        finally:
            process.terminate()
            await process.wait()


def _env(port: int) -> dict[str, str]:
    return {**os.environ, "PORT": str(port)}


async def _wait_for_listening(process: Process, *, task_status: anyio.abc.TaskStatus[None]) -> None:
    """Read the server's stderr until it says it listens, then keep draining it."""
    assert process.stderr is not None
    seen = b""
    started = False
    async for chunk in process.stderr:
        if not started:
            seen += chunk
            if b"listening on port" in seen:
                started = True
                task_status.started()


async def test_everything_server_through_the_http_gateway(peers: Path) -> None:
    gate = ScriptedGate({"get-sum": "ask"}, default="allow")
    asked: list[str] = []

    async def accept(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"approve": True})

    settings = GatewaySettings(ask_wait_s=0)
    with anyio.fail_after(STARTUP_S):
        async with everything_over_http(peers) as upstream_url:
            upstream = http_upstream(upstream_url, name="everything-http")
            info = await probe(upstream, settings)
            app, _pool = http_app(
                upstream, info, gate=gate, identity=IDENTITY, store=MemoryPinStore(), settings=settings
            )
            async with (
                serving(app) as gateway_url,
                Client(f"{gateway_url}/mcp", elicitation_callback=accept) as client,
            ):
                names = [t.name for t in (await client.list_tools()).tools]
                echoed = await client.call_tool("echo", {"message": "over http"})
                summed = await client.call_tool("get-sum", {"a": 1, "b": 2})
    assert "echo" in names
    assert (echoed.is_error, text(echoed)) == (False, "Echo: over http")
    assert (summed.is_error, len(asked)) == (False, 1)
    assert "3" in text(summed)
