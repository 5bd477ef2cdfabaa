"""One downstream MCP session through the gateway: its guard session, its upstream, and the path of each
tool call (DESIGN "One tool call, end to end").

A call is refused unless its tool is pinned and unchanged; then the guard decides. ``block`` comes back
as a tool result with ``isError`` and a reason the model can read; ``ask`` shows the user an approval
form when the client supports elicitation, or waits a while for a decision taken elsewhere and then
hands back the approval id; ``allow`` forwards the (possibly redacted) arguments and lets the guard
check the result. Anything that fails inside the guard blocks the call: it is never forwarded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import anyio
from mcp import ClientSession
from mcp.client import IncomingMessage
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INTERNAL_ERROR,
    CallToolResult,
    ElicitResult,
    InitializeResult,
    PaginatedRequestParams,
    PromptListChangedNotification,
    ResourceListChangedNotification,
    ResourceUpdatedNotification,
    ServerNotification,
    TextContent,
    Tool,
    ToolListChangedNotification,
)
from pydantic import ValidationError

from agentgov.core.clock import Clock, SystemClock
from agentgov.errors import AgentGovError, Unavailable
from agentgov.gateway.catalog import GuardDown, ToolCatalog
from agentgov.gateway.pin_store import PinStore
from agentgov.gateway.port import CallVerdict, Gate, ResultVerdict
from agentgov.gateway.relay import UpstreamLink
from agentgov.gateway.settings import GatewaySettings
from agentgov.gateway.upstream import Upstream, connect

__all__ = [
    "APPROVAL_SCHEMA",
    "GUARD_DOWN",
    "META_KEY",
    "Downstream",
    "GatewaySession",
    "Identity",
    "open_session",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

META_KEY = "dev.agentgov/gateway"  # _meta of results the gateway writes: {"action": ..., "approval_id": ...}
GUARD_DOWN = "guard unavailable: failing closed"
PINS_DOWN = "tool pins unavailable: failing closed"

# The approval form (MCP elicitation, form mode): one yes/no, nothing else asked of the user.
APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approve": {
            "type": "boolean",
            "title": "Approve this call",
            "description": "Yes runs this call once, with these arguments. No refuses it.",
        }
    },
    "required": ["approve"],
}


@dataclass(frozen=True, slots=True)
class Identity:
    """Who acts through the session: the agent, the user it acts for, and the task if known."""

    agent_id: str
    user_id: str
    task: str | None = None


class Downstream(Protocol):
    """The client side of the call in progress, as the call path needs it."""

    @property
    def can_elicit(self) -> bool: ...

    @property
    def wants_progress(self) -> bool:
        """Whether the client asked for progress notifications of this call."""
        ...

    async def elicit(self, message: str, schema: dict[str, Any]) -> ElicitResult: ...

    async def progress(self, progress: float, total: float | None, message: str | None) -> None: ...


def blocked(reason: str, **meta: Any) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=f"Blocked by agentgov: {reason}")],
        is_error=True,
        _meta={META_KEY: {"action": "block", **meta}},
    )


def pending(verdict: CallVerdict) -> CallToolResult:
    approval = verdict.approval_id
    text = (
        f"This call needs the user's approval ({approval}) and was not run. {verdict.reason}".rstrip()
        + f"\nThe user can approve it with `agentgov approvals approve {approval}` (or in the console); "
        "then retry the same call with the same arguments."
    )
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        is_error=True,
        _meta={META_KEY: {"action": "ask", "approval_id": approval}},
    )


def _approved(result: ElicitResult) -> bool | None:
    """True or False when the user answered the form, None when they dismissed it."""
    if result.action == "decline":
        return False
    if result.action == "accept" and result.content is not None:
        answer = result.content.get("approve")
        if isinstance(answer, bool):
            return answer
    return None


class GatewaySession:
    def __init__(
        self,
        *,
        gate: Gate,
        gate_session: str,
        identity: Identity,
        upstream: Upstream,
        client: ClientSession,
        link: UpstreamLink,
        info: InitializeResult,
        store: PinStore,
        settings: GatewaySettings,
        clock: Clock,
    ) -> None:
        self.gate = gate
        self.id = gate_session
        self.identity = identity
        self.server = upstream.name
        self.client = client
        self.link = link
        self.info = info
        self.settings = settings
        self.catalog = ToolCatalog(upstream.name, store, gate, settings, clock)
        self._notify: Callable[[ServerNotification], Awaitable[None]] | None = None

    # tools -----------------------------------------------------------------------------------------

    async def list_tools(self) -> list[Tool]:
        """The upstream's tools that are pinned, unchanged and visible to this agent."""
        try:
            view = await self.catalog.refresh(self._fetch_tools)
            visible = await self._gate_call(
                self.gate.visible_tools(self.id, self.server, list(view.report.allowed))
            )
        except GuardDown as exc:
            raise MCPError(INTERNAL_ERROR, GUARD_DOWN) from exc
        except AgentGovError as exc:
            raise MCPError(INTERNAL_ERROR, PINS_DOWN) from exc
        return [t for t in visible if isinstance(t, Tool) and t.name in view.offered]

    async def call_tool(self, name: str, arguments: dict[str, Any], downstream: Downstream) -> CallToolResult:
        refusal = await self._refusal(name)
        if refusal is not None:
            return blocked(refusal)
        try:
            verdict = _call_verdict(
                await self._gate_call(
                    self.gate.check_call(self.id, self.server, name, arguments),
                    inline=self.gate.answers_inline,
                )
            )
            if verdict.action == "ask":
                verdict = await self._settle(name, arguments, verdict, downstream)
        except GuardDown:
            return blocked(GUARD_DOWN)
        if verdict.action == "block":
            return blocked(verdict.reason or "refused by policy")
        if verdict.action == "ask":
            return pending(verdict)
        forwarded = verdict.arguments if verdict.arguments is not None else arguments
        result = await self._forward(name, forwarded, downstream)
        return await self._checked(name, forwarded, result)

    async def _refusal(self, name: str) -> str | None:
        """Why the tool may not be called (not pinned, changed, unknown), or None."""
        try:
            view = await self.catalog.current(self._fetch_tools)
            if name not in view.offered:  # approved, or changed, since the last listing?
                view = await self.catalog.refresh(self._fetch_tools)
        except GuardDown:
            return GUARD_DOWN
        except AgentGovError:
            return PINS_DOWN
        return None if name in view.offered else view.refusal(self.server, name)

    async def _settle(
        self, tool: str, arguments: dict[str, Any], verdict: CallVerdict, downstream: Downstream
    ) -> CallVerdict:
        """Turn an ``ask`` into the user's answer, a decision taken elsewhere, or a pending ``ask``."""
        approval = verdict.approval_id
        if approval is None:  # CallVerdict refuses this; a foreign verdict object might not
            raise GuardDown("an ask without an approval id")
        if downstream.can_elicit:
            answer = await self._elicit(tool, arguments, verdict, downstream)
            if answer is None:
                return verdict
            return _call_verdict(await self._gate_call(self.gate.answer(self.id, approval, answer)))
        wait = self.settings.ask_wait_s
        late = self.gate.wait(self.id, approval, wait)
        return _call_verdict(await self._gate_call(late, limit_s=wait + self.settings.gate_timeout_s))

    async def _elicit(
        self, tool: str, arguments: dict[str, Any], verdict: CallVerdict, downstream: Downstream
    ) -> bool | None:
        summary = json.dumps(arguments, ensure_ascii=False, sort_keys=True, default=str)
        limit = self.settings.argument_summary_chars
        if len(summary) > limit:
            summary = summary[:limit] + "…"
        message = (
            f"Agent {self.identity.agent_id} asks to call {tool!r} on {self.server!r}.\n"
            f"{verdict.reason}\nArguments: {summary}\nApprove this call once?"
        )
        try:
            with anyio.move_on_after(self.settings.elicitation_timeout_s):
                return _approved(await downstream.elicit(message, APPROVAL_SCHEMA))
        except (MCPError, ValidationError):
            logger.warning("the client did not answer the approval form; the approval stays pending")
        return None

    async def _forward(self, name: str, arguments: dict[str, Any], downstream: Downstream) -> CallToolResult:
        try:
            if downstream.wants_progress:
                return await self.client.call_tool(name, arguments, progress_callback=downstream.progress)
            # Sent on the upstream's wire directly; the result checked as the SDK client checks it.
            result = await self.link.call_tool(
                name, arguments, self.settings.upstream_call_timeout_s, self.info.protocol_version
            )
            if not result.is_error:
                await self.client.validate_tool_result(name, result)
            return result
        except (RuntimeError, ValidationError) as exc:
            # A result the SDK refused (malformed, or not matching the tool's output schema).
            raise MCPError(INTERNAL_ERROR, f"upstream {self.server!r} returned an invalid result") from exc

    async def _checked(self, tool: str, arguments: dict[str, Any], result: CallToolResult) -> CallToolResult:
        size = len(result.model_dump_json(by_alias=True, exclude_none=True))
        if size > self.settings.max_result_bytes:
            return blocked(
                f"the result is {size} bytes, over the gateway's limit of {self.settings.max_result_bytes}"
            )
        try:
            verdict = await self._gate_call(
                self.gate.check_result(self.id, self.server, tool, arguments, result),
                inline=self.gate.answers_inline,
            )
            if not isinstance(verdict, ResultVerdict):
                raise GuardDown("the guard answered with something other than a ResultVerdict")
        except GuardDown:
            return blocked(GUARD_DOWN)
        if verdict.action == "block":
            return blocked(verdict.reason or "result withheld by policy")
        return verdict.result if verdict.result is not None else result

    async def _fetch_tools(self) -> list[Tool]:
        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(self.settings.max_tool_pages):
            page = await self.client.list_tools(
                params=PaginatedRequestParams(cursor=cursor) if cursor else None
            )
            tools.extend(page.tools)
            if len(tools) > self.settings.max_tools:
                raise MCPError(
                    INTERNAL_ERROR,
                    f"upstream {self.server!r} lists more than {self.settings.max_tools} tools",
                )
            cursor = page.next_cursor
            if not cursor:
                return tools
        raise MCPError(INTERNAL_ERROR, f"upstream {self.server!r} lists tools over too many pages")

    async def _gate_call(
        self, call: Awaitable[T], limit_s: float | None = None, *, inline: bool = False
    ) -> T:
        """The gate's answer, bounded in time unless it comes ``inline`` (the gate never suspends, so a
        timeout could not interrupt it); anything it raises becomes GuardDown, and the call fails closed."""
        try:
            if inline:
                return await call
            with anyio.fail_after(self.settings.gate_timeout_s if limit_s is None else limit_s):
                return await call
        except Exception as exc:
            logger.exception("a call to the guard failed; failing closed")
            raise GuardDown(str(exc)) from exc

    # notifications ---------------------------------------------------------------------------------

    def attach(self, notify: Callable[[ServerNotification], Awaitable[None]]) -> None:
        """Where notifications of the upstream go downstream (set by the MCP server on each request)."""
        self._notify = notify

    async def on_upstream_message(self, message: IncomingMessage) -> None:
        if isinstance(message, Exception):
            logger.warning("upstream %s: transport error %s", self.server, type(message).__name__)
            return
        forward = False
        if isinstance(message, ToolListChangedNotification):
            self.catalog.invalidate()  # the next call or listing fetches and reviews the tools again
            forward = True
        elif isinstance(message, ResourceListChangedNotification | ResourceUpdatedNotification):
            forward = self.settings.forward_resources
        elif isinstance(message, PromptListChangedNotification):
            forward = self.settings.forward_prompts
        if forward and self._notify is not None:
            try:
                await self._notify(message)
            except Exception:
                logger.exception("could not pass a notification of %s downstream", self.server)


