"""The relay of plain tool calls (agentgov.gateway.relay): what the SDK's dispatch did for them still
holds when the gateway answers them on the wire itself. The official SDK client on one side; on the
other a toy upstream, in process or spawned over stdio. Each test is named after what it defends."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import REQUEST_TIMEOUT, CallToolResult, TextContent

from agentgov.gateway import GatewaySettings
from agentgov.gateway.testing import ScriptedGate
from agentgov.gateway.upstream import stdio_upstream
from tests.gateway.harness import BOUND_S, memory_upstream, through_gateway
from tests.gateway.servers import BusyToyServer

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[2]


def text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_a_call_the_client_cancels_is_stopped_upstream_and_the_session_goes_on() -> None:
    toy = BusyToyServer()
    async with through_gateway(memory_upstream(toy), ScriptedGate(default="allow")) as client:
        await client.list_tools()
        with anyio.fail_after(BOUND_S):
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.call_tool, "hang", {})
                await toy.hanging.wait()
                tg.cancel_scope.cancel()  # the SDK client sends notifications/cancelled
            await toy.cancelled.wait()  # the gateway passed the cancellation upstream
        result = await client.call_tool("echo", {"message": "still here"})
    assert text(result) == "still here"


async def test_an_upstream_that_does_not_answer_in_time_is_a_timeout_and_is_told_to_stop() -> None:
    toy = BusyToyServer()
    settings = GatewaySettings(ask_wait_s=0.0, upstream_call_timeout_s=0.3)
    gate = ScriptedGate(default="allow")
    async with through_gateway(memory_upstream(toy), gate, settings=settings) as client:
        with anyio.fail_after(BOUND_S):
            with pytest.raises(MCPError) as raised:
                await client.call_tool("hang", {})
            await toy.cancelled.wait()
    assert raised.value.error.code == REQUEST_TIMEOUT
    assert "timed out" in raised.value.error.message


async def test_an_error_the_upstream_answers_reaches_the_client_as_that_error() -> None:
    async with through_gateway(memory_upstream(BusyToyServer()), ScriptedGate(default="allow")) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("fail", {})
        after = await client.call_tool("add", {"a": 1, "b": 1})
    assert (raised.value.error.code, raised.value.error.message) == (-32010, "the toy failed on purpose")
    assert text(after) == "2"


async def test_a_call_that_asks_for_progress_gets_it_through_the_gateway() -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with through_gateway(memory_upstream(BusyToyServer()), ScriptedGate(default="allow")) as client:
        result = await client.call_tool("report", {}, progress_callback=on_progress)
    assert result.is_error is False
    assert text(result) != "None"  # the upstream was given a progress token
    assert seen == [(1.0, 2.0, "half way")]


async def test_a_spawned_upstream_answer_over_the_line_limit_fails_the_call_at_once() -> None:
    # The line limit is four times max_result_bytes; under it, a result over max_result_bytes is
    # withheld with its size named; over it, the call fails at once instead of waiting out its timeout.
    settings = GatewaySettings(ask_wait_s=0.0, max_result_bytes=2000, upstream_call_timeout_s=60.0)
    command = [sys.executable, "-m", "tests.gateway.servers", "--busy"]
    upstream = stdio_upstream(command, name="toy", cwd=ROOT)
    async with through_gateway(upstream, ScriptedGate(default="allow"), settings=settings) as client:
        withheld = await client.call_tool("big", {"size": 3000})
        with anyio.fail_after(10), pytest.raises(MCPError) as raised:
            await client.call_tool("big", {"size": 9000})
        after = await client.call_tool("echo", {"message": "still here"})
    assert withheld.is_error is True
    assert "over the gateway's limit of 2000" in text(withheld)
    assert "over the limit" in raised.value.error.message
    assert text(after) == "still here"
