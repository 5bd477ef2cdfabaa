"""The lifecycle state machine: every legal move works, every other move is refused with its code."""

from __future__ import annotations

import itertools

import pytest

from agentgov.errors import IllegalTransition, InvalidInput
from agentgov.registry.lifecycle import TRANSITIONS, Action, Actor, AgentStatus, next_status

LEGAL = {
    (AgentStatus.FILED, Action.SUBMIT): AgentStatus.UNDER_REVIEW,
    (AgentStatus.FILED, Action.WITHDRAW): AgentStatus.WITHDRAWN,
    (AgentStatus.UNDER_REVIEW, Action.WITHDRAW): AgentStatus.WITHDRAWN,
    (AgentStatus.UNDER_REVIEW, Action.APPROVE): AgentStatus.REGISTERED,
    (AgentStatus.UNDER_REVIEW, Action.REJECT): AgentStatus.FILED,
    (AgentStatus.REGISTERED, Action.SUSPEND): AgentStatus.SUSPENDED,
    (AgentStatus.DEPRECATED, Action.SUSPEND): AgentStatus.SUSPENDED,
    (AgentStatus.SUSPENDED, Action.REINSTATE): AgentStatus.REGISTERED,
    (AgentStatus.REGISTERED, Action.DEPRECATE): AgentStatus.DEPRECATED,
    (AgentStatus.REGISTERED, Action.RETIRE): AgentStatus.RETIRED,
    (AgentStatus.DEPRECATED, Action.RETIRE): AgentStatus.RETIRED,
    **{
        (s, Action.RECALL): AgentStatus.RECALLED
        for s in (
            AgentStatus.FILED,
            AgentStatus.UNDER_REVIEW,
            AgentStatus.REGISTERED,
            AgentStatus.SUSPENDED,
            AgentStatus.DEPRECATED,
        )
    },
}
ALL_PAIRS = list(itertools.product(AgentStatus, Action))


@pytest.mark.parametrize(("status", "action"), sorted(LEGAL), ids=str)
def test_legal_move_reaches_its_target(status: AgentStatus, action: Action) -> None:
    by = TRANSITIONS[action].by
    assert next_status(status, action, by, "a stated reason") is LEGAL[(status, action)]


@pytest.mark.parametrize(("status", "action"), [p for p in ALL_PAIRS if p not in LEGAL], ids=str)
def test_every_illegal_move_is_refused_with_its_code(status: AgentStatus, action: Action) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_status(status, action, TRANSITIONS[action].by, "a stated reason")
    assert caught.value.code == "illegal_transition"
    assert status.value in caught.value.detail


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_move_by_the_wrong_party_is_refused(action: Action) -> None:
    wrong = Actor.DEVELOPER if TRANSITIONS[action].by is Actor.REGISTRAR else Actor.REGISTRAR
    source = next(iter(TRANSITIONS[action].source))
    with pytest.raises(IllegalTransition, match=f"only the {TRANSITIONS[action].by.value}"):
        next_status(source, action, wrong, "reason")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_recall_without_a_reason_is_refused(reason: str | None) -> None:
    with pytest.raises(InvalidInput, match="must state its reason"):
        next_status(AgentStatus.REGISTERED, Action.RECALL, Actor.REGISTRAR, reason)


def test_terminal_states_have_no_way_out() -> None:
    for status in (AgentStatus.RECALLED, AgentStatus.RETIRED, AgentStatus.WITHDRAWN):
        for action in Action:
            with pytest.raises(IllegalTransition):
                next_status(status, action, TRANSITIONS[action].by, "reason")
