"""Requests of the gateway's own on a wire it shares with the SDK: their ids, their answers, their end.

The gateway sends some requests itself (a relayed ``tools/call`` upstream, an approval form to the
client) on a wire whose other messages the SDK reads and writes. Each has an id of the gateway's own
(``agentgov-N``, ``agentgov-ask-N``); its answer is taken off the wire before the SDK sees it
(:meth:`Requests.take`). A request that times out, or whose caller is cancelled, is followed by a
courtesy ``notifications/cancelled``; when the wire ends every waiting request fails as closed.
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any

import anyio
from mcp import types
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from agentgov.gateway.wire import Message, Wire

__all__ = ["Requests", "error_of"]

logger = logging.getLogger(__name__)

_CLOSED = {"code": types.CONNECTION_CLOSED, "message": "Connection closed"}
_CANCEL_WRITE_S = 2.0  # a courtesy cancel is written for at most this long


class _Answer:
    """The response awaited for one request of ours."""

    __slots__ = ("_done", "message")

    def __init__(self) -> None:
        self._done = anyio.Event()
        self.message: Message = {}

    def set(self, message: Message) -> None:
        self.message = message
        self._done.set()

    async def wait(self) -> Message:
        await self._done.wait()
        return self.message


def error_of(message: Message) -> MCPError:
    """The error a JSON-RPC error response carries, as the SDK raises it."""
    try:
        error = types.ErrorData.model_validate(message.get("error"))
    except ValidationError:
        return MCPError(types.INTERNAL_ERROR, "the peer answered with a malformed error")
    return MCPError(error.code, error.message, error.data)


class Requests:
    """Requests of ours on a wire shared with the SDK: their ids, and the answers taken off the wire."""

    def __init__(self, wire: Wire, prefix: str) -> None:
        self.wire = wire
        self._prefix = prefix
        self._ids = itertools.count(1)
        self._waiting: dict[str, _Answer] = {}
        self._closed = False

    def take(self, message: Message) -> bool:
        """Whether ``message`` answers a request of ours (it is then delivered, not passed on)."""
        if "method" in message:
            return False
        request_id = message.get("id")
        answer = self._waiting.pop(request_id, None) if isinstance(request_id, str) else None
        if answer is None:
            return False
        answer.set(message)
        return True

    def close(self) -> None:
        """The wire ended: every request still waiting fails as closed, and so does every later one."""
        self._closed = True
        self.fail_waiting(_CLOSED)

    def fail_waiting(self, error: dict[str, Any]) -> None:
        """Every request still waiting fails with ``error``."""
        for request_id, answer in list(self._waiting.items()):
            answer.set({"jsonrpc": "2.0", "id": request_id, "error": error})
        self._waiting.clear()

    async def request(self, method: str, params: dict[str, Any] | None, timeout_s: float | None) -> Message:
        """The result of ``method``; raises MCPError for an error answer, a timeout or a closed wire."""
        if self._closed:
            raise MCPError(types.CONNECTION_CLOSED, "Connection closed")
        request_id = f"{self._prefix}{next(self._ids)}"
        answer = self._waiting[request_id] = _Answer()
        message: Message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        response: Message | None = None
        try:
            # A scope with a deadline, as anyio.fail_after opens one, without its two generator layers.
            deadline = math.inf if timeout_s is None else anyio.current_time() + timeout_s
            with anyio.CancelScope(deadline=deadline):
                await self.wire.send(message)
                response = await answer.wait()
            if response is None:  # the deadline passed
                await self._cancel(request_id, f"timed out after {timeout_s}s")
                raise MCPError(types.REQUEST_TIMEOUT, f"Request {method!r} timed out")
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._cancel(request_id, "caller cancelled")
            raise
        finally:
            self._waiting.pop(request_id, None)
        if "error" in response:
            raise error_of(response)
        result = response.get("result")
        if not isinstance(result, dict):
            raise MCPError(types.INTERNAL_ERROR, f"the answer to {method!r} has no result object")
        return result

    async def _cancel(self, request_id: str, reason: str) -> None:
        """Tell the peer to stop a request we no longer wait for (it may have gone: nothing is raised)."""
        if self._closed:
            return
        notice = {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": reason},
        }
        with anyio.move_on_after(_CANCEL_WRITE_S):
            try:
                await self.wire.send(notice)
            except Exception:
                logger.debug("the cancellation of %s was not delivered", request_id, exc_info=True)
