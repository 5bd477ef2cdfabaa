"""Grants: the model, coverage (constraints, budgets, venue, time), creation checks and signatures."""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgov.core.keys import Ed25519Signer
from agentgov.core.validation import validate_model
from agentgov.errors import InvalidInput, InvalidSignature
from agentgov.policy import (
    Grant,
    GrantCoversUserOnly,
    GrantUsage,
    SignedGrant,
    UnknownArgument,
    UnsafePattern,
    check_grant,
    compile_safe,
    evaluate_grant,
    sign_grant,
    verify_grant,
)
from agentgov.policy.grant_eval import json_equal
from tests.policy.helpers import NOW, grant, request


def covered(g: Grant, usage: GrantUsage | None = None, **kw: Any) -> bool:
    return evaluate_grant(g, request(kw.pop("tool", "act"), **kw), usage).covered


@pytest.mark.parametrize(
    ("constraint", "inside", "outside"),
    [
        ({"op": "equals", "argument": "to", "value": "bob"}, "bob", "eve"),
        ({"op": "one_of", "argument": "to", "values": ["bob", "carol"]}, "carol", "eve"),
        ({"op": "one_of", "argument": "to", "values": ["bob", "carol"]}, ["bob", "carol"], ["bob", "eve"]),
        ({"op": "range", "argument": "to", "min": 1, "max": 10}, 10, 10.5),
        ({"op": "range", "argument": "to", "min": "0.5"}, 0.5, 0.49),
        (
            {"op": "pattern", "argument": "to", "regex": r"[a-z]+@acme\.example"},
            "bob@acme.example",
            "bob@acme.example.evil",
        ),
        (
            {"op": "pattern", "argument": "to", "regex": r"DE[0-9]{20}"},
            ["DE89370400440532013000"],
            ["DE8937"],
        ),
    ],
)
def test_grant_covers_inside_its_constraints_only(
    constraint: dict[str, Any], inside: Any, outside: Any
) -> None:
    g = grant("act", constraints=[constraint])
    assert covered(g, to=inside)
    assert not covered(g, to=outside)
    assert not covered(g)  # an argument a constraint names must be there


def test_equality_does_not_confuse_booleans_numbers_and_strings() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal("1", 1)
    assert not json_equal(None, False)
    assert json_equal({"a": [1, "x"]}, {"a": [1.0, "x"]})
    g = grant("act", constraints=[{"op": "one_of", "argument": "to", "values": [1, 2]}])
    assert not covered(g, to=True)


def test_grant_covers_only_its_agent_user_action_and_venues() -> None:
    g = grant("act", "bank", venues=["private"])
    assert covered(g, server="bank")
    assert not covered(g, server="other")
    assert not covered(g, tool="look", server="bank")
    assert not covered(g, server="bank", agent_id="agent-2")
    assert not covered(g, server="bank", user_id="mallory")
    assert not covered(g, server="bank", venue="public")


def test_wildcard_must_be_written_out() -> None:
    assert covered(grant("act", "*"), server="anything")
    assert covered(grant("*", "bank"), tool="whatever", server="bank")
    assert not covered(grant("ac", "bank"), server="bank")


def test_grant_is_live_only_inside_its_window() -> None:
    g = grant("act", not_before="2026-11-21T10:00:00Z", expires_at="2026-11-22T10:00:00Z")
    assert not covered(g)  # 09:30: not yet
    assert covered(g, at=NOW.replace(hour=10))
    assert not covered(g, at=NOW.replace(day=22, hour=10))  # expiry is exclusive


def test_amount_budget_per_day() -> None:
    g = grant("act", max_amount_per_day={"argument": "amount", "limit": "100"})
    assert covered(g, GrantUsage(amount=Decimal(60)), amount=40)
    assert not covered(g, GrantUsage(amount=Decimal(60)), amount=40.01)
    assert not covered(g, GrantUsage(), amount=-5)
    assert not covered(g, GrantUsage(), amount="5")
    match = evaluate_grant(g, request("act", amount=25), GrantUsage())
    assert (match.budgeted, match.charge) == (True, Decimal(25))


def test_count_budget_per_day() -> None:
    g = grant("act", max_calls_per_day=3)
    assert covered(g, GrantUsage(count=2))
    assert not covered(g, GrantUsage(count=3))


def test_budget_with_unknown_usage_does_not_cover() -> None:
    g = grant("act", max_calls_per_day=3)
    match = evaluate_grant(g, request("act"), None)
    assert not match.covered
    assert "usage is unknown" in match.reasons[0]


