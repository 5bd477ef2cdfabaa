"""Does a grant cover a request? Pure: the caller passes what was already spent today.

Also the checks made when a grant is created (it may not cover a ``user_only`` action; its constraints
must name arguments the tool has) and the Ed25519 signature by the grantor over its canonical form.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentgov.core.keys import Signer, Verifier, b64url, b64url_decode
from agentgov.core.validation import validate_model
from agentgov.errors import InvalidInput
from agentgov.policy.errors import GrantCoversUserOnly, UnknownArgument
from agentgov.policy.grants import REGEX_LIMITS, Equals, Grant, InRange, Matches, OneOf
from agentgov.policy.model import ActionRequest

__all__ = [
    "GRANT_SIGNING_CONTEXT",
    "GrantMatch",
    "GrantUsage",
    "SignedGrant",
    "check_grant",
    "evaluate_grant",
    "json_equal",
    "sign_grant",
    "signing_input",
    "verify_grant",
]

# Domain separation: a grant signature can never be replayed as a signature over another kind of value.
GRANT_SIGNING_CONTEXT = b"agentgov grant v1\n"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GrantUsage(_Model):
    """What a grant has already been used for today (UTC day of the request), summed by the caller."""

    count: int = Field(default=0, ge=0)
    amount: Decimal = Field(default=Decimal(0), ge=0, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class GrantMatch:
    """Whether one grant covers one request: a result computed here, never parsed from input."""

    grant_id: str
    covered: bool
    reasons: tuple[str, ...] = ()
    pinned: frozenset[str] = frozenset()  # arguments the grant fixed: their values come from the user
    budgeted: bool = False
    charge: Decimal | None = None  # the amount to add to today's usage, for an amount budget


def _number(value: Any) -> Decimal | None:
    """A JSON number as a Decimal; None for anything else (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``1 == 1.0``, but ``true`` is not ``1`` and ``"1"`` is not ``1``."""
    if type(a) is str or type(b) is str:
        return type(a) is type(b) and bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    na, nb = _number(a), _number(b)
    if na is not None or nb is not None:
        return na is not None and nb is not None and na == nb
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _each(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _holds(constraint: Equals | OneOf | InRange | Matches, value: Any) -> bool:
    if isinstance(constraint, Equals):
        return json_equal(value, constraint.value)
    if isinstance(constraint, OneOf):
        strings = constraint.strings
        return all(
            v in strings if type(v) is str else any(json_equal(v, allowed) for allowed in constraint.values)
            for v in _each(value)
        )
    if isinstance(constraint, InRange):
        for v in _each(value):
            n = _number(v)
            if n is None or (constraint.min is not None and n < constraint.min):
                return False
            if constraint.max is not None and n > constraint.max:
                return False
        return True
    pattern = constraint.compiled
    return all(
        isinstance(v, str) and len(v) <= REGEX_LIMITS.max_value_length and pattern.fullmatch(v) is not None
        for v in _each(value)
    )


def _scope_refusals(grant: Grant, request: ActionRequest) -> list[str]:
    """Who, what, where and when."""
    why: list[str] = []
    tool, server = request.action.tool, request.action.server
    if request.user_id != grant.grantor:  # Art. 6: a user delegates only their own authority
        why.append(f"grant {grant.id} is not from user {request.user_id}")
    if request.agent_id != grant.agent_id:
        why.append(f"grant {grant.id} is for another agent")
    if not any(a.covers(tool, server) for a in grant.actions):
        why.append(f"grant {grant.id} does not cover {server}:{tool}")
    if request.context.venue not in grant.venues:
        why.append(f"grant {grant.id} does not cover the {request.context.venue.value} venue")
    now = request.context.time
    if now < grant.not_before:
        why.append(f"grant {grant.id} is not valid before {grant.not_before.isoformat()}")
    if now >= grant.expires_at:
        why.append(f"grant {grant.id} expired at {grant.expires_at.isoformat()}")
    return why


def _budget_refusals(
    grant: Grant, arguments: Mapping[str, Any], usage: GrantUsage | None
) -> tuple[list[str], Decimal | None]:
    """The daily budgets, against what the caller says was used today; unknown usage refuses."""
    if not grant.has_budget:
        return [], None
    if usage is None:
        return [f"grant {grant.id}: today's usage is unknown, so its budget cannot be checked"], None
    why: list[str] = []
    if grant.max_calls_per_day is not None and usage.count + 1 > grant.max_calls_per_day:
        why.append(f"grant {grant.id}: {grant.max_calls_per_day} calls per day already used")
    charge: Decimal | None = None
    if (budget := grant.max_amount_per_day) is not None:
        charge = _number(arguments.get(budget.argument))
        if charge is None or charge < 0:
            why.append(f"grant {grant.id}: argument {budget.argument!r} is not a non-negative amount")
        elif usage.amount + charge > budget.limit:
            why.append(f"grant {grant.id}: {charge} would exceed the daily budget of {budget.limit}")
    return why, charge


def evaluate_grant(grant: Grant, request: ActionRequest, usage: GrantUsage | None) -> GrantMatch:
    """Whether ``grant`` covers ``request`` (agent, action, arguments, budget, venue, time).

    ``usage`` is what the grant was already used for on the request's UTC day; a grant with a budget
    and no usage does not cover (fail closed). Revocation is the caller's: a revoked grant is not passed.
    """
    why = _scope_refusals(grant, request)
    args = request.arguments
    for c in grant.constraints:
        if c.argument not in args or not _holds(c, args[c.argument]):
            why.append(f"grant {grant.id}: argument {c.argument!r} is outside the {c.op} constraint")
    refused, charge = _budget_refusals(grant, args, usage)
    why += refused
    if why:
        return GrantMatch(grant_id=grant.id, covered=False, reasons=tuple(why))
    return GrantMatch(
        grant_id=grant.id,
        covered=True,
        pinned=grant.pinned_arguments,
        budgeted=grant.has_budget,
        charge=charge,
    )


def check_grant(
    grant: Grant,
    *,
    user_only_tools: Iterable[str] = (),
    input_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """The checks made when a grant is created; raises, and nothing should be stored.

    ``user_only_tools`` comes from :meth:`PolicySet.user_only_tools`. ``input_schemas`` maps a tool name
    (or ``server:tool``) to its JSON Schema; a constraint must name one of its ``properties``.
    """
    user_only = set(user_only_tools)
    for action in grant.actions:
        if action.tool in user_only:  # Art. 6: user-only decisions are never delegated
            raise GrantCoversUserOnly(
                f"{action.tool} is a user-only decision: it needs the user's own approval each time "
                "and cannot be granted",
                field="actions",
                tool=action.tool,
            )
    for action in grant.actions:
        if input_schemas is None or action.tool == "*":
            continue
        schema = input_schemas.get(f"{action.server}:{action.tool}", input_schemas.get(action.tool))
        if schema is None:
            continue
        properties = schema.get("properties")
        known = set(properties) if isinstance(properties, Mapping) else set()
        named = [c.argument for c in grant.constraints]
        if grant.max_amount_per_day is not None:
            named.append(grant.max_amount_per_day.argument)
        for argument in named:
            if argument not in known:
                raise UnknownArgument(
                    f"tool {action.tool} has no argument {argument!r} (it has: {', '.join(sorted(known))})",
                    field="constraints",
                    tool=action.tool,
                    argument=argument,
                )


class SignedGrant(_Model):
    grant: Grant
    algorithm: str = Field(default="EdDSA", pattern=r"^EdDSA$")
    signature: str = Field(min_length=1, max_length=200, description="base64url, no padding")


def signing_input(grant: Grant) -> bytes:
    return GRANT_SIGNING_CONTEXT + grant.canonical()


def sign_grant(grant: Grant, signer: Signer) -> SignedGrant:
    """The grantor signs the canonical form of the grant with their key (Ed25519)."""
    if signer.algorithm != "EdDSA":
        raise InvalidInput(f"grants are signed with EdDSA, not {signer.algorithm}")
    return SignedGrant(grant=grant, signature=b64url(signer.sign(signing_input(grant))))


def verify_grant(signed: SignedGrant | Mapping[str, Any], verifier: Verifier) -> Grant:
    """The grant, if its signature verifies with the grantor's key; InvalidSignature otherwise."""
    if not isinstance(signed, SignedGrant):
        signed = validate_model(SignedGrant, signed)
    if verifier.algorithm != signed.algorithm:
        raise InvalidInput(f"a grant signed with {signed.algorithm} needs an {signed.algorithm} key")
    verifier.verify(signing_input(signed.grant), b64url_decode(signed.signature))
    return signed.grant
