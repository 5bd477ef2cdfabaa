"""What a gateway remembers of the approvals it asked for: never more than its limit, at most one approval
per call, nothing of a settled call or a closed session."""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgov.errors import InvalidInput
from agentgov.gateway import GatewaySettings
from agentgov.gateway.guard_gate import AskedCall, CallKey, PendingApprovals

Op = tuple[Literal["asked", "settled", "close"], int, int, int]  # what, session, call, approval

ops = st.lists(
    st.tuples(
        st.sampled_from(["asked", "asked", "settled", "close"]),
        st.integers(0, 2),
        st.integers(0, 3),
        st.integers(0, 12),
    ),
    max_size=80,
)


def _call(session: str, n: int) -> AskedCall:
    key: CallKey = ("toy", "delete_everything", f"sha256:{n:064x}")
    return AskedCall(session, "toy", "delete_everything", {"n": n}, key)


@given(limit=st.integers(1, 5), ops=ops)
def test_pending_approvals_stay_within_the_limit_and_only_for_calls_still_waiting(
    limit: int, ops: list[Op]
) -> None:
    pending = PendingApprovals(limit)
    seen: set[str] = set()
    for what, s, n, a in ops:
        session, call, approval = f"s{s}", _call(f"s{s}", n), f"apr_{a}"
        if what == "asked":
            pending.asked(approval, call)
            seen.add(approval)
            assert pending.get(approval) == call  # the newest is never the one dropped
        elif what == "settled":
            pending.settled(session, call.key)
        else:
            pending.close(session)

        assert len(pending) <= limit
        remembered = [c for c in (pending.get(x) for x in seen) if c is not None]
        assert len(remembered) == len(pending)
        calls = [(c.session, c.key) for c in remembered]
        assert len(set(calls)) == len(calls)  # one approval per call
        assert pending.sessions == len({c.session for c in remembered})
        if what == "settled":
            assert (session, call.key) not in calls
        if what == "close":
            assert not pending.holds(session)
            assert all(c.session != session for c in remembered)


def test_a_gateway_remembers_at_least_one_approval() -> None:
    with pytest.raises(InvalidInput, match="max_pending_approvals"):
        GatewaySettings(max_pending_approvals=0)
