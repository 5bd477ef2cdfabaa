"""A stdio upstream spawned by the gateway: its stdin and stdout as a :class:`LineWire`.

The process is started as the SDK's stdio client starts it: in a session of its own (so that its
children can be stopped with it), with the SDK's safe subset of the environment and the given
variables over it, and its stderr on the gateway's. On exit it is stopped as the MCP lifecycle says:
its stdin closed, then, if it has not exited after a grace period, SIGTERM to its process group,
then SIGKILL.

Lines are read by the event loop (no thread). A line over ``max_line_bytes`` is not dropped silently:
the wire yields :class:`~agentgov.gateway.wire.MessageTooLarge` in its place, so that the calls
waiting for it fail at once instead of waiting out their timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from mcp.client.stdio import get_default_environment

from agentgov.gateway.wire import LineWire

__all__ = ["spawned"]

logger = logging.getLogger(__name__)

_GRACE_S = 2.0  # after its stdin is closed, the time the server has to exit by itself
_TERM_S = 2.0  # after SIGTERM, before SIGKILL
_POLL_S = 0.01


@asynccontextmanager
async def spawned(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | Path | None,
    max_line_bytes: int,
) -> AsyncIterator[LineWire]:
    """The server ``command`` runs, as a wire; stopped on exit (see the module's docstring).

    Raises OSError when it cannot be started."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=sys.stderr,
        env=get_default_environment() | dict(env or {}),
        cwd=cwd,
        limit=max_line_bytes,
        start_new_session=True,
    )
    stdin, stdout = process.stdin, process.stdout
    try:
        if stdin is None or stdout is None:  # both were asked for as pipes
            raise OSError("the upstream server was started without pipes")
        yield LineWire(stdout, stdin, peer="upstream", report_overlong=True)
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    if await _exited(process, _GRACE_S):
        return
    for sig, wait in ((signal.SIGTERM, _TERM_S), (signal.SIGKILL, _TERM_S)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        if await _exited(process, wait):
            return
    logger.warning("the upstream server (pid %d) is still alive after SIGKILL; abandoning it", process.pid)


async def _exited(process: asyncio.subprocess.Process, within_s: float) -> bool:
    """Whether the process exited within the time (its return code polled: a child holding its pipes
    open must not make it look alive)."""
    deadline = anyio.current_time() + within_s
    while process.returncode is None:
        if anyio.current_time() >= deadline:
            return False
        await anyio.sleep(_POLL_S)
    return True
