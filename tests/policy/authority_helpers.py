"""Builders shared by the authority service and API tests: a small pack, services, requests, grants."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from agentgov.approvals import tables as approval_tables
from agentgov.approvals.notify import Notifier
from agentgov.approvals.settings import ApprovalSettings
from agentgov.approvals.wiring import AuthorityServices, open_authority
from agentgov.core.clock import FixedClock, isoformat_z
from agentgov.core.validation import validate_model
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy import ActionRequest, Pack
from agentgov.policy import tables as policy_tables
from agentgov.policy.store import MemoryRecorder
from agentgov.policy.versions import PolicyMode, PolicySource
from agentgov.server.routes_authority import install_authority
from tests.conftest import Api

ADMIN = Principal(key_id="t-admin", role=Role.ADMIN)
REGULATOR = Principal(key_id="t-regulator", role=Role.REGULATOR)
ALICE = Principal(key_id="t-alice", role=Role.USER, subject="alice")
BOB = Principal(key_id="t-bob", role=Role.USER, subject="bob")
AGENT = "agent-1"

POLICIES = """
@id("t.read")
@decision_class("autonomous")
permit (principal, action in Action::"t:read", resource);

@id("t.pay")
@decision_class("user_authorized")
permit (principal, action == Action::"pay", resource);

@id("t.password")
@decision_class("user_only")
@reason("only the user changes the password")
permit (principal, action == Action::"set_password", resource);

@id("t.any")
permit (principal, action, resource);

@id("t.wipe")
@reason("wiping the disk is never allowed")
forbid (principal, action == Action::"wipe", resource);
"""

TOOLS: dict[str, Any] = {
    "look": {"kind": "read_only", "groups": ["t:read"]},
    "pay": {"kind": "side_effect", "arguments": {"amount": "decimal", "to": "String"}},
    "set_password": {"kind": "side_effect", "arguments": {"password": "String"}},
    "wipe": {"kind": "side_effect"},
}


def source(policies: str = POLICIES, **fields: Any) -> PolicySource:
    pack = validate_model(Pack, {"name": "t", "policies": policies, "tools": TOOLS, **fields})
    return PolicySource(extra=(pack,))


def open_services(
    engine: Engine,
    clock: FixedClock,
    *,
    notifier: Notifier | None = None,
    settings: ApprovalSettings | None = None,
) -> tuple[AuthorityServices, MemoryRecorder]:
    recorder = MemoryRecorder()
    return open_authority(engine, clock, recorder, notifier=notifier, approval_settings=settings), recorder


def activate(
    svc: AuthorityServices, mode: PolicyMode = PolicyMode.ENFORCE, src: PolicySource | None = None
) -> str:
    digest: str = svc.authority.policies.load(ADMIN, src or source())["digest"]
    svc.authority.policies.activate(ADMIN, digest, mode)
    return digest


def request(
    clock: FixedClock,
    tool: str,
    *,
    server: str = "srv",
    venue: str = "private",
    user: str = "alice",
    agent: str = AGENT,
    at: datetime | None = None,
    **arguments: Any,
) -> ActionRequest:
    return validate_model(
        ActionRequest,
        {
            "agent_id": agent,
            "user_id": user,
            "action": {"tool": tool, "server": server},
            "arguments": arguments,
            "context": {"venue": venue, "time": isoformat_z(at or clock.now())},
        },
    )


def grant_doc(clock: FixedClock, tool: str = "pay", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "grantor": "alice",
        "agent_id": AGENT,
        "actions": [{"tool": tool, "server": "srv"}],
        "venues": ["private"],
        "not_before": isoformat_z(clock.now() - timedelta(hours=1)),
        "expires_at": isoformat_z(clock.now() + timedelta(days=7)),
    }
    doc.update(fields)
    return doc


def count(engine: Engine, table_name: str) -> int:
    table = getattr(policy_tables, table_name, None)
    if table is None:
        table = getattr(approval_tables, table_name)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


class AuthorityApi(Api):
    """The conftest Api with the authority routers installed, and keys for users bob and carol."""

    def __init__(self, engine: Engine, clock: FixedClock, *, notifier: Notifier | None = None) -> None:
        super().__init__(engine, clock)
        self.recorder = MemoryRecorder()
        self.services = install_authority(
            self.client.app,  # type: ignore[arg-type]
            engine,
            clock=clock,
            recorder=self.recorder,
            notifier=notifier,
            approval_settings=ApprovalSettings(poll_interval_s=0.05),
        )
        for user in ("bob", "carol"):
            self.keys[user] = self.keystore.create("user", subject=user).key
        self.keys["alice"] = self.keys["user"]


def decide_via_api(api: AuthorityApi, clock: FixedClock, tool: str, **arguments: Any) -> dict[str, Any]:
    """POST /v1/decisions as the admin (the gateway's role); the decision record."""
    body = {"request": request(clock, tool, **arguments).model_dump(mode="json")}
    response = api.client.post("/v1/decisions", json=body, headers=api.auth("admin"))
    assert response.status_code == 200, response.text
    made: dict[str, Any] = response.json()
    return made


def ask_via_api(api: AuthorityApi, arguments: dict[str, Any], tool: str = "pay", **fields: Any) -> str:
    """POST /v1/approvals for alice's agent on server srv; the approval id."""
    body = {
        "agent_id": AGENT,
        "user_id": "alice",
        "action": {"tool": tool, "server": "srv"},
        "arguments": arguments,
        **fields,
    }
    response = api.client.post("/v1/approvals", json=body, headers=api.auth("admin"))
    assert response.status_code == 201, response.text
    approval_id: str = response.json()["id"]
    return approval_id
