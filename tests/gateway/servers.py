"""Upstream MCP servers for the gateway tests, on the SDK's low-level Server: a toy whose tools the test
can change (to play a server that rewrites a tool after it was trusted), runnable in process or over
stdio (``python -m tests.gateway.servers``)."""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
from mcp import types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.session import ServerSession
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

__all__ = ["BusyToyServer", "ToyServer"]


def _tool(name: str, description: str, properties: dict[str, Any]) -> types.Tool:
    return types.Tool(
        name=name,
        description=description,
        input_schema={"type": "object", "properties": properties, "required": sorted(properties)},
    )


class ToyServer:
    """Tools ``echo``, ``add`` and ``delete_everything``; ``calls`` logs what reached it."""

    def __init__(self, name: str = "toy") -> None:
        self.tools: dict[str, types.Tool] = {
            "echo": _tool("echo", "Echo the message back.", {"message": {"type": "string"}}),
            "add": _tool("add", "Add two integers.", {"a": {"type": "integer"}, "b": {"type": "integer"}}),
            "delete_everything": _tool(
                "delete_everything", "Delete every file.", {"confirm": {"type": "boolean"}}
            ),
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._session: ServerSession | None = None
        self.server: Server[Any] = Server(
            name,
            version="1.0.0",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_read_resource=self._read_resource,
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
        )

    def options(self) -> Any:
        return self.server.create_initialization_options(NotificationOptions(tools_changed=True))

    def rewrite(self, name: str, **changes: Any) -> None:
        """Change a tool's definition, as a server that turns after it was trusted would."""
        self.tools[name] = self.tools[name].model_copy(update=changes)

    async def announce_tools_changed(self) -> None:
        """Tell the connected client the tool list changed (it must have made a request before)."""
        if self._session is None:
            raise RuntimeError("no client has made a request yet")
        await self._session.send_tool_list_changed()

    async def _list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=list(self.tools.values()))

    async def _call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        self._session = ctx.session
        arguments = dict(params.arguments or {})
        self.calls.append((params.name, arguments))
        if params.name == "add":
            text = str(int(arguments["a"]) + int(arguments["b"]))
        elif params.name == "echo":
            text = str(arguments.get("message", ""))
        else:
            text = json.dumps({"done": params.name, "arguments": arguments}, sort_keys=True)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    async def _list_resources(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[types.Resource(name="readme", uri="toy://readme")])

    async def _read_resource(
        self, ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        contents = types.TextResourceContents(uri=params.uri, text="toy readme")
        return types.ReadResourceResult(contents=[contents])

    async def _list_prompts(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[types.Prompt(name="greet")])

    async def _get_prompt(
        self, ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
    ) -> types.GetPromptResult:
        message = types.PromptMessage(role="user", content=types.TextContent(type="text", text="hello"))
        return types.GetPromptResult(messages=[message])


class BusyToyServer(ToyServer):
    """The toy and four more tools: ``hang`` (answers only when cancelled, which ``cancelled`` counts),
    ``fail`` (a JSON-RPC error), ``big`` (a text of ``size`` characters) and ``report`` (one progress
    notification, then the progress token it was given)."""

    def __init__(self, name: str = "toy") -> None:
        super().__init__(name)
        self.tools["hang"] = _tool("hang", "Never answer.", {})
        self.tools["fail"] = _tool("fail", "Always fail.", {})
        self.tools["big"] = _tool("big", "A long text.", {"size": {"type": "integer"}})
        self.tools["report"] = _tool("report", "Report progress.", {})
        self.cancelled = anyio.Event()
        self.hanging = anyio.Event()

    async def _call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name in ("hang", "fail", "big", "report"):
            self.calls.append((params.name, dict(params.arguments or {})))
        if params.name == "hang":
            self.hanging.set()
            try:
                await anyio.sleep_forever()
            finally:
                self.cancelled.set()
        if params.name == "fail":
            raise MCPError(-32010, "the toy failed on purpose")
        if params.name == "big":
            size = int((params.arguments or {})["size"])
            return types.CallToolResult(content=[types.TextContent(type="text", text="x" * size)])
        if params.name == "report":
            await ctx.session.report_progress(1, 2, "half way")
            token = (ctx.meta or {}).get("progress_token")
            return types.CallToolResult(content=[types.TextContent(type="text", text=repr(token))])
        return await super()._call_tool(ctx, params)


async def _serve_stdio() -> None:
    toy = BusyToyServer("toy-stdio") if "--busy" in sys.argv else ToyServer("toy-stdio")
    async with stdio_server() as (read, write):
        await toy.server.run(read, write, toy.options())


if __name__ == "__main__":
    anyio.run(_serve_stdio)
