"""The stdio gateway's own stdin and stdout read and written by the event loop: lines bounded in size, a
line over the bound dropped whole and the session going on, the last line read at the end."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from agentgov.db import make_engine, upgrade
from agentgov.gateway import GatewaySettings
from agentgov.gateway.pipes import LineReader, claimed_std_fds
from tests.gateway.harness import BOUND_S

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[2]


async def _lines(data: bytes, limit: int) -> list[bytes]:
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    return [line async for line in LineReader(reader)]


async def test_a_line_over_the_limit_is_dropped_whole_and_the_next_one_is_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    long = b"x" * 300
    with caplog.at_level(logging.WARNING, logger="agentgov.gateway.wire"):
        lines = await _lines(b'{"a": 1}\n' + long + b"\n" + b'{"b": 2}\n', limit=64)
    assert lines == [b'{"a": 1}\n', b'{"b": 2}\n']
    assert "a message of 301 bytes, over the limit" in caplog.text  # the line and its newline


async def test_the_last_line_is_read_without_its_newline_and_the_end_stops_the_lines() -> None:
    assert await _lines(b'{"a": 1}\n{"b": 2}', limit=64) == [b'{"a": 1}\n', b'{"b": 2}']
    assert await _lines(b"", limit=64) == []
    assert await _lines(b"x" * 300, limit=64) == []  # an unfinished line over the limit: dropped too


async def test_a_client_message_over_the_limit_is_dropped_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'agentgov.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    command = [
        *(sys.executable, "-m", "tests.gateway.gateway_main", "stdio", "--agent", "agent-1", "--user"),
        *("alice", "--server-name", "toy", "--", sys.executable, "-m", "tests.gateway.servers"),
    ]

    def message(**fields: Any) -> bytes:
        return json.dumps({"jsonrpc": "2.0", **fields}).encode() + b"\n"

    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    huge = {"name": "echo", "arguments": {"message": "x" * (GatewaySettings.max_request_bytes + 1)}}
    env = {**os.environ, "AGENTGOV_DATABASE_URL": url}
    with anyio.fail_after(BOUND_S * 2):
        async with await anyio.open_process(command, cwd=ROOT, env=env) as process:
            assert process.stdin is not None
            assert process.stdout is not None
            assert process.stderr is not None
            out = BufferedByteReceiveStream(process.stdout)
            await process.stdin.send(message(id=1, method="initialize", params=hello))
            assert json.loads(await out.receive_until(b"\n", 1 << 20))["id"] == 1
            await process.stdin.send(message(method="notifications/initialized"))
            await process.stdin.send(message(id=2, method="tools/call", params=huge))
            await process.stdin.send(message(id=3, method="tools/list"))
            listed = json.loads(await out.receive_until(b"\n", 1 << 20))
            await process.stdin.aclose()  # end of input: the gateway stops
            errors = b"".join([chunk async for chunk in process.stderr]).decode()
            assert await process.wait() == 0
    assert listed["id"] == 3  # no answer to the dropped call; the next request is served
    assert [t["name"] for t in listed["result"]["tools"]] == ["echo", "add", "delete_everything"]
    assert "was dropped" in errors


def test_while_serving_a_stray_write_to_stdout_goes_to_stderr_not_to_the_client(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with claimed_std_fds() as (_wire_in, wire_out):
        os.write(1, b"stray\n")  # a print, a child inheriting fd 1
        os.write(wire_out, b"to the client\n")
        assert os.read(0, 1) == b""  # fd 0 reads the null device meanwhile
    os.write(1, b"after\n")
    out, err = capfd.readouterr()
    assert out == "to the client\nafter\n"
    assert "stray" in err
