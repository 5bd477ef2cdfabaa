"""Approvals, on SQLite and PostgreSQL: bound to the exact call, decided by the user or a delegate
(never for a user-only action), run at most once, refused after expiry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from agentgov.approvals import (
    ApprovalAlreadyDecided,
    ApprovalArgumentsMismatch,
    ApprovalBindingMismatch,
    ApprovalExpired,
    ApprovalInput,
    ApprovalPending,
    ApprovalRefused,
    ApprovalUsed,
    DelegateMayNotDecide,
    MemoryNotifier,
)
from agentgov.approvals.wiring import AuthorityServices
from agentgov.core.clock import FixedClock
from agentgov.errors import Forbidden, InvalidInput
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.store import MemoryRecorder
from tests.policy.authority_helpers import ADMIN, AGENT, ALICE, BOB, activate, open_services, request

CAROL = Principal(key_id="t-carol", role=Role.USER, subject="carol")
PAY = {"to": "bob", "amount": 50, "memo": {"lines": ["rent", "march"]}}
Svc = tuple[AuthorityServices, MemoryRecorder, MemoryNotifier]


@pytest.fixture
def svc(engine: Engine, clock: FixedClock) -> Svc:
    notifier = MemoryNotifier()
    services, recorder = open_services(engine, clock, notifier=notifier)
    activate(services)
    return services, recorder, notifier


def _ask(services: AuthorityServices, tool: str = "pay", **fields: Any) -> str:
    data = ApprovalInput.model_validate(
        {"agent_id": AGENT, "user_id": "alice", "action": {"tool": tool, "server": "srv"}, "arguments": PAY}
        | fields
    )
    approval_id: str = services.approvals.request(ADMIN, data)["id"]
    return approval_id


def _consume(services: AuthorityServices, approval_id: str, **overrides: Any) -> dict[str, Any]:
    call: dict[str, Any] = {
        "agent_id": AGENT,
        "user_id": "alice",
        "tool": "pay",
        "arguments": PAY,
    } | overrides
    return services.approvals.consume(ADMIN, approval_id, **call)


def test_approved_action_runs_once_and_a_second_use_is_refused(svc: Svc) -> None:
    services, recorder, notifier = svc
    approval_id = _ask(services)
    assert "arguments" not in notifier.notices[0]  # a webhook learns that, not what
    with pytest.raises(ApprovalPending):
        _consume(services, approval_id)
    services.approvals.approve(ALICE, approval_id, "fine")
    reordered = {"memo": {"lines": ["rent", "march"]}, "amount": 50.0, "to": "bob"}  # same canonical form
    assert _consume(services, approval_id, arguments=reordered, server="srv")["state"] == "used"
    with pytest.raises(ApprovalUsed):
        _consume(services, approval_id)
    assert recorder.kinds()[-3:] == ["approval.requested", "approval.approved", "approval.used"]


def test_approval_replayed_with_other_arguments_is_rejected(svc: Svc) -> None:
    services, _, _ = svc
    approval_id = _ask(services)
    services.approvals.approve(ALICE, approval_id)
    with pytest.raises(ApprovalArgumentsMismatch):
        _consume(services, approval_id, arguments={**PAY, "to": "mallory"})
    with pytest.raises(ApprovalArgumentsMismatch):
        _consume(services, approval_id, arguments={**PAY, "amount": 5000})
    assert _consume(services, approval_id)["state"] == "used"  # the approved call itself still runs


def test_approval_for_another_agent_user_or_tool_is_refused(svc: Svc) -> None:
    services, _, _ = svc
    approval_id = _ask(services)
    services.approvals.approve(ALICE, approval_id)
    for other in ({"agent_id": "agent-2"}, {"user_id": "bob"}, {"tool": "wipe"}, {"server": "elsewhere"}):
        with pytest.raises(ApprovalBindingMismatch):
            _consume(services, approval_id, **other)


def test_approval_after_expiry_is_refused(svc: Svc, clock: FixedClock) -> None:
    services, _, _ = svc
    approved = _ask(services, ttl_seconds=60)
    services.approvals.approve(ALICE, approved)
    undecided = _ask(services, ttl_seconds=60)
    clock.advance(timedelta(seconds=61))
    with pytest.raises(ApprovalExpired):
        _consume(services, approved)
    with pytest.raises(ApprovalExpired):
        services.approvals.approve(ALICE, undecided)
    assert services.approvals.get(ALICE, undecided)["state"] == "expired"


def test_refused_approval_never_runs_and_is_decided_once(svc: Svc) -> None:
    services, _, _ = svc
    approval_id = _ask(services)
    services.approvals.refuse(ALICE, approval_id, "not this month")
    with pytest.raises(ApprovalRefused):
        _consume(services, approval_id)
    with pytest.raises(ApprovalAlreadyDecided):
        services.approvals.approve(ALICE, approval_id)


def test_delegate_trying_to_approve_a_user_only_action_is_refused(svc: Svc) -> None:
    services, recorder, _ = svc
    services.approvals.set_delegates(ALICE, ["bob"])
    # The caller says "not user-only"; the active policies say otherwise, and they win.
    user_only = _ask(services, "set_password", user_only=False)
    with pytest.raises(DelegateMayNotDecide) as caught:
        services.approvals.approve(BOB, user_only)
    assert caught.value.code == "approval_user_only"
    with pytest.raises(DelegateMayNotDecide):
        services.approvals.refuse(BOB, user_only)
    assert services.approvals.list_approvals(BOB) == []  # not even shown to the delegate
    assert services.approvals.approve(ALICE, user_only)["decided_by"] == "alice"
    delegated = _ask(services)
    assert services.approvals.approve(BOB, delegated)["decided_by"] == "bob"
    with pytest.raises(Forbidden):
        services.approvals.approve(CAROL, _ask(services))  # not a delegate
    with pytest.raises(Forbidden):
        services.approvals.approve(ADMIN, _ask(services))  # an admin never decides for a user
    assert "approval.delegates" in recorder.kinds()


def test_user_only_is_taken_from_the_decision_it_names(svc: Svc, clock: FixedClock) -> None:
    services, _, _ = svc
    made = services.authority.decide(request(clock, "set_password", password="hunter2"), actor="gw")
    approval_id = _ask(services, "set_password", decision_id=made.id, arguments={"password": "hunter2"})
    assert services.approvals.get(ALICE, approval_id)["user_only"] is True
    with pytest.raises(InvalidInput, match="another call"):
        _ask(services, "set_password", decision_id=made.id, arguments={"password": "other"})
