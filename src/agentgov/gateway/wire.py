"""One JSON-RPC peer of the gateway, message by message, as plain JSON objects.

The gateway relays tool calls between two peers (:mod:`agentgov.gateway.relay`). On its hot path a
message is read, looked at, and written on: it is not turned into SDK objects and back on every hop.
A :class:`Wire` is that view of a peer: an iterator of the JSON objects it sends (or of the error a
line that is no JSON-RPC message raised) and a ``send`` of JSON objects.

- :class:`LineWire`: newline-delimited JSON over asyncio streams, the stdio framing of MCP (the
  gateway's own stdin and stdout, see :mod:`agentgov.gateway.pipes`).
- :class:`StreamWire`: the SDK's streams of ``SessionMessage`` (its stdio and streamable HTTP client
  transports, the in-memory streams of tests), each object checked and converted at the boundary.

A line longer than the wire's limit is dropped whole, with a warning (see ``pipes``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from mcp.types import jsonrpc_message_adapter
from pydantic import ValidationError

__all__ = [
    "LineReader",
    "LineWire",
    "Message",
    "MessageTooLarge",
    "StreamWire",
    "Wire",
    "as_session_message",
    "dumped",
]

logger = logging.getLogger(__name__)

Message = dict[str, Any]


class Wire(Protocol):
    """A JSON-RPC peer: what it sends, one JSON object (or the error of a bad line) at a time."""

    def __aiter__(self) -> AsyncIterator[Message | Exception]: ...

    async def send(self, message: Message) -> None: ...


def as_session_message(message: Message) -> SessionMessage | Exception:
    """The SDK's form of a JSON object, or the error that says why it is no JSON-RPC message."""
    try:
        return SessionMessage(jsonrpc_message_adapter.validate_python(message, by_name=False))
    except ValidationError as exc:
        return exc


def dumped(message: SessionMessage) -> Message:
    """The JSON object of an SDK message, as the SDK's own transports write it."""
    data: Message = message.message.model_dump(by_alias=True, mode="json", exclude_unset=True)
    return data


class MessageTooLarge(ValueError):
    """A line over the wire's limit (it was dropped whole)."""


class LineWire:
    """Newline-delimited JSON: ``reader``'s lines, each at most the reader's limit, and ``writer``.

    A line over the limit is dropped whole without waiting for its end. From a client that is all
    (a warning names the ``peer``); with ``report_overlong`` the wire yields :class:`MessageTooLarge`
    in its place, so that a request waiting for that answer fails at once."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        peer: str,
        report_overlong: bool = False,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._peer = peer
        self._report = report_overlong

    def __aiter__(self) -> AsyncIterator[Message | Exception]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Message | Exception]:
        async for line in _frames(self._reader):
            if isinstance(line, int):
                if self._report:
                    yield MessageTooLarge(f"the {self._peer} sent a message of {line} bytes, over the limit")
                else:
                    logger.warning(
                        "a message of %d bytes, over the limit, from the %s was dropped", line, self._peer
                    )
                continue
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:  # not JSON, or not UTF-8
                yield exc
                continue
            yield value if isinstance(value, dict) else ValueError("a JSON-RPC message is a JSON object")

    async def send(self, message: Message) -> None:
        # ASCII: a lone surrogate (valid in a JSON string escape) still makes a valid line.
        self._writer.write(json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n")
        await self._writer.drain()  # waits only while the peer is slow to read


async def _frames(reader: asyncio.StreamReader) -> AsyncIterator[bytes | int]:
    """Each line of ``reader`` (the last may lack its newline), or for a line over the reader's limit
    the number of its bytes dropped."""
    dropping = 0  # bytes of a line over the limit dropped so far
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as end:  # the peer closed its end
            if dropping:
                yield dropping + len(end.partial)
            elif end.partial:
                yield end.partial
            return
        except asyncio.LimitOverrunError as over:
            # Already in the buffer: dropped without waiting for the rest of the line to arrive.
            dropping += len(await reader.readexactly(over.consumed))
            continue
        if dropping:
            yield dropping + len(line)
            dropping = 0
            continue
        yield line


class LineReader:
    """The lines of a stream, each at most the stream's limit; a longer one is dropped whole (a warning
    names ``peer``) without waiting for its end. The last line may lack its newline."""

    def __init__(self, reader: asyncio.StreamReader, peer: str = "client") -> None:
        self._reader = reader
        self._peer = peer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for line in _frames(self._reader):
            if isinstance(line, int):
                logger.warning(
                    "a message of %d bytes, over the limit, from the %s was dropped", line, self._peer
                )
            else:
                yield line


class StreamWire:
    """The SDK's message streams as a wire."""

    def __init__(
        self, read: ReadStream[SessionMessage | Exception], write: WriteStream[SessionMessage]
    ) -> None:
        self._read = read
        self._write = write

    def __aiter__(self) -> AsyncIterator[Message | Exception]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[Message | Exception]:
        async for item in self._read:
            yield item if isinstance(item, Exception) else dumped(item)

    async def send(self, message: Message) -> None:
        converted = as_session_message(message)
        if isinstance(converted, Exception):
            raise ValueError(f"not a JSON-RPC message: {converted}") from converted
        await self._write.send(converted)
