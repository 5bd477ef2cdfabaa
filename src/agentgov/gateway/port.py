"""The gateway's one port to the guard: what the MCP proxy asks before and after each tool call.

The proxy owns the transport (sessions, the upstream, pins, elicitation); the guard owns every decision
(policy, grants, approvals, detectors, the record). A :class:`Gate` is the guard seen from the proxy.
Its adapter lives with the guard; :mod:`agentgov.gateway.testing` ships a scriptable one.

Contract, for whoever implements it:

- every method may raise; the proxy then fails closed (DESIGN "One tool call, end to end"): a raising
  ``check_call``, ``answer``, ``wait`` or ``check_result`` blocks the call, a raising
  ``visible_tools`` lists nothing, a raising ``open_session`` refuses the session;
- ``check_call`` returning ``ask`` carries the id of an approval bound to exactly these arguments;
  the proxy then asks the user (MCP elicitation) and reports the answer with ``answer``, or lets a
  decision taken elsewhere arrive through ``wait``; both return a fresh verdict, ``ask`` again while
  the approval is still pending;
- ``record`` puts a gateway event (a tool definition that changed, a first-use pin) on the record;
- ``answers_inline`` is true while ``check_call`` and ``check_result`` answer without ever suspending
  (a guard in this process serving one session over a local store): no timeout could interrupt them,
  so the proxy sets none; otherwise each is bounded by ``GatewaySettings.gate_timeout_s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mcp.types import CallToolResult, Tool

__all__ = ["CallAction", "CallVerdict", "Gate", "ResultAction", "ResultVerdict"]

CallAction = Literal["allow", "block", "ask"]
ResultAction = Literal["pass", "block"]


@dataclass(frozen=True, slots=True)
class CallVerdict:
    """The guard's answer to one tool call.

    ``reason`` is read by the model (it is the text of the error result of a blocked call) and by the
    user (in the approval prompt). ``arguments`` replaces the arguments forwarded upstream (redacted),
    None forwards them unchanged. ``approval_id`` names the pending approval of an ``ask``.
    """

    action: CallAction
    reason: str = ""
    arguments: dict[str, Any] | None = None
    approval_id: str | None = None

    def __post_init__(self) -> None:
        if self.action == "ask" and not self.approval_id:
            raise ValueError("an 'ask' verdict names the approval it waits for")


@dataclass(frozen=True, slots=True)
class ResultVerdict:
    """The guard's answer to a tool's result: pass it on (``result`` replaces it, redacted) or block it."""

    action: ResultAction
    reason: str = ""
    result: CallToolResult | None = None


class Gate(Protocol):
    @property
    def answers_inline(self) -> bool:
        """Whether ``check_call`` and ``check_result`` answer without suspending (see the contract)."""
        ...

    async def open_session(self, *, agent_id: str, user_id: str, task: str | None) -> str:
        """Start a guard session for one downstream MCP session; returns its id."""
        ...

    async def visible_tools(self, session: str, server: str, tools: list[Tool]) -> list[Tool]:
        """The tools this agent may see on ``server`` (already pinned and unchanged)."""
        ...

    async def check_call(
        self, session: str, server: str, tool: str, arguments: dict[str, Any]
    ) -> CallVerdict:
        """Decide a tool call before it reaches the upstream."""
        ...

    async def answer(self, session: str, approval_id: str, approved: bool) -> CallVerdict:
        """The user answered the approval in the client (MCP elicitation)."""
        ...

    async def wait(self, session: str, approval_id: str, timeout_s: float) -> CallVerdict:
        """Wait up to ``timeout_s`` for an approval decided elsewhere (console, API, CLI)."""
        ...

    async def check_result(
        self, session: str, server: str, tool: str, arguments: dict[str, Any], result: CallToolResult
    ) -> ResultVerdict:
        """Decide a tool's result before it reaches the client (``arguments`` as forwarded)."""
        ...

    async def record(self, kind: str, subject: str, payload: dict[str, Any]) -> None:
        """Put a gateway event on the record; raises when it cannot."""
        ...

    async def close_session(self, session: str) -> None:
        """The downstream session ended."""
        ...