def test_pinned_arguments_are_the_equal_and_closed_set_ones() -> None:
    g = grant(
        "act",
        constraints=[
            {"op": "equals", "argument": "to", "value": "bob"},
            {"op": "one_of", "argument": "cc", "values": ["a"]},
            {"op": "range", "argument": "amount", "max": 5},
        ],
    )
    assert g.pinned_arguments == frozenset({"to", "cc"})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires_at": "2026-11-20T00:00:00Z"}, "(body)"),
        ({"expires_at": "2028-01-01T00:00:00Z"}, "(body)"),
        ({"venues": ["public", "public"]}, "(body)"),
        ({"venues": ["moon"]}, "venues.0"),
        ({"actions": []}, "actions"),
        ({"actions": [{"tool": "send*", "server": "bank"}]}, "actions.0.tool"),
        (
            {"constraints": [{"op": "pattern", "argument": "to", "regex": "(a+)+"}]},
            "constraints.0.pattern.regex",
        ),
        ({"constraints": [{"op": "range", "argument": "to"}]}, "constraints.0.range"),
        ({"constraints": [{"op": "like", "argument": "to"}]}, "constraints.0"),
        ({"not_before": "2026-11-20T00:00:00"}, "not_before"),
    ],
)
def test_malformed_grant_is_invalid_input_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        grant("act", **change)
    assert (caught.value.field or "").startswith(field)


def test_grant_covering_a_user_only_action_is_refused_with_its_code() -> None:
    with pytest.raises(GrantCoversUserOnly) as caught:
        check_grant(grant("update_password", "bank"), user_only_tools={"update_password"})
    assert caught.value.code == "grant_covers_user_only"
    assert caught.value.to_problem()["status"] == 403
    check_grant(grant("send_money", "bank"), user_only_tools={"update_password"})


def test_constraint_on_an_argument_the_tool_does_not_have_is_refused() -> None:
    schema = {"type": "object", "properties": {"recipient": {"type": "string"}, "amount": {"type": "number"}}}
    good = grant("send_money", "bank", constraints=[{"op": "equals", "argument": "recipient", "value": "x"}])
    check_grant(good, input_schemas={"send_money": schema})
    typo = grant(
        "send_money", "bank", constraints=[{"op": "equals", "argument": "recipient_iban", "value": "x"}]
    )
    with pytest.raises(UnknownArgument) as caught:
        check_grant(typo, input_schemas={"bank:send_money": schema})
    assert caught.value.code == "unknown_argument"
    budget = grant("send_money", "bank", max_amount_per_day={"argument": "sum", "limit": 5})
    with pytest.raises(UnknownArgument):
        check_grant(budget, input_schemas={"send_money": schema})


def test_signed_grant_verifies_and_any_change_breaks_it() -> None:
    alice = Ed25519Signer.generate()
    signed = sign_grant(grant("act"), alice)
    assert verify_grant(signed.model_dump(mode="json"), alice.verifier()) == signed.grant
    widened = signed.model_copy(update={"grant": grant("*")})
    with pytest.raises(InvalidSignature):
        verify_grant(widened, alice.verifier())
    with pytest.raises(InvalidSignature):
        verify_grant(signed, Ed25519Signer.generate().verifier())


def test_canonical_form_survives_a_json_round_trip() -> None:
    g = grant("act", constraints=[{"op": "range", "argument": "amount", "min": "0.50", "max": 100}])
    again = validate_model(Grant, g.to_json())
    assert again.canonical() == g.canonical()
    assert again.digest() == g.digest()
    assert (
        validate_model(SignedGrant, sign_grant(g, Ed25519Signer.generate()).model_dump(mode="json")).grant
        == g
    )


@pytest.mark.parametrize(
    "pattern",
    [
        "(a+)+",
        "(a|aa)*",
        "(?=x)",
        "(?i)x",
        r"(x)\1",
        "a*b*c*",
        "(?P<n>x)",
        "[[:alpha:]]",
        "x" * 300,
        "",
        "(x",
    ],
)
def test_unsafe_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(UnsafePattern):
        compile_safe(pattern)


def test_safe_pattern_matches_quickly_on_hostile_input() -> None:
    regex = compile_safe(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.example")
    hostile = "a" * 1024 + "!"
    started = time.perf_counter()
    assert regex.fullmatch(hostile) is None
    assert time.perf_counter() - started < 0.5


@given(st.text(max_size=40))
def test_pattern_check_never_crashes(pattern: str) -> None:
    with contextlib.suppress(UnsafePattern):
        compile_safe(pattern)
