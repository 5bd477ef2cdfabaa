"""``evaluate(ActionRequest) -> Decision``: decision classes, grants and fences combined (Art. 6, 7).

Deny by default, and fail closed: no policy set, an empty one, or any error inside the evaluation
denies. Precedence: deny, then user-only (ask for the user's own fresh approval; no grant covers it),
then ask, then allow. A ``user_authorized`` action is allowed when a live grant covers it, else asked.
An argument whose value came only from untrusted tool output escalates a side-effecting action to
ask, unless a matching policy declares that source trusted or a covering grant fixed the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agentgov.core.digest import digest_json
from agentgov.errors import AgentGovError
from agentgov.policy.analysis import PolicyMeta
from agentgov.policy.catalog import CedarTypeError
from agentgov.policy.fences import PolicySet
from agentgov.policy.grant_eval import GrantMatch, GrantUsage, evaluate_grant
from agentgov.policy.grants import Grant
from agentgov.policy.model import (
    HOSTILE_SOURCE,
    ActionRef,
    ActionRequest,
    Decision,
    DecisionClass,
    Effect,
    Obligation,
    ObligationKind,
    RequestContext,
    ToolKind,
)

__all__ = ["NO_POLICY_DIGEST", "denied", "evaluate", "visible_tools"]

NO_POLICY_DIGEST = digest_json({"format": "agentgov.policy-set/1", "policies": []})
_MAX_GRANT_REASONS = 5  # why grants did not cover: enough to act on, short enough to read
_RECORD = Obligation(kind=ObligationKind.RECORD)
_NOTIFY = Obligation(kind=ObligationKind.NOTIFY_USER)
_APPROVAL = Obligation(kind=ObligationKind.APPROVAL)
_USER_APPROVAL = Obligation(kind=ObligationKind.USER_APPROVAL)


def denied(reasons: list[str], digest: str) -> Decision:
    """A deny for a reason found outside the evaluation (the caller's checks), recorded like any other."""
    return _deny(reasons, digest)


def _deny(
    reasons: list[str], digest: str, cls: DecisionClass | None = None, ids: Sequence[str] = ()
) -> Decision:
    return Decision(
        effect=Effect.DENY,
        applied_effect=Effect.DENY,
        decision_class=cls,
        reasons=tuple(reasons),
        obligations=(_RECORD,),
        policies=tuple(ids),
        policy_digest=digest,
    )


def _reason(meta: PolicyMeta, default: str, failed: frozenset[str] = frozenset()) -> str:
    text = f"{meta.reason or default} ({meta.id})"
    return f"{text}; it could not be evaluated, so it counts as met" if meta.id in failed else text


def _kind(tool_classes: Mapping[str, ToolKind], action: ActionRef) -> ToolKind:
    """The tool's kind; a tool nobody vouches for is taken to have side effects."""
    return tool_classes.get(str(action)) or tool_classes.get(action.tool) or ToolKind.SIDE_EFFECT


def _covering(
    grants: Sequence[Grant], request: ActionRequest, usage: Mapping[str, GrantUsage]
) -> tuple[GrantMatch | None, list[str]]:
    """The first grant that covers the request, and why the grants for this action did not."""
    why: list[str] = []
    tool, server = request.action.tool, request.action.server
    for grant in grants:
        for named in grant.actions:
            if named.covers(tool, server):
                break
        else:
            continue  # a grant for other actions says nothing about this one
        found = evaluate_grant(grant, request, usage.get(grant.id))
        if found.covered:
            return found, []
        why.extend(found.reasons)
    return None, why[:_MAX_GRANT_REASONS]


@dataclass(slots=True)
class _Facts:
    """What the combination needs, gathered once."""

    request: ActionRequest
    digest: str
    kind: ToolKind
    grant: GrantMatch | None
    refusals: list[str]
    permits: list[PolicyMeta]
    forbids: list[PolicyMeta]  # satisfied forbids, and every forbid that failed to evaluate
    failed: frozenset[str]
    ids: tuple[str, ...]
    trusted: frozenset[str]


def _asks(facts: _Facts, cls: DecisionClass) -> list[str]:
    """Every reason to ask the user, in precedence order."""
    action = facts.request.action
    ask: list[str] = []
    if cls is DecisionClass.USER_ONLY:  # Art. 6: only the user decides, each time
        ask.append(f"{action} is the user's decision alone: it needs the user's own approval")
    ask += [
        _reason(m, "the policy asks for approval", facts.failed)
        for m in (*facts.forbids, *facts.permits)
        if m.outcome is Effect.ASK
    ]
    provenance = facts.request.context.provenance
    pinned = facts.grant.pinned if facts.grant else frozenset()
    if facts.kind is not ToolKind.READ_ONLY:  # provenance: untrusted values do not drive side effects
        if HOSTILE_SOURCE in provenance.labels:  # Art. 10: the session was steered at; the user decides
            ask.append(
                "this session read a tool result carrying an injected instruction: "
                "its actions need the user's approval"
            )
        for taint in provenance.untrusted:
            if taint.argument not in pinned and not facts.trusted.issuperset(taint.sources):
                ask.append(
                    f"argument {taint.argument!r} came from untrusted tool output "
                    f"({', '.join(taint.sources)}), not from the user"
                )
    else:  # even a read leaks what it is given (a URL, a query) when an injection chose the value
        ask += [
            f"argument {taint.argument!r} was planted by an injected instruction ({', '.join(taint.sources)})"
            for taint in provenance.untrusted
            if HOSTILE_SOURCE in taint.sources and taint.argument not in pinned
        ]
    if cls is DecisionClass.USER_AUTHORIZED and facts.grant is None:
        ask.append(f"no live grant covers {action} with these arguments")
        ask += facts.refusals
    return ask


def _combine(facts: _Facts) -> Decision:
    classes = [m.decision_class for m in facts.permits if m.decision_class is not None]
    read_only = facts.kind is ToolKind.READ_ONLY
    fallback = DecisionClass.AUTONOMOUS if read_only else DecisionClass.USER_AUTHORIZED
    cls = max(classes, key=lambda c: c.strictness) if classes else fallback
    if hard := [m for m in facts.forbids if m.outcome is Effect.DENY]:
        return _deny(
            [_reason(m, "forbidden by policy", facts.failed) for m in hard], facts.digest, cls, facts.ids
        )
    if not facts.permits:
        reason = f"no policy permits {facts.request.action}: denied by default"
        return _deny([reason], facts.digest, cls, facts.ids)
    redact = tuple(f for m in facts.permits if m.outcome is Effect.REDACT for f in m.redact)
    ask = _asks(facts, cls)
    grant = facts.grant if cls is DecisionClass.USER_AUTHORIZED and not ask else None
    obligations = [_RECORD]
    if redact:
        obligations.append(Obligation(kind=ObligationKind.REDACT, fields=redact))
    if ask:
        obligations.append(_USER_APPROVAL if cls is DecisionClass.USER_ONLY else _APPROVAL)
        effect, reasons = Effect.ASK, ask
    else:
        obligations.append(_NOTIFY)  # Art. 6: the user knows, and may review and reverse
        if grant is not None and grant.budgeted:
            charge = Obligation(
                kind=ObligationKind.CHARGE_BUDGET, grant_id=grant.grant_id, amount=grant.charge
            )
            obligations.append(charge)
        effect = Effect.REDACT if redact else Effect.ALLOW
        reasons = [f"covered by grant {grant.grant_id}" if grant else f"{cls.value}: permitted by policy"]
    return Decision(
        effect=effect,
        applied_effect=effect,
        decision_class=cls,
        reasons=tuple(reasons),
        obligations=tuple(obligations),
        policies=facts.ids,
        grants=(grant.grant_id,) if grant else (),
        policy_digest=facts.digest,
    )


def _decide(
    request: ActionRequest,
    policy_set: PolicySet | None,
    grants: Sequence[Grant],
    usage: Mapping[str, GrantUsage],
    tool_classes: Mapping[str, ToolKind],
) -> Decision:
    if policy_set is None or policy_set.is_empty:
        digest = policy_set.digest if policy_set is not None else NO_POLICY_DIGEST
        return _deny(["no policy is loaded: everything is denied"], digest)
    grant, refusals = _covering(grants, request, usage)
    try:
        found = policy_set.match(
            request, grant_covered=grant is not None, pinned=grant.pinned if grant else frozenset()
        )
    except CedarTypeError as exc:
        return _deny([f"{exc}: refused"], policy_set.digest)
    if found.engine_errors:
        return _deny([f"the policy engine failed: {found.engine_errors[0]}"], policy_set.digest)
    permits = [m for m in found.satisfied if m.effect == "permit"]
    # A fence that cannot be evaluated counts as met (fail closed); a permit that cannot is not given.
    forbids = [m for m in (*found.satisfied, *found.failed) if m.effect == "forbid"]
    facts = _Facts(
        request=request,
        digest=policy_set.digest,
        kind=_kind(tool_classes, request.action),
        grant=grant,
        refusals=refusals,
        permits=permits,
        forbids=forbids,
        failed=frozenset(m.id for m in found.failed),
        ids=tuple(m.id for m in (*found.satisfied, *found.failed)),
        trusted=policy_set.catalog.trusted_sources.union(*(m.trusted_sources for m in permits)),
    )
    return _combine(facts)


def evaluate(
    request: ActionRequest,
    policy_set: PolicySet | None,
    grants: Sequence[Grant],
    usage: Mapping[str, GrantUsage],
    *,
    tool_classes: Mapping[str, ToolKind],
    shadow: bool = False,
) -> Decision:
    """Decide ``request``. Never raises: any failure inside is a deny that says so (fail closed).

    ``grants`` are the user's live grants (revoked ones are left out by the caller); ``usage`` maps a
    grant id to what it was used for today. ``tool_classes`` maps ``tool`` or ``server:tool`` to its
    kind. In ``shadow`` mode the decision is computed and marked not enforced, and the caller applies
    allow: a new policy set can be watched before it is enforced.
    """
    try:
        decision = _decide(request, policy_set, grants, usage, tool_classes)
    except Exception as exc:  # noqa: BLE001 - fail closed: whatever breaks, the answer is deny
        detail = exc.detail if isinstance(exc, AgentGovError) else type(exc).__name__
        digest = policy_set.digest if isinstance(policy_set, PolicySet) else NO_POLICY_DIGEST
        decision = _deny([f"the decision could not be made ({detail}): denied"], digest)
    if shadow:
        return decision.model_copy(update={"enforced": False, "applied_effect": Effect.ALLOW})
    return decision


def visible_tools(
    policy_set: PolicySet | None,
    agent_id: str,
    user_id: str,
    context: RequestContext,
    tools: Sequence[ActionRef],
) -> tuple[ActionRef, ...]:
    """The tools the agent may be shown: those a hard forbid does not exclude and some policy may allow.

    Fails closed: no policy set, or an error, shows nothing.
    """
    if policy_set is None:
        return ()
    try:
        return policy_set.visible(agent_id, user_id, context, tools)
    except Exception:  # noqa: BLE001 - fail closed: a tool list that cannot be checked is empty
        return ()
