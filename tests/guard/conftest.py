"""A registered agent, an active policy set (baseline + payments), a user's grant, and a guard over them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock, isoformat_z
from agentgov.guard import GuardRuntime, open_guard
from agentgov.guard.status import StatusSettings
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.store import MemoryRecorder
from agentgov.policy.versions import PolicyMode, PolicySource
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from tests.conftest import REGISTRAR, declaration, org_doc

ADMIN = Principal(key_id="t-admin", role=Role.ADMIN)
ALICE = Principal(key_id="t-alice", role=Role.USER, subject="alice")
KNOWN_PAYEE = "GB29NWBK60161331926819"
AGENT = "urn:agent:acme.example:payer"


def register_agent(engine: Engine, clock: FixedClock) -> RegistryService:
    registry = RegistryService(RegistryStore(engine), clock)
    org = registry.create_org(REGISTRAR, org_doc())
    dev = Principal(key_id="t-dev", role=Role.DEVELOPER, org_id=org.id)
    registry.register_agent(dev, "acme.example", "payer", declaration())
    registry.move(dev, AGENT, "submit")
    registry.move(REGISTRAR, AGENT, "approve")
    return registry


def transfer_grant(clock: FixedClock, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "grantor": "alice",
        "agent_id": AGENT,
        "actions": [{"tool": "send_money", "server": "bank"}],
        "constraints": [{"op": "range", "argument": "amount", "min": 0, "max": 500}],
        "venues": ["private"],
        "not_before": isoformat_z(clock.now() - timedelta(hours=1)),
        "expires_at": isoformat_z(clock.now() + timedelta(days=7)),
    }
    doc.update(fields)
    return doc


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


@contextmanager
def guard_over(
    engine: Engine, clock: FixedClock, recorder: MemoryRecorder, source: PolicySource
) -> Iterator[GuardRuntime]:
    """A guard whose agent is registered and whose active policy set is ``source``; closed on exit."""
    register_agent(engine, clock)
    rt = open_guard(engine, clock, recorder, status_settings=StatusSettings(poll_s=0.1))
    try:
        policies = rt.services.authority.policies
        policies.activate(ADMIN, policies.load(ADMIN, source)["digest"], PolicyMode.ENFORCE)
        yield rt
    finally:
        rt.close()


@pytest.fixture
def runtime(engine: Engine, clock: FixedClock, recorder: MemoryRecorder) -> Iterator[GuardRuntime]:
    source = PolicySource(packs=("baseline", "payments"), settings={"known_payees": [KNOWN_PAYEE]})
    with guard_over(engine, clock, recorder, source) as rt:
        rt.services.authority.grants.create(ALICE, {"grant": transfer_grant(clock)})
        yield rt
