"""The decision core: classes, precedence, grants, provenance, redaction, shadow mode, failing closed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

import cedarpy
import pytest

from agentgov.errors import InvalidInput
from agentgov.policy import (
    NO_POLICY_DIGEST,
    ActionRef,
    Decision,
    DecisionClass,
    Effect,
    GrantUsage,
    ObligationKind,
    PolicySet,
    RequestContext,
    ToolKind,
    Venue,
    visible_tools,
)
from tests.policy.helpers import AGENT, NOW, USER, decide, grant, policy_set, request

CLASSES = """
@id("read") @decision_class("autonomous") permit (principal, action in Action::"demo:read", resource);
@id("write") @decision_class("user_authorized") permit (principal, action in Action::"demo:write", resource);
"""


def obligations(decision: Decision) -> set[ObligationKind]:
    return {o.kind for o in decision.obligations}


def test_autonomous_action_is_allowed_recorded_and_shown_to_the_user() -> None:
    d = decide(request("look"), policy_set(CLASSES))
    assert (d.effect, d.decision_class) == (Effect.ALLOW, DecisionClass.AUTONOMOUS)
    assert {ObligationKind.RECORD, ObligationKind.NOTIFY_USER} <= obligations(d)
    assert d.policies == ("read",)


def test_user_authorized_action_without_a_grant_asks() -> None:
    d = decide(request("act", amount=5), policy_set(CLASSES))
    assert (d.effect, d.decision_class) == (Effect.ASK, DecisionClass.USER_AUTHORIZED)
    assert ObligationKind.APPROVAL in obligations(d)
    assert any("no live grant" in r for r in d.reasons)


def test_user_authorized_action_covered_by_a_live_grant_is_allowed() -> None:
    d = decide(request("act", amount=5), policy_set(CLASSES), [grant("act", "srv")])
    assert (d.effect, d.grants) == (Effect.ALLOW, ("g-1",))
    assert d.reasons == ("covered by grant g-1",)


def test_user_only_action_asks_the_user_even_with_a_grant_that_covers_it() -> None:
    ps = policy_set(
        '@id("mine") @decision_class("user_only") permit (principal, action == Action::"act", resource);'
    )
    d = decide(request("act", amount=1), ps, [grant("*", "*")])
    assert (d.effect, d.decision_class, d.grants) == (Effect.ASK, DecisionClass.USER_ONLY, ())
    assert ObligationKind.USER_APPROVAL in obligations(d)
    assert ObligationKind.APPROVAL not in obligations(d)


def test_strictest_class_wins_when_policies_disagree() -> None:
    ps = policy_set(
        CLASSES + '@id("strict") @decision_class("user_only") permit (principal, action, resource);'
    )
    assert decide(request("look"), ps).decision_class is DecisionClass.USER_ONLY


def test_unannotated_read_only_tool_is_autonomous_and_side_effecting_one_user_authorized() -> None:
    ps = policy_set('@id("any") permit (principal, action, resource);')
    assert decide(request("look"), ps).decision_class is DecisionClass.AUTONOMOUS
    assert decide(request("act"), ps).decision_class is DecisionClass.USER_AUTHORIZED


def test_unknown_tool_is_treated_as_side_effecting() -> None:
    ps = policy_set('@id("any") permit (principal, action, resource);')
    d = decide(request("mystery_tool"), ps)
    assert (d.effect, d.decision_class) == (Effect.ASK, DecisionClass.USER_AUTHORIZED)
    vouched = decide(request("mystery_tool"), ps, kinds={"srv:mystery_tool": ToolKind.READ_ONLY})
    assert (vouched.effect, vouched.decision_class) == (Effect.ALLOW, DecisionClass.AUTONOMOUS)


def test_nothing_permits_means_deny() -> None:
    d = decide(request("act"), policy_set(CLASSES.split("\n")[1]))
    assert d.effect is Effect.DENY
    assert "denied by default" in d.reasons[0]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('@id("f") forbid (principal, action, resource);', Effect.DENY),
        ('@id("f") @outcome("ask") forbid (principal, action, resource);', Effect.ASK),
        ('@id("f") @outcome("ask") permit (principal, action, resource);', Effect.ASK),
        ('@id("f") @redact("arguments.to") permit (principal, action, resource);', Effect.REDACT),
    ],
)
def test_precedence_is_deny_then_user_only_then_ask_then_allow(extra: str, expected: Effect) -> None:
    ps = policy_set(CLASSES + extra)
    assert decide(request("look"), ps).effect is expected


def test_deny_beats_user_only_and_user_only_beats_ask() -> None:
    user_only = '@id("u") @decision_class("user_only") permit (principal, action, resource);'
    deny = '@id("d") forbid (principal, action, resource);'
    ask = '@id("a") @outcome("ask") forbid (principal, action, resource);'
    assert decide(request("look"), policy_set(CLASSES + user_only + deny)).effect is Effect.DENY
    d = decide(request("look"), policy_set(CLASSES + user_only + ask))
    assert (d.effect, d.decision_class) == (Effect.ASK, DecisionClass.USER_ONLY)
    assert ObligationKind.USER_APPROVAL in obligations(d)


def test_policy_ask_is_not_overridden_by_a_grant() -> None:
    ps = policy_set(
        CLASSES + '@id("big") @outcome("ask") forbid (principal, action, resource) when '
        "{ context.args has amount && context.args.amount > 100 };"
    )
    assert decide(request("act", amount=50), ps, [grant("act")]).effect is Effect.ALLOW
    d = decide(request("act", amount=500), ps, [grant("act")])
    assert (d.effect, d.grants) == (Effect.ASK, ())


def test_redact_outcome_lists_the_fields_to_redact() -> None:
    ps = policy_set(
        CLASSES + '@id("r") @redact("arguments.to, result.iban") permit (principal, action, resource);'
    )
    d = decide(request("look"), ps)
    assert d.effect is Effect.REDACT
    assert d.redact_fields == ("arguments.to", "result.iban")


def test_value_from_untrusted_tool_output_escalates_a_side_effect_to_ask() -> None:
    ps = policy_set(CLASSES)
    d = decide(request("act", to="x", untrusted={"to": ["tool:get_webpage"]}), ps, [grant("act")])
    assert d.effect is Effect.ASK
    assert "untrusted tool output (tool:get_webpage)" in d.reasons[0]


def test_untrusted_value_does_not_escalate_a_read_only_action() -> None:
    d = decide(request("look", untrusted={"q": ["tool:get_webpage"]}), policy_set(CLASSES))
    assert d.effect is Effect.ALLOW


def test_source_declared_trusted_by_the_policy_does_not_escalate() -> None:
    trusting = CLASSES.replace('@id("write")', '@id("write") @trusted_sources("tool:get_iban, tool:look")')
    d = decide(
        request("act", to="x", untrusted={"to": ["tool:get_iban"]}), policy_set(trusting), [grant("act")]
    )
    assert d.effect is Effect.ALLOW
    mixed = request("act", to="x", untrusted={"to": ["tool:get_iban", "tool:get_webpage"]})
    assert decide(mixed, policy_set(trusting), [grant("act")]).effect is Effect.ASK


def test_value_fixed_by_the_covering_grant_is_not_untrusted() -> None:
    pinned = grant("act", constraints=[{"op": "equals", "argument": "to", "value": "bob"}])
    d = decide(request("act", to="bob", untrusted={"to": ["tool:read_file"]}), policy_set(CLASSES), [pinned])
    assert d.effect is Effect.ALLOW


def test_grant_outside_its_constraints_asks_and_says_why() -> None:
    capped = grant("act", constraints=[{"op": "range", "argument": "amount", "max": 100}])
    d = decide(request("act", amount=101), policy_set(CLASSES), [capped])
    assert d.effect is Effect.ASK
    assert any("outside the range constraint" in r for r in d.reasons)


def test_expired_grant_no_longer_covers() -> None:
    expired = grant("act", not_before="2026-01-01T00:00:00Z", expires_at="2026-11-21T09:30:00Z")
    d = decide(request("act", amount=1), policy_set(CLASSES), [expired])
    assert d.effect is Effect.ASK
    assert any("expired" in r for r in d.reasons)


def test_empty_policy_set_denies() -> None:
    d = decide(request("look"), PolicySet.empty())
    assert d.effect is Effect.DENY
    assert d.policy_digest == PolicySet.empty().digest


def test_no_policy_set_denies() -> None:
    d = decide(request("look"), None)
    assert (d.effect, d.policy_digest) == (Effect.DENY, NO_POLICY_DIGEST)


class BrokenKinds(Mapping[str, ToolKind]):
    """A tool classifier that fails, like a detector that breaks mid-decision."""

    def __getitem__(self, key: str) -> ToolKind:
        raise RuntimeError("classifier unavailable")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_exception_inside_evaluation_denies_and_says_so() -> None:
    d = decide(request("look"), policy_set(CLASSES), kinds=BrokenKinds())
    assert d.effect is Effect.DENY
    assert "could not be made (RuntimeError)" in d.reasons[0]


def test_policy_engine_failure_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> object:
        raise OSError("engine gone")

    ps = policy_set(
        CLASSES + '@id("f") @outcome("ask") forbid (principal, action, resource) when '
        '{ context.venue == Venue::"special" };'
    )
    monkeypatch.setattr(cedarpy, "is_authorized", explode)
    assert decide(request("look"), ps).effect is Effect.DENY


def test_fence_that_cannot_be_evaluated_counts_as_met() -> None:
    overflow = "{ context.time.epoch * 1000000000000 > 0 }"
    ps = policy_set(CLASSES + f'@id("boom") forbid (principal, action, resource) when {overflow};')
    d = decide(request("look"), ps)
    assert d.effect is Effect.DENY
    assert "could not be evaluated" in d.reasons[0]
    assert decide(request("look"), ps.reparsing()) == d
    asking = policy_set(
        CLASSES + f'@id("boom") @outcome("ask") forbid (principal, action, resource) when {overflow};'
    )
    assert decide(request("look"), asking).effect is Effect.ASK


def test_permit_that_cannot_be_evaluated_grants_nothing() -> None:
    ps = policy_set(
        '@id("p") permit (principal, action, resource) when { context.time.epoch * 1000000000000 > 0 };'
    )
    assert decide(request("look"), ps).effect is Effect.DENY


def test_argument_of_the_wrong_type_for_a_fence_is_refused() -> None:
    ps = policy_set(
        CLASSES + '@id("big") forbid (principal, action, resource) when '
        "{ context.args has amount && context.args.amount > 100 };"
    )
    d = decide(request("act", amount="500"), ps, [grant("act")])
    assert d.effect is Effect.DENY
    assert "'amount' of act is not a Long" in d.reasons[0]


def test_shadow_mode_decides_without_enforcing() -> None:
    ps = policy_set(CLASSES + '@id("f") forbid (principal, action, resource);')
    d = decide(request("look"), ps, shadow=True)
    assert (d.effect, d.applied_effect, d.enforced) == (Effect.DENY, Effect.ALLOW, False)
    enforced = decide(request("look"), ps)
    assert (enforced.applied_effect, enforced.enforced) == (Effect.DENY, True)


def test_every_decision_carries_the_digest_of_its_policy_set() -> None:
    ps = policy_set(CLASSES)
    assert decide(request("look"), ps).policy_digest == ps.digest
    assert decide(request("act", amount="x"), ps).policy_digest == ps.digest


def test_budgeted_grant_obliges_the_caller_to_charge_it() -> None:
    budget = grant("act", max_amount_per_day={"argument": "amount", "limit": "100"})
    d = decide(
        request("act", amount=30), policy_set(CLASSES), [budget], {"g-1": GrantUsage(amount=Decimal(60))}
    )
    charge = [o for o in d.obligations if o.kind is ObligationKind.CHARGE_BUDGET]
    assert [(o.grant_id, o.amount) for o in charge] == [("g-1", Decimal(30))]


def test_decision_is_deterministic_and_serialisable() -> None:
    ps = policy_set(CLASSES + '@id("a") @outcome("ask") forbid (principal, action, resource);')
    first, second = decide(request("act", amount=1), ps), decide(request("act", amount=1), ps)
    assert first == second
    assert first.to_json()["effect"] == "ask"


def test_unknown_venue_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        request("look", venue="moon")
    assert caught.value.field == "context.venue"
    with pytest.raises(InvalidInput):
        Venue.parse("moon")
    assert Venue.parse("special") is Venue.SPECIAL


def test_tool_list_shows_what_may_be_called_here_and_now() -> None:
    ps = policy_set(
        CLASSES + '@id("no_look_here") forbid (principal, action == Action::"look", resource) '
        'when { context.venue == Venue::"special" };'
        + '@id("big") forbid (principal, action == Action::"act", resource) '
        "when { context.args has amount && context.args.amount > 100 };"
    )
    tools = [
        ActionRef(tool="look", server="srv"),
        ActionRef(tool="act", server="srv"),
        ActionRef(tool="x", server="s"),
    ]
    here = RequestContext(venue=Venue.PRIVATE, time=NOW)
    assert visible_tools(ps, AGENT, USER, here, tools) == tuple(tools[:2])
    special = RequestContext(venue=Venue.SPECIAL, time=NOW)
    assert visible_tools(ps, AGENT, USER, special, tools) == (tools[1],)
    assert visible_tools(None, AGENT, USER, here, tools) == ()
