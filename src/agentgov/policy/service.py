"""The authority service (Art. 6, 7): ``decide(request) -> Decision``, recorded.

``decide`` reads the deployment's active policy set (built once per digest), the user's live grants
and today's usage (read at each decision, so a revocation takes effect on the very next one), calls
the pure :func:`agentgov.policy.evaluate` and records the decision through the :class:`Recorder`, in
shadow mode too (marked not enforced). The reads, the decision's row and, when the recorder writes
to the same database (the ledger outbox), its event are one transaction: one commit, and the event
is never on the record without the row nor the row without the event.

A decision that allows under a grant with a daily budget takes what it spends (one call, its amount)
from the grant's usage for the request's UTC day in that same transaction, conditionally in the
database, so that decisions made at the same time never spend more than the budget together. An
allowed action that then does not run keeps its share spent (fail closed). ``action_ran`` records
that a decided action ran, once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from agentgov.core.clock import Clock, isoformat_z
from agentgov.core.digest import digest_json
from agentgov.core.ids import new_id
from agentgov.errors import Conflict, Forbidden, InvalidInput, NotFound
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.decide import NO_POLICY_DIGEST, denied, evaluate, visible_tools
from agentgov.policy.fences import PolicySet
from agentgov.policy.grant_eval import GrantUsage
from agentgov.policy.grant_service import GrantService
from agentgov.policy.grants import Grant
from agentgov.policy.model import (
    ActionRef,
    ActionRequest,
    Decision,
    Effect,
    ObligationKind,
    RequestContext,
    ToolKind,
)
from agentgov.policy.store import AuthorityStore, DecisionUnit, Recorder, TransactionalRecorder
from agentgov.policy.tables import AMOUNT_SCALE
from agentgov.policy.versions import READERS, PolicyVersions, require_role

__all__ = ["AuthorityService", "AuthoritySettings", "DecisionRecord", "decision_view", "to_micros"]

_RAN = frozenset({Effect.ALLOW.value, Effect.REDACT.value})
# Evaluations of one decision while other decisions keep taking the same budget first; then refused.
_BUDGET_ATTEMPTS = 3


@dataclass(frozen=True)
class AuthoritySettings:
    # The deployment a decision uses when the caller names none.
    deployment: str = "default"
    # Built policy sets kept in memory, by digest: the active set of each deployment and a rollback.
    policy_cache_size: int = 8
    # Parsed grants kept in memory, by digest: a decision then reads rows, not JSON to validate.
    grant_cache_size: int = 4096
    # A request's time decides grant windows and budget days: it may differ from the server's clock by
    # this much at most, so a caller cannot pick the day whose budget it spends.
    max_clock_skew: timedelta = timedelta(minutes=5)
    # Pages are bounded so a listing cannot ask the store for an unbounded result.
    max_page_size: int = 100


@dataclass(frozen=True)
class DecisionRecord:
    id: str
    decision: Decision
    record_index: int | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "decision": self.decision.to_json(), "record_index": self.record_index}


def to_micros(amount: Decimal | None) -> int:
    """Millionths, rounded up: a budget is never under-counted."""
    return int(((amount or Decimal(0)) * AMOUNT_SCALE).to_integral_value(rounding=ROUND_CEILING))


def decision_view(row: Mapping[Any, Any]) -> dict[str, Any]:
    ran = row["ran_at"]
    return {
        "id": row["id"],
        "deployment": row["deployment"],
        "created_at": isoformat_z(row["created_at"]),
        "ran_at": isoformat_z(ran) if ran else None,
        "record_index": row["record_index"],
        "request": row["request"],
        "decision": row["decision"],
    }


class AuthorityService:
    """Policy versions, grants and decisions over one store, one clock and one recorder."""

    def __init__(
        self,
        store: AuthorityStore,
        clock: Clock,
        recorder: Recorder,
        *,
        settings: AuthoritySettings | None = None,
        tool_classes: Mapping[str, ToolKind] | None = None,
        input_schemas: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self.settings = s = settings or AuthoritySettings()
        self.policies = PolicyVersions(
            store,
            clock,
            recorder,
            default_deployment=s.deployment,
            cache_size=s.policy_cache_size,
            max_page_size=s.max_page_size,
        )
        self.grants = GrantService(
            store, clock, recorder, self.policies, input_schemas=input_schemas, max_page_size=s.max_page_size
        )
        # The recorder again when it writes a decision's event in the decision's own transaction.
        self._joining: TransactionalRecorder | None = None
        if isinstance(recorder, TransactionalRecorder) and recorder.joins(store.engine):
            self._joining = recorder
        self._extra_kinds = dict(tool_classes or {})
        self._parsed: OrderedDict[str, Grant] = OrderedDict()
        self._lock = threading.Lock()

    def _grant(self, row: Mapping[Any, Any]) -> Grant:
        digest: str = row["digest"]
        with self._lock:
            found = self._parsed.get(digest)
        if found is None:
            found = Grant.model_validate_json(row["canonical"])
            with self._lock:
                self._parsed[digest] = found
                while len(self._parsed) > self.settings.grant_cache_size:
                    self._parsed.popitem(last=False)
        return found

    def decide(self, request: ActionRequest, *, actor: str, deployment: str | None = None) -> DecisionRecord:
        """Decide and record. Raises (and the caller must not proceed) only when it cannot record."""
        now = self.clock.now()
        if abs(request.context.time - now) > self.settings.max_clock_skew:
            raise InvalidInput(
                f"context.time is more than {self.settings.max_clock_skew} away from the server's clock",
                field="context.time",
            )
        name, policy_set, shadow = self.policies.active(deployment)
        kinds = {**self._extra_kinds, **(policy_set.tool_kinds if policy_set is not None else {})}
        decision_id = new_id("dec")
        args_digest = digest_json(request.arguments)
        # One transaction: the live grants and their usage on the request's UTC day, the budget the
        # decision spends, the decision's row, and its event when the recorder joins the transaction.
        # Art. 7: on the record before the caller may act on it.
        with self.store.deciding() as unit:
            decision = self._decide_within_budget(unit, request, policy_set, kinds, shadow)
            decided = decision.to_json()
            payload = {
                "decision_id": decision_id,
                "deployment": name,
                "agent_id": request.agent_id,
                "action": str(request.action),
                "venue": request.context.venue.value,
                "arguments_digest": args_digest,
                **decided,
            }
            index = None
            if self._joining is not None:
                index = self._joining.record_in(
                    unit.txn, "authority.decision", request.user_id, actor, payload
                )
            unit.insert_decision(
                {
                    "id": decision_id,
                    "deployment": name,
                    "user_id": request.user_id,
                    "agent_id": request.agent_id,
                    "server": request.action.server,
                    "tool": request.action.tool,
                    "arguments_digest": args_digest,
                    "request": request.model_dump_json(),  # JSON text: one step, not a dict dumped
                    "effect": decision.effect.value,
                    "applied_effect": decision.applied_effect.value,
                    "enforced": decision.enforced,
                    "decision_class": decision.decision_class.value if decision.decision_class else None,
                    "decision": decision.model_dump_json(exclude_none=True),  # the text of ``decided``
                    "policy_digest": decision.policy_digest,
                    "record_index": index,
                    "created_at": now,
                }
            )
        if self._joining is None:
            # Recorded once the transaction is over: the log's writer (the server's own process) takes
            # the database's write lock for its batch, which a budget taken above would hold until
            # commit. If recording fails the caller gets the error and must not act; the row stays,
            # without an index, as a decision that never reached the record.
            index = self.recorder.record("authority.decision", request.user_id, actor, payload)
            if index is not None:
                self.store.set_record_index(decision_id, index)
        return DecisionRecord(decision_id, decision, index)

    def _decide_within_budget(
        self,
        unit: DecisionUnit,
        request: ActionRequest,
        policy_set: PolicySet | None,
        kinds: Mapping[str, ToolKind],
        shadow: bool,
    ) -> Decision:
        """Evaluate, and take from the covering grant's daily budget what an allow spends.

        The budget is taken when the decision is made, not when the action is reported as run: two
        decisions made at once could otherwise both fit in what is left. Taking it is conditional in
        the database (the row as it is at commit, not as it was read), so when another decision took
        it first the grants are read again, now behind that one, and the request is evaluated again.
        """
        at = request.context.time
        day = at.date().isoformat()
        for _ in range(_BUDGET_ATTEMPTS):
            rows = unit.live_grants(request.user_id, request.agent_id, at, day)
            live = {r["id"]: self._grant(r) for r in rows}
            usage = {
                row["id"]: GrantUsage(
                    count=row["used_count"] or 0,
                    amount=Decimal(row["used_micros"] or 0) / AMOUNT_SCALE,
                )
                for row in rows
                if live[row["id"]].has_budget
            }
            decision = evaluate(
                request, policy_set, list(live.values()), usage, tool_classes=kinds, shadow=shadow
            )
            charges = [
                o for o in decision.obligations if o.kind is ObligationKind.CHARGE_BUDGET and o.grant_id
            ]
            if all(self._take(unit, live[o.grant_id], day, o.amount) for o in charges if o.grant_id in live):
                return decision
        digest = policy_set.digest if policy_set is not None else NO_POLICY_DIGEST
        return denied(["the grant's daily budget kept changing while deciding: refused"], digest)

    @staticmethod
    def _take(unit: DecisionUnit, grant: Grant, day: str, amount: Decimal | None) -> bool:
        budget = grant.max_amount_per_day
        return unit.take_budget(
            grant.id,
            day,
            to_micros(amount),
            max_count=grant.max_calls_per_day,
            max_micros=to_micros(budget.limit) if budget is not None else None,
        )

    def visible(
        self,
        agent_id: str,
        user_id: str,
        context: RequestContext,
        tools: Sequence[ActionRef],
        deployment: str | None = None,
    ) -> tuple[ActionRef, ...]:
        """The tools the agent may be shown (Art. 8 permission management); none without a policy."""
        return visible_tools(self.policies.active(deployment)[1], agent_id, user_id, context, tools)

    def action_ran(self, who: Principal, decision_id: str) -> dict[str, Any]:
        """The caller reports that the decided action actually ran, once (its budget was taken when
        it was decided)."""
        require_role(who, Role.ADMIN)
        row = self.store.get_decision(decision_id)
        if row is None:
            raise NotFound(f"no decision {decision_id!r}")
        if row["applied_effect"] not in _RAN:
            raise Conflict(f"decision {decision_id} did not allow the action ({row['applied_effect']})")
        if not self.store.mark_ran(decision_id, self.clock.now()):
            raise Conflict(f"decision {decision_id} was already reported as run")
        return self.get_decision(who, decision_id)

    def get_decision(self, who: Principal, decision_id: str) -> dict[str, Any]:
        row = self.store.get_decision(decision_id)
        if row is None or not (
            who.role in READERS or (who.role is Role.USER and who.subject == row["user_id"])
        ):
            raise NotFound(f"no decision {decision_id!r}")
        return decision_view(row)

    def list_decisions(
        self, who: Principal, *, user: str | None = None, limit: int = 50, before: int | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; ``before`` pages by the ``seq`` of the last one seen. Users read their own."""
        if who.role is Role.USER:
            if user not in (None, who.subject):
                raise Forbidden("a user reads only the decisions made on their behalf")
            user = who.subject
        else:
            require_role(who, *READERS)
        rows = self.store.list_decisions(
            user_id=user, limit=min(limit, self.settings.max_page_size), before=before
        )
        return [{**decision_view(r), "seq": r["seq"]} for r in rows]
