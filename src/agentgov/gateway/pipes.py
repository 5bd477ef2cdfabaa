"""The stdio gateway's own stdin and stdout, as the MCP client's streams.

An MCP client starts a stdio server with pipes (or a socket pair) on its stdin and stdout. Those are
read and written here by the event loop itself (asyncio pipe transports): the SDK's stdio transport
reads and writes them in worker threads, a hop to a thread and back for every line read, every write
and every flush, which on a busy machine cost more than the guard's decision. They are the client's
:class:`~agentgov.gateway.wire.LineWire`: one JSON-RPC message a line, parsed once.

Anything else (a file, a terminal) or another event loop than asyncio goes through the SDK's own
transport. Either way, while serving, fd 0 reads the null device and fd 1 writes to stderr, so that
nothing else in the process (a stray print, a child) can read the client's messages or write into
them; both are given back on exit, as the SDK does.

A line longer than ``max_line_bytes`` is dropped whole without being parsed (a warning on stderr):
the limit a request over streamable HTTP has, and a bound on the memory one line can take.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager

import anyio
from mcp.server.stdio import stdio_server

from agentgov.gateway.wire import LineReader, LineWire, StreamWire, Wire

if sys.platform != "win32":
    import fcntl

__all__ = ["LineReader", "claimed_std_fds", "stdio_wire"]

logger = logging.getLogger(__name__)

# On exit, what is still buffered for the client is written for at most this long (it may have gone).
_FLUSH_S = 2.0


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio)
        return None


@contextmanager
def claimed_std_fds() -> Iterator[tuple[int, int]]:
    """Private descriptors of the client's ends; fd 0 reads the null device and fd 1 writes to stderr
    meanwhile. Each descriptor gets its blocking mode and its place back on exit."""
    sys.stdout.flush()
    # Above the standard range, whatever of fds 0-2 is closed; not inherited by children.
    wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    blocking = os.get_blocking(wire_in), os.get_blocking(wire_out)
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        os.dup2(2, 1)
    finally:
        os.close(null)
    try:
        yield wire_in, wire_out
    finally:
        os.set_blocking(wire_in, blocking[0])
        os.set_blocking(wire_out, blocking[1])
        os.dup2(wire_in, 0)
        os.dup2(wire_out, 1)
        os.close(wire_in)
        os.close(wire_out)


@asynccontextmanager
async def stdio_wire(max_line_bytes: int) -> AsyncIterator[Wire]:
    """The client on this process's stdin and stdout (see the module's docstring)."""
    loop = _running_asyncio_loop()
    if loop is None or sys.platform == "win32" or not (_is_pipe(0) and _is_pipe(1)):
        async with stdio_server() as (read, write):
            yield StreamWire(read, write)
        return
    with claimed_std_fds() as (wire_in, wire_out):
        async with _pipes(loop, wire_in, wire_out, max_line_bytes) as (reader, writer):
            yield LineWire(reader, writer, peer="client")


@asynccontextmanager
async def _pipes(
    loop: asyncio.AbstractEventLoop, wire_in: int, wire_out: int, max_line_bytes: int
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """Asyncio transports over copies of the two descriptors; what is still buffered is written on exit."""
    reader = asyncio.StreamReader(limit=max_line_bytes)
    async with AsyncExitStack() as stack:
        read_pipe = stack.enter_context(os.fdopen(os.dup(wire_in), "rb", buffering=0))
        write_pipe = stack.enter_context(os.fdopen(os.dup(wire_out), "wb", buffering=0))
        reading, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_pipe)
        stack.callback(reading.close)
        writing, protocol = await loop.connect_write_pipe(_WriteProtocol, write_pipe)
        stack.push_async_callback(_close, writing, protocol)
        yield reader, asyncio.StreamWriter(writing, protocol, None, loop)


class _WriteProtocol(asyncio.streams.FlowControlMixin):
    """Backpressure for ``StreamWriter.drain``, and a future done once the pipe is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.closed.done():
            self.closed.set_result(None)


async def _close(writing: asyncio.WriteTransport, protocol: _WriteProtocol) -> None:
    writing.close()  # once what is buffered is written, or the client has gone
    with anyio.CancelScope(shield=True), anyio.move_on_after(_FLUSH_S):
        await protocol.closed
