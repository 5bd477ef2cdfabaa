"""The gateway's two wires: tool calls relayed as JSON objects, the rest of the protocol left to the SDK.

Between a downstream client and an upstream server the gateway speaks full MCP through the official
SDK: a low-level ``Server`` faces the client (the initialize handshake, listings, passthroughs, errors)
and a ``ClientSession`` faces the upstream. Every message still crosses these two modules, because
they own the wires:

- :class:`UpstreamLink` holds the upstream's wire. It feeds the SDK client session, and also sends
  requests of its own (:meth:`UpstreamLink.request`, ids ``agentgov-N``) whose answers it takes off
  the wire before the SDK sees them (:mod:`agentgov.gateway.requests`).
- :class:`Relay` holds the client's wire. It feeds the SDK server, except for the one hot path: a
  plain ``tools/call`` (a tool name, its arguments, no progress token) once the handshake is done.
  That call goes through :meth:`GatewaySession.call_tool` exactly as the SDK's handler would send it
  there, and the answer goes back serialised by the SDK's own surface for the negotiated version. An
  approval form (elicitation) it needs is asked on the same wire (ids ``agentgov-ask-N``); a client's
  ``notifications/cancelled`` for it stops it unanswered, as the SDK does.

Why: on a 2-core host the SDK's dispatch (a task, a context and a validation per message on each hop)
cost as much per call as the guard's whole decision (docs/guard.md, "Latency"). Everything that is not
a plain tool call (a progress token, a task, an unusual field, a call before the handshake) takes the
SDK's path, and so keeps the SDK's answers to it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.models import InitializationOptions
from mcp.server.runner import serve_loop
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params, handler_exception_to_error_data
from mcp.shared.message import SessionMessage
from mcp_types import methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import TypeAdapter, ValidationError

from agentgov.gateway.requests import Requests
from agentgov.gateway.wire import Message, MessageTooLarge, Wire, as_session_message, dumped

if TYPE_CHECKING:
    from agentgov.gateway.session import GatewaySession

__all__ = ["Relay", "UpstreamLink"]

logger = logging.getLogger(__name__)

RequestId = int | str
_CALL_KEYS = frozenset({"name", "arguments", "_meta"})


def _is_id(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class UpstreamLink:
    """The upstream's wire, shared by the SDK client session and by requests of the gateway's own."""

    def __init__(self, wire: Wire, name: str) -> None:
        self.name = name
        self._requests = Requests(wire, "agentgov-")

    async def request(self, method: str, params: dict[str, Any], timeout_s: float | None) -> Message:
        try:
            return await self._requests.request(method, params, timeout_s)
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise MCPError(types.CONNECTION_CLOSED, f"upstream {self.name!r} is gone: {exc}") from exc

    async def call_tool(
        self, name: str, arguments: dict[str, Any], timeout_s: float | None, version: str
    ) -> types.CallToolResult:
        """A ``tools/call`` upstream, its result checked as the SDK client checks it: the shape of the
        negotiated ``version`` (without the dump that methods.validate_server_result makes), then
        ``CallToolResult``. Raises ValidationError for a result that fails either."""
        raw = await self.request("tools/call", {"name": name, "arguments": arguments}, timeout_s)
        surface = _call_result_surface(version)
        if surface is not None:
            surface.validate_python(raw, by_name=False)
        return types.CallToolResult.model_validate(raw, by_name=False)

    @asynccontextmanager
    async def session_streams(
        self,
    ) -> AsyncIterator[tuple[ReadStream[SessionMessage | Exception], WriteStream[SessionMessage]]]:
        """The streams for an SDK client session, while the link runs."""
        to_session, session_reads = anyio.create_memory_object_stream[SessionMessage | Exception](16)
        session_writes, from_session = anyio.create_memory_object_stream[SessionMessage](16)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._from_upstream, to_session)
            tg.start_soon(self._to_upstream, from_session, to_session)
            try:
                yield session_reads, session_writes
            finally:
                tg.cancel_scope.cancel()
                self._requests.close()

    async def _from_upstream(
        self, to_session: anyio.abc.ObjectSendStream[SessionMessage | Exception]
    ) -> None:
        try:
            async with to_session:
                async for item in self._requests.wire:
                    if isinstance(item, dict) and self._requests.take(item):
                        continue
                    if isinstance(item, MessageTooLarge):  # whose answer it was is unknown: all fail
                        self._requests.fail_waiting({"code": types.INTERNAL_ERROR, "message": str(item)})
                    try:
                        await to_session.send(as_session_message(item) if isinstance(item, dict) else item)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return  # the SDK session is gone
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            logger.warning("upstream %s: the connection broke", self.name)
        finally:
            self._requests.close()

    async def _to_upstream(
        self,
        from_session: anyio.abc.ObjectReceiveStream[SessionMessage],
        to_session: anyio.abc.ObjectSendStream[SessionMessage | Exception],
    ) -> None:
        try:
            async with from_session:
                async for message in from_session:
                    await self._requests.wire.send(dumped(message))
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            # As the SDK's transports do: the session sees the connection end, nothing hangs.
            logger.warning("upstream %s: could not write to it", self.name)
            self._requests.close()
            await to_session.aclose()


class Relay:
    """The client's wire: plain tool calls handled here, everything else given to the SDK server."""

    def __init__(self, session: GatewaySession, wire: Wire, *, tools: bool) -> None:
        self.session = session
        self._wire = wire
        self._tools = tools
        self._asks = Requests(wire, "agentgov-ask-")
        self._calls: dict[RequestId, anyio.CancelScope] = {}
        self._initialize_id: RequestId | None = None
        self._capabilities: types.ClientCapabilities | None = None
        self._version: str | None = None  # the protocol version the SDK server agreed
        self._initialized = False

    async def serve(self, server: Server[Any], options: InitializationOptions) -> None:
        """Serve the client until it closes its end."""
        to_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception](16)
        server_writes, from_server = anyio.create_memory_object_stream[SessionMessage](16)
        self.session.attach(self._notify)
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._from_server, from_server)
            tg.start_soon(self._from_client, to_server, tg)
            # The handshake era only (serve_loop, not Server.run): see agentgov.gateway.server.
            await serve_loop(server, server_reads, server_writes, lifespan_state={}, init_options=options)
            tg.cancel_scope.cancel()

    # the client's messages --------------------------------------------------------------------------

    async def _from_client(
        self, to_server: anyio.abc.ObjectSendStream[SessionMessage | Exception], tg: TaskGroup
    ) -> None:
        try:
            async with to_server:
                async for item in self._wire:
                    if not isinstance(item, dict):
                        await to_server.send(item)  # the SDK server logs it, as it would from its transport
                    elif not (self._asks.take(item) or self._took(item, tg)):
                        self._observe(item)
                        await to_server.send(as_session_message(item))
        finally:
            self._asks.close()

    def _took(self, message: Message, tg: TaskGroup) -> bool:
        """Whether the relay handles ``message`` itself: a plain tool call, or the cancellation of one."""
        method = message.get("method")
        if method == "notifications/cancelled":
            cancelled = cancelled_request_id_from_params(message.get("params"))
            scope = self._calls.get(cancelled) if cancelled is not None else None  # an id may be 0
            if scope is None:
                return False
            scope.cancel()
            return True
        if method != "tools/call" or not self._plain_call(message):
            return False
        scope = self._calls[message["id"]] = anyio.CancelScope()
        tg.start_soon(self._call, message, scope, name="tools/call")  # named: no name to work out
        return True

    def _plain_call(self, message: Message) -> bool:
        if not (self._tools and self._initialized and self._version is not None):
            return False
        if self._version in MODERN_PROTOCOL_VERSIONS or message.get("jsonrpc") != "2.0":
            return False
        request_id, params = message.get("id"), message.get("params")
        if not _is_id(request_id) or request_id in self._calls or not isinstance(params, dict):
            return False
        meta, arguments = params.get("_meta"), params.get("arguments")
        return (
            params.keys() <= _CALL_KEYS
            and isinstance(params.get("name"), str)
            and (arguments is None or isinstance(arguments, dict))
            and (meta is None or (isinstance(meta, dict) and "progressToken" not in meta))
        )

    def _observe(self, message: Message) -> None:
        """What the relay learns from the handshake: the client's capabilities, then that it is done."""
        method = message.get("method")
        if method == "initialize" and _is_id(message.get("id")):
            self._initialize_id = message["id"]
            params = message.get("params")
            caps = params.get("capabilities") if isinstance(params, dict) else None
            try:
                self._capabilities = types.ClientCapabilities.model_validate(caps or {}, by_name=False)
            except ValidationError:
                self._capabilities = None  # the SDK server refuses this initialize
        elif method == "notifications/initialized":
            self._initialized = True

    # the SDK server's messages ----------------------------------------------------------------------

    async def _from_server(self, from_server: anyio.abc.ObjectReceiveStream[SessionMessage]) -> None:
        async with from_server:
            async for message in from_server:
                data = dumped(message)
                if self._initialize_id is not None and data.get("id") == self._initialize_id:
                    version = (data.get("result") or {}).get("protocolVersion")
                    self._version = version if isinstance(version, str) else None
                await self._wire.send(data)

    async def _notify(self, notification: types.ServerNotification) -> None:
        data = notification.model_dump(by_alias=True, mode="json", exclude_none=True)
        await self._wire.send({"jsonrpc": "2.0", **data})

    # one tool call -----------------------------------------------------------------------------------

    async def _call(self, message: Message, scope: anyio.CancelScope) -> None:
        request_id, params = message["id"], message["params"]
        response: Message | None = None
        try:
            with scope:
                try:
                    result = await self.session.call_tool(
                        params["name"], dict(params.get("arguments") or {}), self
                    )
                    response = {"jsonrpc": "2.0", "id": request_id, "result": self._serialised(result)}
                except Exception as exc:  # noqa: BLE001 - every failure is answered, as the SDK's dispatcher does
                    response = {"jsonrpc": "2.0", "id": request_id, "error": _error_data(exc)}
        finally:
            self._calls.pop(request_id, None)
        if response is not None and not scope.cancel_called:  # a call the client cancelled is not answered
            await self._wire.send(response)

    def _serialised(self, result: types.CallToolResult) -> dict[str, Any]:
        data: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        try:
            return methods.serialize_server_result("tools/call", self._version or "", data)
        except ValidationError:
            logger.exception("the gateway's tools/call result is invalid")
            raise MCPError(types.INTERNAL_ERROR, "Handler returned an invalid result") from None
        except (KeyError, ValueError):
            return data  # a version without a surface of its own: the result as it is

    # the Downstream of GatewaySession.call_tool ----------------------------------------------------

    wants_progress = False  # a call whose client asked for progress takes the SDK's path

    @property
    def can_elicit(self) -> bool:
        caps = self._capabilities
        if caps is None or caps.elicitation is None:
            return False
        # Form mode; a 2025-06-18 client declares elicitation as {} and means the form.
        return caps.elicitation.form is not None or caps.elicitation.url is None

    async def elicit(self, message: str, schema: dict[str, Any]) -> types.ElicitResult:
        request = types.ElicitRequest(
            params=types.ElicitRequestFormParams(message=message, requested_schema=schema)
        ).model_dump(by_alias=True, mode="json", exclude_none=True)
        result = await self._asks.request(request["method"], request.get("params"), None)
        with suppress(KeyError):
            methods.validate_client_result("elicitation/create", self._version or "", result)
        return types.ElicitResult.model_validate(result, by_name=False)

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        """No progress was asked for (wants_progress): nothing to report."""


def _error_data(exc: Exception) -> dict[str, Any]:
    """The JSON-RPC error for what a tool call raised, as the SDK's dispatcher writes it."""
    error = handler_exception_to_error_data(exc)
    if error is None:
        logger.exception("the gateway's tools/call failed")
        error = types.ErrorData(code=0, message=str(exc))
    data: dict[str, Any] = error.model_dump(mode="json", exclude_none=True)
    return data


@functools.lru_cache(maxsize=16)
def _call_result_surface(version: str) -> TypeAdapter[Any] | None:
    """The shape of a ``tools/call`` result in protocol ``version`` (None: a version without one)."""
    surface: Any = methods.SERVER_RESULTS.get(("tools/call", version))  # a model or a union of them
    return TypeAdapter(surface) if surface is not None else None
