"""A scriptable :class:`~agentgov.gateway.port.Gate` for tests and demos.

It decides nothing by itself: each tool has a rule (``allow``, ``block``, ``ask``, or a function), and a
tool without one gets ``default``, which is ``block`` unless the script says otherwise (fail closed).
Approvals are bound to the session, the tool and the digest of the exact arguments, are decided by the
script (:meth:`ScriptedGate.decide`) or by the user's answer, and allow one call. Any method named in
``failing`` raises, to exercise the gateway's fail-closed paths. Everything asked is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from mcp.types import CallToolResult, Tool

from agentgov.core.digest import digest_json
from agentgov.gateway.port import CallAction, CallVerdict, ResultVerdict

__all__ = ["ScriptedApproval", "ScriptedGate"]

CallRule = CallAction | Callable[[str, dict[str, Any]], CallVerdict]
ResultRule = ResultVerdict | Callable[[CallToolResult], ResultVerdict]


@dataclass
class ScriptedApproval:
    id: str
    session: str
    tool: str
    arguments_digest: str
    state: Literal["pending", "approved", "refused", "used"] = "pending"
    decided: anyio.Event = field(default_factory=anyio.Event)


class ScriptedGate:
    answers_inline = False  # its checks may wait (a test holding them back): the proxy bounds them

    def __init__(
        self,
        rules: Mapping[str, CallRule] | None = None,
        *,
        default: CallAction = "block",
        reasons: Mapping[str, str] | None = None,
    ) -> None:
        self.rules: dict[str, CallRule] = dict(rules or {})
        self.default: CallAction = default
        self.reasons: dict[str, str] = dict(reasons or {})
        self.result_rules: dict[str, ResultRule] = {}
        self.hidden: set[str] = set()
        self.failing: set[str] = set()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.records: list[tuple[str, str, dict[str, Any]]] = []
        self.approvals: dict[str, ScriptedApproval] = {}
        self.log: list[tuple[str, str]] = []  # (method, tool or session)
        self._asked = anyio.Event()
        self.closed = anyio.Event()  # set when a session is closed

    def _enter(self, method: str, subject: str) -> None:
        self.log.append((method, subject))
        if method in self.failing:
            raise RuntimeError(f"scripted failure in {method}")

    async def open_session(self, *, agent_id: str, user_id: str, task: str | None) -> str:
        self._enter("open_session", agent_id)
        session = f"gs_{len(self.sessions) + 1}"
        self.sessions[session] = {"agent_id": agent_id, "user_id": user_id, "task": task, "open": True}
        return session

    async def visible_tools(self, session: str, server: str, tools: list[Tool]) -> list[Tool]:
        self._enter("visible_tools", session)
        return [t for t in tools if t.name not in self.hidden]

    async def check_call(
        self, session: str, server: str, tool: str, arguments: dict[str, Any]
    ) -> CallVerdict:
        self._enter("check_call", tool)
        rule = self.rules.get(tool, self.default)
        if callable(rule):
            return rule(tool, arguments)
        if rule == "ask":
            return self._ask(session, tool, arguments)
        return CallVerdict(rule, reason=self.reasons.get(tool, f"scripted {rule} of {tool}"))

    def _ask(self, session: str, tool: str, arguments: dict[str, Any]) -> CallVerdict:
        digest = digest_json(arguments)
        for approval in self.approvals.values():
            if (approval.session, approval.tool, approval.arguments_digest) != (session, tool, digest):
                continue
            if approval.state in ("approved", "refused", "pending"):
                return self._resolve(approval)
        approval = ScriptedApproval(f"apr_{len(self.approvals) + 1}", session, tool, digest)
        self.approvals[approval.id] = approval
        self._asked.set()
        self._asked = anyio.Event()
        return self._resolve(approval)

    def _resolve(self, approval: ScriptedApproval) -> CallVerdict:
        if approval.state == "approved":
            approval.state = "used"  # one call per approval
            return CallVerdict("allow", reason="approved by the user")
        if approval.state in ("refused", "used"):
            return CallVerdict("block", reason="the user refused this call")
        reason = self.reasons.get(approval.tool, f"{approval.tool} needs the user's approval")
        return CallVerdict("ask", reason=reason, approval_id=approval.id)

    def decide(self, approval_id: str, approved: bool) -> None:
        approval = self.approvals[approval_id]
        if approval.state == "pending":
            approval.state = "approved" if approved else "refused"
        approval.decided.set()

    async def approval_requested(self, count: int = 1) -> str:
        """The id of the ``count``-th approval asked for, once it has been asked for."""
        while len(self.approvals) < count:
            await self._asked.wait()
        return list(self.approvals)[count - 1]

    async def answer(self, session: str, approval_id: str, approved: bool) -> CallVerdict:
        self._enter("answer", approval_id)
        self.decide(approval_id, approved)
        return self._resolve(self.approvals[approval_id])

    async def wait(self, session: str, approval_id: str, timeout_s: float) -> CallVerdict:
        self._enter("wait", approval_id)
        approval = self.approvals[approval_id]
        with anyio.move_on_after(timeout_s):
            await approval.decided.wait()
        return self._resolve(approval)

    async def check_result(
        self, session: str, server: str, tool: str, arguments: dict[str, Any], result: CallToolResult
    ) -> ResultVerdict:
        self._enter("check_result", tool)
        rule = self.result_rules.get(tool)
        if rule is None:
            return ResultVerdict("pass")
        return rule(result) if callable(rule) else rule

    async def record(self, kind: str, subject: str, payload: dict[str, Any]) -> None:
        self._enter("record", subject)
        self.records.append((kind, subject, payload))

    async def close_session(self, session: str) -> None:
        self._enter("close_session", session)
        self.sessions[session]["open"] = False
        self.closed.set()