def _call_verdict(value: object) -> CallVerdict:
    if not isinstance(value, CallVerdict):
        raise GuardDown("the guard answered with something other than a CallVerdict")
    return value


@asynccontextmanager
async def open_session(
    upstream: Upstream,
    *,
    gate: Gate,
    identity: Identity,
    store: PinStore,
    settings: GatewaySettings,
    clock: Clock | None = None,
) -> AsyncIterator[GatewaySession]:
    """Connect to the upstream, open the guard session, and close both on exit."""
    sink: list[GatewaySession] = []

    async def relay(message: IncomingMessage) -> None:
        if sink:
            await sink[0].on_upstream_message(message)

    async with connect(upstream, settings, relay) as (client, link, info):
        try:
            with anyio.fail_after(settings.gate_timeout_s):
                session_id = await gate.open_session(
                    agent_id=identity.agent_id, user_id=identity.user_id, task=identity.task
                )
        except Exception as exc:
            logger.exception("the guard did not open a session")
            raise Unavailable(f"{GUARD_DOWN} (no guard session)") from exc
        session = GatewaySession(
            gate=gate,
            gate_session=session_id,
            identity=identity,
            upstream=upstream,
            client=client,
            link=link,
            info=info,
            store=store,
            settings=settings,
            clock=clock or SystemClock(),
        )
        sink.append(session)
        try:
            yield session
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(settings.gate_timeout_s):
                try:
                    await gate.close_session(session_id)
                except Exception:
                    logger.exception("the guard did not close session %s", session_id)
