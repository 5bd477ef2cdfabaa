"""The lifecycle state machine of an agent record (Art. 11: filing, testing, recall). Pure.

::

    filed ──submit──> under_review ──approve──> registered <──reinstate── suspended
      │                  │  └──reject──> filed        │ ──suspend──────────> │
      │withdraw          │withdraw                    │ deprecate            │ recall
      v                  v                            v                      v
    withdrawn         withdrawn                   deprecated ──retire──> retired    recalled (terminal)

``recall`` is possible from every live state; ``recalled``, ``retired`` and ``withdrawn`` are terminal,
and the record stays readable as a tombstone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agentgov.errors import IllegalTransition, InvalidInput

__all__ = [
    "DELETED_STATUSES",
    "Action",
    "Actor",
    "AgentStatus",
    "Transition",
    "next_status",
]


class AgentStatus(StrEnum):
    FILED = "filed"
    UNDER_REVIEW = "under_review"
    REGISTERED = "registered"
    SUSPENDED = "suspended"
    DEPRECATED = "deprecated"
    RETIRED = "retired"
    WITHDRAWN = "withdrawn"
    RECALLED = "recalled"


DELETED_STATUSES = frozenset({AgentStatus.RETIRED, AgentStatus.WITHDRAWN, AgentStatus.RECALLED})


class Action(StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    APPROVE = "approve"
    REJECT = "reject"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    DEPRECATE = "deprecate"
    RETIRE = "retire"
    RECALL = "recall"


class Actor(StrEnum):
    """Who is moving the record: its own developer, or the registrar."""

    DEVELOPER = "developer"
    REGISTRAR = "registrar"


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    source: frozenset[AgentStatus]
    target: AgentStatus
    by: Actor
    needs_reason: bool = False


S = AgentStatus
_LIVE = frozenset({S.FILED, S.UNDER_REVIEW, S.REGISTERED, S.SUSPENDED, S.DEPRECATED})

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        Transition(Action.SUBMIT, frozenset({S.FILED}), S.UNDER_REVIEW, Actor.DEVELOPER),
        Transition(Action.WITHDRAW, frozenset({S.FILED, S.UNDER_REVIEW}), S.WITHDRAWN, Actor.DEVELOPER),
        Transition(Action.APPROVE, frozenset({S.UNDER_REVIEW}), S.REGISTERED, Actor.REGISTRAR),
        Transition(Action.REJECT, frozenset({S.UNDER_REVIEW}), S.FILED, Actor.REGISTRAR, needs_reason=True),
        Transition(
            Action.SUSPEND, frozenset({S.REGISTERED, S.DEPRECATED}), S.SUSPENDED, Actor.REGISTRAR, True
        ),
        Transition(
            Action.REINSTATE, frozenset({S.SUSPENDED}), S.REGISTERED, Actor.REGISTRAR, needs_reason=True
        ),
        Transition(Action.DEPRECATE, frozenset({S.REGISTERED}), S.DEPRECATED, Actor.DEVELOPER),
        Transition(Action.RETIRE, frozenset({S.REGISTERED, S.DEPRECATED}), S.RETIRED, Actor.DEVELOPER),
        # Art. 11: recall is the registrar's, from any live state, and always states its reason.
        Transition(Action.RECALL, _LIVE, S.RECALLED, Actor.REGISTRAR, needs_reason=True),
    )
}


def next_status(current: AgentStatus, action: Action, by: Actor, reason: str | None) -> AgentStatus:
    """The status after ``action``; raise IllegalTransition or InvalidInput if the move is refused."""
    transition = TRANSITIONS[action]
    if transition.by is not by:
        raise IllegalTransition(
            f"only the {transition.by.value} may {action.value} an agent",
            current=current.value,
            action=action.value,
        )
    if current not in transition.source:
        allowed = ", ".join(sorted(s.value for s in transition.source))
        raise IllegalTransition(
            f"cannot {action.value} an agent that is {current.value} (allowed from: {allowed})",
            current=current.value,
            action=action.value,
        )
    if transition.needs_reason and not (reason and reason.strip()):
        raise InvalidInput(f"a {action.value} must state its reason", field="reason")
    return transition.target
