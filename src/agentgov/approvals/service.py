"""Approvals as a service (Art. 6: the user keeps the final say).

The gateway asks (``request``) when a decision says ask; the user, or a delegate the user named for
actions that are not user-only, approves or refuses later (API, CLI, console); the gateway runs the
approved call through ``consume``, which succeeds once and only for the exact agent, user, tool and
arguments (sha256 of their RFC 8785 form) approved, before the expiry. Waiting is asynchronous and
bounded: ``wait`` (long-poll) and ``changes`` (an event stream).

State changes are written first and then recorded; when recording fails the caller gets an error
and must not proceed (fail closed). A request is recorded before it is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

from agentgov.approvals.errors import ApprovalAlreadyDecided, ApprovalExpired, ApprovalUsed
from agentgov.approvals.model import (
    Approval,
    ApprovalInput,
    ApprovalState,
    ApprovalStatus,
    arguments_digest,
    check_consume,
    check_decider,
)
from agentgov.approvals.notify import ApprovalSignals, Notifier, NullNotifier
from agentgov.approvals.settings import ApprovalSettings
from agentgov.approvals.store import ApprovalStore
from agentgov.core.ids import new_id
from agentgov.errors import Forbidden, InvalidInput, NotFound
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.model import Decision, DecisionClass, ObligationKind
from agentgov.policy.service import AuthorityService
from agentgov.policy.store import Recorder
from agentgov.policy.versions import READERS, require_role

__all__ = ["ApprovalService"]

_USER_KEY = "approvals are decided by the user, or a delegate they named, each with their own user key"


class ApprovalService:
    def __init__(
        self,
        store: ApprovalStore,
        recorder: Recorder,
        authority: AuthorityService,
        *,
        settings: ApprovalSettings | None = None,
        notifier: Notifier | None = None,
        signals: ApprovalSignals | None = None,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.authority = authority
        self.clock = authority.clock
        self.settings = settings or ApprovalSettings()
        self.notifier: Notifier = notifier or NullNotifier()
        self.signals = signals or ApprovalSignals()

    # asking ----------------------------------------------------------------------------------------

    def _user_only(self, data: ApprovalInput, digest: str) -> bool:
        """Strictest of: the caller's word, the active policies, the decision it names (fail closed)."""
        strict = data.user_only or data.action.tool in self.authority.policies.user_only_tools()
        if data.decision_id is None:
            return strict
        row = self.authority.store.get_decision(data.decision_id)
        if row is None:
            raise NotFound(f"no decision {data.decision_id!r}")
        bound = (row["user_id"], row["agent_id"], row["server"], row["tool"], row["arguments_digest"])
        if bound != (data.user_id, data.agent_id, data.action.server, data.action.tool, digest):
            raise InvalidInput("decision_id names a decision about another call", field="decision_id")
        decision = Decision.model_validate(row["decision"])
        return (
            strict
            or decision.decision_class is DecisionClass.USER_ONLY
            or any(o.kind is ObligationKind.USER_APPROVAL for o in decision.obligations)
        )

    def request(self, who: Principal, data: ApprovalInput) -> dict[str, Any]:
        require_role(who, Role.ADMIN)
        ttl = timedelta(seconds=data.ttl_seconds) if data.ttl_seconds else self.settings.default_ttl
        if ttl > self.settings.max_ttl:
            raise InvalidInput(f"an approval lasts at most {self.settings.max_ttl}", field="ttl_seconds")
        digest = arguments_digest(data.arguments)
        now = self.clock.now()
        row: dict[str, Any] = {
            "id": new_id("apr"),
            "user_id": data.user_id,
            "agent_id": data.agent_id,
            "server": data.action.server,
            "tool": data.action.tool,
            "arguments": data.arguments,
            "arguments_digest": digest,
            "user_only": self._user_only(data, digest),
            "reasons": list(data.reasons),
            "decision_id": data.decision_id,
            "status": ApprovalStatus.PENDING.value,
            "created_at": now,
            "created_by": who.actor,
            "expires_at": now + ttl,
            **dict.fromkeys(("decided_at", "decided_by", "note", "used_at")),
        }
        approval = Approval.from_row(row)
        notice = approval.to_json(now, with_arguments=False)
        self.recorder.record("approval.requested", data.user_id, who.actor, _event(notice))
        self.store.insert(row)
        self.notifier.approval_requested(notice)
        return approval.to_json(now)

    # reading ---------------------------------------------------------------------------------------

    def _load(self, approval_id: str) -> Approval:
        row = self.store.get(approval_id)
        if row is None:
            raise NotFound(f"no approval {approval_id!r}")
        return Approval.from_row(row)

    def get(self, who: Principal, approval_id: str) -> dict[str, Any]:
        """The approval, for its user, a delegate who may decide it, an admin or a regulator."""
        approval = self._load(approval_id)
        if who.role not in READERS:
            may = who.role is Role.USER and (
                who.subject == approval.user_id
                or (not approval.user_only and who.subject in self.store.delegates(approval.user_id))
            )
            if not may:
                raise NotFound(f"no approval {approval_id!r}")
        return approval.to_json(self.clock.now())

    def list_approvals(
        self, who: Principal, *, status: ApprovalStatus | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """A user's own approvals and those they may decide as a delegate; everything for readers."""
        limit = min(limit, self.settings.max_page_size)
        value = status.value if status else None
        if who.role is Role.USER and who.subject:
            rows = self.store.list_approvals(
                user_id=who.subject,
                delegate_for=self.store.delegators(who.subject),
                status=value,
                limit=limit,
            )
        else:
            require_role(who, *READERS)
            rows = self.store.list_approvals(user_id=None, delegate_for=(), status=value, limit=limit)
        now = self.clock.now()
        return [Approval.from_row(r).to_json(now) for r in rows]

    async def wait(self, who: Principal, approval_id: str, seconds: float) -> dict[str, Any]:
        """Long-poll: the approval once it is no longer pending, or as it is after ``seconds`` (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(seconds, 0.0), self.settings.max_wait_s)
        view = await asyncio.to_thread(self.get, who, approval_id)
        while view["state"] == ApprovalState.PENDING and (left := deadline - loop.time()) > 0:
            await self.signals.wait(approval_id, min(left, self.settings.poll_interval_s))
            view = await asyncio.to_thread(self.get, who, approval_id)
        return view

    async def changes(self, who: Principal, approval_id: str) -> AsyncIterator[dict[str, Any] | None]:
        """The approval now and at each change until it is no longer pending; None as a keep-alive.
        Ends after ``stream_max_s`` at the latest."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.stream_max_s
        view = await asyncio.to_thread(self.get, who, approval_id)
        yield view
        sent = loop.time()
        while view["state"] == ApprovalState.PENDING and (left := deadline - loop.time()) > 0:
            await self.signals.wait(approval_id, min(left, self.settings.poll_interval_s))
            latest = await asyncio.to_thread(self.get, who, approval_id)
            if latest != view:
                view, sent = latest, loop.time()
                yield view
            elif loop.time() - sent >= self.settings.keepalive_s:
                sent = loop.time()
                yield None

    # deciding and running --------------------------------------------------------------------------

    def approve(self, who: Principal, approval_id: str, note: str | None = None) -> dict[str, Any]:
        return self._decide(who, approval_id, ApprovalStatus.APPROVED, note)

    def refuse(self, who: Principal, approval_id: str, note: str | None = None) -> dict[str, Any]:
        return self._decide(who, approval_id, ApprovalStatus.REFUSED, note)

    def _decide(
        self, who: Principal, approval_id: str, status: ApprovalStatus, note: str | None
    ) -> dict[str, Any]:
        if who.role is not Role.USER or not who.subject:
            raise Forbidden(_USER_KEY)
        if note is not None and len(note) > 1000:
            raise InvalidInput("a note is at most 1000 characters", field="note")
        approval = self._load(approval_id)
        check_decider(approval, who.subject, frozenset(self.store.delegates(approval.user_id)))
        now = self.clock.now()
        if not self.store.decide(approval_id, status.value, now, who.subject, note):
            approval = self._load(approval_id)
            if approval.state(now) is ApprovalState.EXPIRED:
                raise ApprovalExpired(f"approval {approval_id} expired: the agent has to ask again")
            raise ApprovalAlreadyDecided(f"approval {approval_id} is already {approval.state(now).value}")
        view = self._load(approval_id).to_json(now)
        self.recorder.record(f"approval.{status.value}", approval.user_id, who.actor, _event(view))
        self.signals.notify(approval_id)
        return view

    def consume(
        self,
        who: Principal,
        approval_id: str,
        *,
        agent_id: str,
        user_id: str,
        tool: str,
        arguments: Mapping[str, Any],
        server: str | None = None,
    ) -> dict[str, Any]:
        """Let the approved call run, once: exactly this agent, user, tool and arguments, before expiry."""
        require_role(who, Role.ADMIN)
        digest = arguments_digest(arguments)
        now = self.clock.now()

        def check() -> None:
            check_consume(
                self._load(approval_id),
                agent_id=agent_id,
                user_id=user_id,
                tool=tool,
                server=server,
                digest=digest,
                now=now,
            )

        check()
        if not self.store.use(approval_id, digest, now):
            check()  # says why: another caller used it in between
            raise ApprovalUsed(f"approval {approval_id} was already used")
        view = self._load(approval_id).to_json(now)
        self.recorder.record("approval.used", user_id, who.actor, _event(view))
        self.signals.notify(approval_id)
        return view

    # delegates -------------------------------------------------------------------------------------

    def delegates(self, who: Principal) -> dict[str, Any]:
        if who.role is not Role.USER or not who.subject:
            raise Forbidden("delegates are named by a user, for themself")
        return {"user_id": who.subject, "delegates": self.store.delegates(who.subject)}

    def set_delegates(self, who: Principal, delegate_ids: list[str]) -> dict[str, Any]:
        """Name the users who may decide this user's approvals, except user-only ones (replaces the list)."""
        if who.role is not Role.USER or not who.subject:
            raise Forbidden("delegates are named by a user, for themself")
        chosen = sorted(set(delegate_ids))
        if who.subject in chosen:
            raise InvalidInput("a user is not their own delegate", field="delegates")
        if len(chosen) > self.settings.max_delegates:
            raise InvalidInput(f"at most {self.settings.max_delegates} delegates", field="delegates")
        if bad := [d for d in chosen if not d or len(d) > 256 or any(c.isspace() for c in d)]:
            raise InvalidInput(f"not a user id: {bad[0]!r}", field="delegates")
        self.store.set_delegates(who.subject, chosen, self.clock.now())
        self.recorder.record("approval.delegates", who.subject, who.actor, {"delegates": chosen})
        return {"user_id": who.subject, "delegates": chosen}


def _event(view: Mapping[str, Any]) -> dict[str, Any]:
    """What goes on the record: the binding and the outcome, not the arguments (their digest only)."""
    keep = ("id", "state", "agent_id", "action", "arguments_digest", "user_only", "expires_at", "decided_by")
    return {k: view[k] for k in keep if view.get(k) is not None}
