"""The gateway's MCP server face: an SDK low-level ``Server`` whose handlers hand each request to the
:class:`GatewaySession` of the downstream session it belongs to.

It offers what the upstream offers: tools always through the guard; resources, prompts and completion
passed through only when the operator allows it (the guard does not see them). It speaks the initialize
handshake era (protocol versions up to 2025-11-25): a gateway session is bound to one connection, and
the 2026-07-28 per-request envelope has none; a client probing ``server/discover`` is told the method
does not exist and falls back to the handshake.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.lowlevel.server import lifespan as default_lifespan
from mcp.server.models import InitializationOptions
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

import agentgov
from agentgov.gateway.session import GatewaySession
from agentgov.gateway.settings import GatewaySettings

__all__ = ["Context", "GatewayServer", "SessionScope", "build_server", "ensure_handshake_era"]

Context = ServerRequestContext[Any, Any]
# The session a request belongs to, held for the duration of the request.
SessionScope = Callable[[Context], AbstractAsyncContextManager[GatewaySession]]
LifespanFactory = Callable[[Server[Any]], AbstractAsyncContextManager[Any]]

R = TypeVar("R", bound=BaseModel)


def ensure_handshake_era(ctx: Context) -> None:
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        raise MCPError(
            types.INVALID_REQUEST,
            "this gateway serves the initialize handshake (protocol 2025-11-25 and earlier)",
        )


class _Downstream:
    """The client of one request, as the call path sees it."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def can_elicit(self) -> bool:
        caps = self._ctx.session.client_capabilities
        if caps is None or caps.elicitation is None:
            return False
        # Form mode; a 2025-06-18 client declares elicitation as {} and means the form.
        form = caps.elicitation.form is not None or caps.elicitation.url is None
        return form and self._ctx.session.can_send_request

    # The SDK's client session carries the client's progress token (if any) upstream and back.
    wants_progress = True

    async def elicit(self, message: str, schema: dict[str, Any]) -> types.ElicitResult:
        return await self._ctx.session.elicit_form(message, schema, related_request_id=self._ctx.request_id)

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        await self._ctx.session.report_progress(progress, total, message)


class GatewayServer(Server[Any]):
    """A low-level Server whose initialization options carry the upstream's list-changed flags, also
    when a transport (the streamable HTTP manager) asks for them without options."""

    notification_options = NotificationOptions()

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or self.notification_options, experimental_capabilities, extensions
        )


async def _no_discover(ctx: Context, params: types.RequestParams) -> types.EmptyResult:
    raise MCPError(types.METHOD_NOT_FOUND, "Method not found", data="server/discover")


def build_server(
    info: types.InitializeResult,
    scope: SessionScope,
    settings: GatewaySettings,
    lifespan: LifespanFactory | None = None,
) -> tuple[Server[Any], InitializationOptions]:
    """The server for an upstream that answered ``info``, and its initialization options."""
    caps = info.capabilities

    def opened(ctx: Context) -> AbstractAsyncContextManager[GatewaySession]:
        ensure_handshake_era(ctx)
        return scope(ctx)

    async def list_tools(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        async with opened(ctx) as session:
            session.attach(ctx.session.send_notification)
            return types.ListToolsResult(tools=await session.list_tools())

    async def call_tool(ctx: Context, params: types.CallToolRequestParams) -> types.CallToolResult:
        async with opened(ctx) as session:
            session.attach(ctx.session.send_notification)
            return await session.call_tool(params.name, dict(params.arguments or {}), _Downstream(ctx))

    def passthrough(request: Callable[..., Any], result: type[R]) -> Callable[[Context, Any], Awaitable[R]]:
        """A handler forwarding the request as it came, without the client's ``_meta``."""

        async def handle(ctx: Context, params: types.RequestParams) -> R:
            async with opened(ctx) as session:
                upstream_params = params.model_copy(update={"meta": None})  # progress tokens are per hop
                sent: R = await session.client.send_request(request(params=upstream_params), result)
                return sent

        return handle

    upstream_name = info.server_info.name if info.server_info else "upstream"
    server = GatewayServer(
        "agentgov-gateway",
        version=agentgov.__version__,
        title=f"{upstream_name} (through the agentgov gateway)",
        instructions=info.instructions,
        lifespan=lifespan or default_lifespan,
    )
    add = server.add_request_handler
    if caps.tools is not None:
        add("tools/list", types.PaginatedRequestParams, list_tools)
        add("tools/call", types.CallToolRequestParams, call_tool)
    if settings.forward_resources and caps.resources is not None:
        add(
            "resources/list",
            types.PaginatedRequestParams,
            passthrough(types.ListResourcesRequest, types.ListResourcesResult),
        )
        add(
            "resources/templates/list",
            types.PaginatedRequestParams,
            passthrough(types.ListResourceTemplatesRequest, types.ListResourceTemplatesResult),
        )
        add(
            "resources/read",
            types.ReadResourceRequestParams,
            passthrough(types.ReadResourceRequest, types.ReadResourceResult),
        )
    if settings.forward_prompts and caps.prompts is not None:
        add(
            "prompts/list",
            types.PaginatedRequestParams,
            passthrough(types.ListPromptsRequest, types.ListPromptsResult),
        )
        add(
            "prompts/get",
            types.GetPromptRequestParams,
            passthrough(types.GetPromptRequest, types.GetPromptResult),
        )
    forwarded = server.get_request_handler("prompts/get") or server.get_request_handler("resources/read")
    if caps.completions is not None and forwarded is not None:
        add(
            "completion/complete",
            types.CompleteRequestParams,
            passthrough(types.CompleteRequest, types.CompleteResult),
        )
    server.add_request_handler("server/discover", types.RequestParams, _no_discover)
    server.notification_options = NotificationOptions(
        tools_changed=bool(caps.tools and caps.tools.list_changed),
        resources_changed=bool(settings.forward_resources and caps.resources and caps.resources.list_changed),
        prompts_changed=bool(settings.forward_prompts and caps.prompts and caps.prompts.list_changed),
    )
    return server, server.create_initialization_options()
