"""The guard: every tool call of an agent passes here before and after it runs (Art. 6, 7, 8, 10).

``check_call`` follows DESIGN "One tool call, end to end": (1) the agent is known and active in the
registry; (2) detectors read the arguments (personal information leaving, secrets), their findings
becoming the call's data categories; (3) provenance marks arguments carried over from untrusted tool
output; (4) the authority decides (class, grants, fences) and puts the decision on the record before
anything runs; (5) an ask becomes an approval request bound to the exact arguments, and a retry of the
same call runs once the user approved it. ``check_result`` runs the detectors on what the tool
returned: an injected instruction marks the session and every value in that result as hostile.

Fail closed throughout: an unknown, suspended or recalled agent is refused; a registry that cannot be
read refuses; a detector that fails makes the call ask (``unscanned``); anything unexpected inside the
guard refuses the call. Nothing runs unless ``CallCheck.allowed``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import ValidationError

from agentgov.approvals.model import ApprovalInput, ApprovalState, arguments_digest
from agentgov.approvals.service import ApprovalService
from agentgov.core.clock import Clock
from agentgov.detect.registry import DetectorSet, Outcome, default_set
from agentgov.errors import AgentGovError, Forbidden, NotFound
from agentgov.guard.provenance import ProvenanceSettings, source_label
from agentgov.guard.session import GuardSession, SessionTable
from agentgov.guard.status import StatusCache
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.model import ActionRef, ActionRequest, Effect, RequestContext, Venue
from agentgov.policy.service import AuthorityService
from agentgov.policy.store import Recorder

__all__ = ["CallCheck", "Guard", "GuardSettings", "ResultCheck"]

_log = logging.getLogger(__name__)
_ACTIONS_KEPT = 4096  # distinct (server, tool) pairs a guard keeps validated; past it, it starts over

# What detector findings mean as data categories of a call (the baseline pack asks on the sensitive ones).
_CATEGORY_OF = {
    "pii.cn_resident_id": "sensitive-personal",
    "pii.bank_card": "sensitive-personal",
    "pii.us_ssn": "sensitive-personal",
    "secret": "credentials",
    "pii": "personal",
}
UNSCANNED = "unscanned"  # a detector failed or timed out: the baseline asks


@dataclass(frozen=True)
class GuardSettings:
    # The policy deployment whose active policy set decides (see `agentgov policy activate`).
    deployment: str | None = None
    # An approval the guard asks for lasts this long; the user answers within it or the call is refused.
    approval_ttl_s: int = 900
    # Open sessions kept per guard; a gateway opens one per client session.
    max_sessions: int = 10_000
    # Calls a session remembers as waiting for an approval, so that asking again reuses the approval;
    # past this, the oldest is forgotten (asked again, that call gets a new approval).
    max_pending_approvals: int = 1024
    provenance: ProvenanceSettings = field(default_factory=ProvenanceSettings)


@dataclass(frozen=True)
class CallCheck:
    """The guard's answer to one call. Only ``allow`` may run, with ``arguments`` (redacted if asked)."""

    effect: Literal["allow", "deny", "ask"]
    reasons: tuple[str, ...]
    server: str
    tool: str
    arguments: dict[str, Any]
    decision_id: str | None = None
    record_index: int | None = None
    approval_id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.effect == "allow"

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class ResultCheck:
    findings: tuple[str, ...]  # categories found in the result
    hostile: bool  # an injected instruction, or a result that could not be scanned
    record_index: int | None = None


def _categories(outcome: Outcome) -> tuple[str, ...]:
    found = set()
    for finding in outcome.findings:
        key = finding.category if finding.category in _CATEGORY_OF else finding.category.split(".")[0]
        if key in _CATEGORY_OF:
            found.add(_CATEGORY_OF[key])
    if outcome.failed or outcome.truncated:  # a failed or partial scan cannot vouch for the call
        found.add(UNSCANNED)
    return tuple(sorted(found))


