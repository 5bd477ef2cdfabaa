"""The authority service end to end, on SQLite and PostgreSQL: every decision class, grants that do
and do not cover, revocation, budgets taken when an action is allowed, shadow mode, policy versions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from agentgov.approvals.wiring import AuthorityServices
from agentgov.core.clock import FixedClock
from agentgov.errors import Conflict, InvalidInput
from agentgov.policy import Effect, GrantCoversUserOnly, InvalidPolicy, ObligationKind
from agentgov.policy.store import MemoryRecorder
from agentgov.policy.versions import PolicyMode
from tests.policy.authority_helpers import (
    ADMIN,
    ALICE,
    activate,
    count,
    grant_doc,
    open_services,
    request,
    source,
)

Svc = tuple[AuthorityServices, MemoryRecorder]


@pytest.fixture
def svc(engine: Engine, clock: FixedClock) -> Svc:
    services, recorder = open_services(engine, clock)
    activate(services)
    return services, recorder


def test_each_decision_class_end_to_end(svc: Svc, clock: FixedClock) -> None:
    services, recorder = svc
    decide = services.authority.decide
    autonomous = decide(request(clock, "look"), actor="gw").decision
    assert (autonomous.effect, autonomous.decision_class) == (Effect.ALLOW, "autonomous")
    asked = decide(request(clock, "pay", amount=5, to="bob"), actor="gw").decision
    assert (asked.effect, asked.decision_class) == (Effect.ASK, "user_authorized")
    assert ObligationKind.APPROVAL in [o.kind for o in asked.obligations]
    services.authority.grants.create(ALICE, {"grant": grant_doc(clock)})
    allowed = decide(request(clock, "pay", amount=5, to="bob"), actor="gw").decision
    assert allowed.effect is Effect.ALLOW
    assert len(allowed.grants) == 1
    user_only = decide(request(clock, "set_password", password="x"), actor="gw").decision
    assert (user_only.effect, user_only.decision_class) == (Effect.ASK, "user_only")
    assert ObligationKind.USER_APPROVAL in [o.kind for o in user_only.obligations]
    denied = decide(request(clock, "wipe"), actor="gw").decision
    assert denied.effect is Effect.DENY
    assert "wiping the disk is never allowed" in denied.reasons[0]
    kinds = recorder.kinds()
    assert kinds.count("authority.decision") == 5
    assert {"authority.policy.loaded", "authority.policy.activated", "authority.grant.created"} <= set(kinds)
    assert [d["decision"]["effect"] for d in services.authority.list_decisions(ADMIN)] == [
        "deny",
        "ask",
        "allow",
        "ask",
        "allow",
    ]


def test_no_active_policy_denies_everything(engine: Engine, clock: FixedClock) -> None:
    services, recorder = open_services(engine, clock)
    made = services.authority.decide(request(clock, "look"), actor="gw")
    assert made.decision.effect is Effect.DENY
    assert recorder.kinds() == ["authority.decision"]


def test_user_only_action_is_never_granted_nor_covered_by_a_wildcard(svc: Svc, clock: FixedClock) -> None:
    services, _ = svc
    with pytest.raises(GrantCoversUserOnly):
        services.authority.grants.create(ALICE, {"grant": grant_doc(clock, "set_password")})
    assert count(services.authority.store.engine, "grants") == 0
    services.authority.grants.create(ALICE, {"grant": grant_doc(clock, "*")})
    decision = services.authority.decide(request(clock, "set_password", password="x"), actor="gw").decision
    assert decision.effect is Effect.ASK
    assert decision.grants == ()


def test_revocation_takes_effect_on_the_next_decision(svc: Svc, clock: FixedClock) -> None:
    services, recorder = svc
    made = services.authority.grants.create(ALICE, {"grant": grant_doc(clock)})
    pay = request(clock, "pay", amount=5, to="bob")
    assert services.authority.decide(pay, actor="gw").decision.effect is Effect.ALLOW
    services.authority.grants.revoke(ALICE, made["id"], "lost my phone")
    assert services.authority.decide(pay, actor="gw").decision.effect is Effect.ASK
    assert services.authority.grants.get(ALICE, made["id"])["status"] == "revoked"
    assert "authority.grant.revoked" in recorder.kinds()
    with pytest.raises(Conflict):
        services.authority.grants.revoke(ALICE, made["id"])


def test_grant_outside_its_constraints_venue_or_time_does_not_cover(svc: Svc, clock: FixedClock) -> None:
    services, _ = svc
    constraints = [
        {"op": "one_of", "argument": "to", "values": ["bob", "carol"]},
        {"op": "range", "argument": "amount", "max": 100},
    ]
    services.authority.grants.create(
        ALICE,
        {
            "grant": grant_doc(
                clock, constraints=constraints, not_before=(clock.now() - timedelta(minutes=1)).isoformat()
            )
        },
    )

    def effect(**kw: Any) -> Effect:
        return services.authority.decide(request(clock, "pay", **kw), actor="gw").decision.effect

    assert effect(amount=100, to="carol") is Effect.ALLOW
    assert effect(amount=100, to="mallory") is Effect.ASK  # outside the set
    assert effect(amount="100.01", to="bob") is Effect.ASK  # outside the range
    assert effect(amount=1, to="bob", venue="public") is Effect.ASK  # another venue
    assert effect(amount=1, to="bob", agent="agent-2") is Effect.ASK  # another agent
    assert effect(amount=1, to="bob", at=clock.now() - timedelta(minutes=2)) is Effect.ASK  # before
    clock.advance(timedelta(days=8))
    assert effect(amount=1, to="bob") is Effect.ASK  # expired


def test_an_allow_takes_its_share_of_the_budget_when_decided(svc: Svc, clock: FixedClock) -> None:
    services, _ = svc
    budget: dict[str, Any] = {
        "max_amount_per_day": {"argument": "amount", "limit": "100"},
        "max_calls_per_day": 3,
    }
    gid = services.authority.grants.create(ALICE, {"grant": grant_doc(clock, **budget)})["id"]
    first = services.authority.decide(request(clock, "pay", amount=60.5, to="bob"), actor="gw")
    charge = [o for o in first.decision.obligations if o.kind is ObligationKind.CHARGE_BUDGET]
    assert charge[0].grant_id == gid
    # Taken at once: a second decision before the first action ran sees what is left.
    assert services.authority.grants.get(ALICE, gid)["usage_today"] == {"count": 1, "amount": "60.5"}
    over = services.authority.decide(request(clock, "pay", amount=60.5, to="bob"), actor="gw").decision
    assert over.effect is Effect.ASK
    assert any("daily budget" in r for r in over.reasons)
    assert not [o for o in over.obligations if o.kind is ObligationKind.CHARGE_BUDGET]
    services.authority.action_ran(ADMIN, first.id)
    with pytest.raises(Conflict):
        services.authority.action_ran(ADMIN, first.id)  # reported once
    with pytest.raises(Conflict, match="did not allow"):
        services.authority.action_ran(ADMIN, services.authority.list_decisions(ADMIN)[0]["id"])
    usage = services.authority.grants.get(ALICE, gid)["usage_today"]
    assert usage == {"count": 1, "amount": "60.5"}  # reporting the run takes nothing more
    for _ in range(2):
        small = services.authority.decide(request(clock, "pay", amount=1, to="bob"), actor="gw")
        assert small.decision.effect is Effect.ALLOW
    fourth = services.authority.decide(request(clock, "pay", amount=1, to="bob"), actor="gw").decision
    assert any("3 calls per day" in r for r in fourth.reasons)
    clock.advance(timedelta(days=1))  # a new UTC day
    assert (
        services.authority.decide(request(clock, "pay", amount=1, to="bob"), actor="gw").decision.effect
        == "allow"
    )


@pytest.mark.parametrize(
    "budget", [{"max_calls_per_day": 3}, {"max_amount_per_day": {"argument": "amount", "limit": "30"}}]
)
def test_decisions_made_at_once_never_spend_more_than_the_budget(
    engine: Engine, clock: FixedClock, budget: dict[str, Any]
) -> None:
    services, _ = open_services(engine, clock)
    activate(services)
    gid = services.authority.grants.create(ALICE, {"grant": grant_doc(clock, **budget)})["id"]
    start = threading.Barrier(8)

    def one(_: int) -> Effect:
        start.wait(10)
        return services.authority.decide(
            request(clock, "pay", amount=10, to="bob"), actor="gw"
        ).decision.effect

    with ThreadPoolExecutor(8) as pool:
        effects = list(pool.map(one, range(8)))
    assert effects.count(Effect.ALLOW) == 3, effects  # 3 calls, or 3 x 10 of 30
    assert set(effects) == {Effect.ALLOW, Effect.ASK}
    usage = services.authority.grants.get(ALICE, gid)["usage_today"]
    assert usage == {"count": 3, "amount": "30" if "max_amount_per_day" in budget else "0"}


def test_shadow_mode_records_without_enforcing(engine: Engine, clock: FixedClock) -> None:
    services, recorder = open_services(engine, clock)
    digest = activate(services, PolicyMode.SHADOW)
    made = services.authority.decide(request(clock, "wipe"), actor="gw")
    assert made.decision.effect is Effect.DENY
    assert (made.decision.applied_effect, made.decision.enforced) == (Effect.ALLOW, False)
    assert recorder.events[-1].payload["enforced"] is False
    stored = services.authority.get_decision(ADMIN, made.id)
    assert stored["decision"]["enforced"] is False
    assert stored["decision"]["policy_digest"] == digest
    services.authority.policies.activate(ADMIN, digest, PolicyMode.ENFORCE)
    assert (
        services.authority.decide(request(clock, "wipe"), actor="gw").decision.applied_effect is Effect.DENY
    )


def test_a_request_time_far_from_the_clock_is_refused(svc: Svc, clock: FixedClock) -> None:
    services, recorder = svc
    before = len(recorder.events)
    with pytest.raises(InvalidInput) as caught:
        services.authority.decide(request(clock, "look", at=clock.now() - timedelta(hours=1)), actor="gw")
    assert caught.value.field == "context.time"
    assert len(recorder.events) == before


def test_invalid_policy_is_refused_with_its_position_and_nothing_stored(svc: Svc, clock: FixedClock) -> None:
    services, _ = svc
    engine = services.authority.store.engine
    stored = count(engine, "policy_sets")
    bad = "permit (principal, action, resource)\nwhen { context.venue == };"
    with pytest.raises(InvalidPolicy) as caught:
        services.authority.policies.load(ADMIN, source(bad))
    assert (caught.value.source, caught.value.line) == ("t.cedar", 2)
    assert caught.value.column > 1
    assert count(engine, "policy_sets") == stored


def test_versions_are_kept_by_digest_and_rebuild_in_a_new_process(svc: Svc, clock: FixedClock) -> None:
    services, _ = svc
    again = services.authority.policies.load(ADMIN, source())
    assert again["created"] is False
    engine = services.authority.store.engine
    assert count(engine, "policy_sets") == 1
    fresh, _ = open_services(engine, clock)  # an empty cache: the active set is rebuilt from the store
    assert fresh.authority.decide(request(clock, "look"), actor="gw").decision.effect is Effect.ALLOW