def result_text(value: Any) -> str:
    """The text a model would read from a tool result, for provenance."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


class Guard:
    def __init__(
        self,
        *,
        authority: AuthorityService,
        approvals: ApprovalService,
        recorder: Recorder,
        status: StatusCache,
        clock: Clock,
        detectors: DetectorSet | None = None,
        settings: GuardSettings | None = None,
    ) -> None:
        self.authority = authority
        self.approvals = approvals
        self.recorder = recorder
        self.status = status
        self.clock = clock
        self.detectors = detectors or default_set()
        self.settings = settings or GuardSettings()
        self.sessions = SessionTable(self.settings.max_sessions)
        self.principal = Principal(key_id="guard", role=Role.ADMIN)
        self._actions: dict[tuple[str, str], ActionRef] = {}  # the tools seen, validated once each

    def _action(self, server: str, tool: str) -> ActionRef:
        """The tool as policies name it; ValidationError when no policy can name it."""
        action = self._actions.get((server, tool))
        if action is None:
            action = ActionRef(tool=tool, server=server)
            if len(self._actions) >= _ACTIONS_KEPT:
                self._actions.clear()
            self._actions[server, tool] = action
        return action

    # sessions ----------------------------------------------------------------------------------

    def open_session(
        self, *, agent_id: str, user_id: str, task: str = "", venue: Venue = Venue.PRIVATE
    ) -> GuardSession:
        """Start a session for the user's request ``task``; refused at once if the agent may not act."""
        self.status.require_active(agent_id)
        session = GuardSession(
            agent_id=agent_id,
            user_id=user_id,
            task=task,
            venue=venue,
            opened_at=self.clock.now(),
            provenance=self.settings.provenance,
        )
        return self.sessions.add(session)

    def close_session(self, session_id: str) -> None:
        self.sessions.close(session_id)

    # calls -------------------------------------------------------------------------------------

    def check_call(
        self,
        session: GuardSession,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        approval_id: str | None = None,
    ) -> CallCheck:
        try:
            return self._check_call(session, server, tool, arguments, approval_id)
        except Forbidden as exc:  # an agent that may not act, a refused approval
            return self._refuse(session, server, tool, arguments, str(exc))
        except AgentGovError as exc:
            return self._refuse(
                session, server, tool, arguments, f"the guard cannot decide ({exc}): failing closed"
            )
        except Exception as exc:  # noqa: BLE001 - a bug inside the guard must refuse, never allow
            _log.exception("guard failure")
            return CallCheck(
                "deny",
                (f"guard failure ({exc.__class__.__name__}): failing closed",),
                server,
                tool,
                arguments,
            )

    def _check_call(
        self,
        session: GuardSession,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        approval_id: str | None,
    ) -> CallCheck:
        self.status.require_active(session.agent_id)  # 1: known and active, within the cache lifetime
        try:
            action = self._action(server, tool)
        except ValidationError:
            return self._refuse(
                session,
                server,
                tool,
                arguments,
                f"no policy can name the tool {tool[:200]!r} on {server[:200]!r}",
            )
        outcome = self.detectors.scan(arguments, where="arguments")  # 2
        with session.lock:
            provenance = session.sources.provenance(arguments)  # 3
        request = ActionRequest(
            agent_id=session.agent_id,
            user_id=session.user_id,
            action=action,
            arguments=arguments,
            context=RequestContext(
                venue=session.venue,
                time=self.clock.now(),
                provenance=provenance,
                data_categories=_categories(outcome),
                session_id=session.id,
            ),
        )
        record = self.authority.decide(
            request, actor=f"guard:{session.id}", deployment=self.settings.deployment
        )
        decision = record.decision  # 4: on the record before anything runs
        effect = decision.applied_effect
        decided = CallCheck(
            "deny",
            decision.reasons,
            server,
            tool,
            arguments,
            decision_id=record.id,
            record_index=record.record_index,
        )
        if effect is Effect.DENY:
            return decided
        if effect is Effect.REDACT:
            redacted = {k: ("[redacted]" if k in decision.redact_fields else v) for k, v in arguments.items()}
            return replace(decided, effect="allow", arguments=redacted)
        if effect is Effect.ALLOW:
            return replace(decided, effect="allow")
        return self._ask(session, request, decided, approval_id)  # 5

    def _ask(
        self, session: GuardSession, request: ActionRequest, decided: CallCheck, approval_id: str | None
    ) -> CallCheck:
        digest = arguments_digest(request.arguments)
        key = (request.action.server, request.action.tool, digest)
        with session.lock:
            known = approval_id or session.approvals.get(key)
        if known is not None:
            state = self._state(known)
            if state is ApprovalState.APPROVED:
                self.approvals.consume(
                    self.principal,
                    known,
                    agent_id=request.agent_id,
                    user_id=request.user_id,
                    tool=request.action.tool,
                    server=request.action.server,
                    arguments=request.arguments,
                )
                with session.lock:
                    session.approvals.pop(key, None)
                return replace(decided, effect="allow", reasons=(f"approved by the user ({known})",))
            if state is ApprovalState.PENDING:
                return replace(decided, effect="ask", approval_id=known)
            if state is ApprovalState.REFUSED:
                with session.lock:
                    session.approvals.pop(key, None)
                return replace(decided, reasons=(f"the user refused this call ({known})",))
        created = self.approvals.request(
            self.principal,
            ApprovalInput(
                agent_id=request.agent_id,
                user_id=request.user_id,
                action=request.action,
                arguments=request.arguments,
                decision_id=decided.decision_id,
                reasons=tuple(r[:1000] for r in decided.reasons[:20]),
                ttl_seconds=self.settings.approval_ttl_s,
            ),
        )
        with session.lock:
            session.approvals[key] = created["id"]
            while len(session.approvals) > self.settings.max_pending_approvals:
                del session.approvals[next(iter(session.approvals))]  # oldest first (insertion order)
        return replace(decided, effect="ask", approval_id=created["id"])

    def _state(self, approval_id: str) -> ApprovalState | None:
        try:
            return ApprovalState(self.approvals.get(self.principal, approval_id)["state"])
        except NotFound:
            return None

    def _refuse(
        self, session: GuardSession, server: str, tool: str, arguments: dict[str, Any], reason: str
    ) -> CallCheck:
        """A refusal the authority never saw (agent not active, guard failure): on the record too."""
        index = None
        try:
            index = self.recorder.record(
                "guard.call",
                session.user_id,
                f"guard:{session.id}",
                {
                    "agent_id": session.agent_id,
                    "action": f"{server}:{tool}",
                    "arguments_digest": arguments_digest(arguments),
                    "effect": "deny",
                    "reasons": [reason],
                },
            )
        except AgentGovError as exc:  # the refusal stands even when it cannot be recorded
            _log.warning("guard refusal not recorded: %s", exc)
        return CallCheck("deny", (reason,), server, tool, arguments, record_index=index)

    # results -----------------------------------------------------------------------------------

    def check_result(self, session: GuardSession, call: CallCheck, result: Any) -> ResultCheck:
        """Read what the tool returned: an injection or an unreadable result makes its values hostile."""
        outcome = self.detectors.scan(
            result if isinstance(result, str | dict | list) else str(result), where="result"
        )
        injected = any(f.category.startswith("injection") for f in outcome.findings)
        hostile = injected or outcome.failed or bool(outcome.truncated)  # unread text is not trusted
        with session.lock:
            session.sources.add(source_label(call.tool), result_text(result), hostile=hostile)
            if injected:
                session.injections_seen += 1
        categories = tuple(sorted({f.category for f in outcome.findings}))
        index = None
        if hostile or categories:
            index = self.recorder.record(
                "guard.result",
                session.user_id,
                f"guard:{session.id}",
                {
                    "agent_id": session.agent_id,
                    "action": f"{call.server}:{call.tool}",
                    "decision_id": call.decision_id,
                    "categories": list(categories),
                    "hostile": hostile,
                    "failures": [f.detector for f in outcome.failures],
                },
            )
        return ResultCheck(categories, hostile, index)
