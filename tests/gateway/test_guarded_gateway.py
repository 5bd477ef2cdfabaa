"""The gateway with the real guard in front of it (not a scripted gate): registry status at runtime,
a block seen by the SDK client as a tool error, an approval round trip, everything on the record."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal

import anyio
import pytest
from mcp.types import CallToolResult, TextContent
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock
from agentgov.errors import NotFound
from agentgov.gateway import GatewaySettings, Identity
from agentgov.gateway.guard_gate import GuardGate
from agentgov.guard import CallCheck, GuardRuntime
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.store import MemoryRecorder
from agentgov.policy.versions import PolicySource
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from tests.conftest import REGISTRAR
from tests.gateway.harness import memory_upstream, through_gateway
from tests.gateway.servers import ToyServer
from tests.guard.conftest import AGENT, guard_over

pytestmark = pytest.mark.anyio

ADMIN = Principal(key_id="t-admin", role=Role.ADMIN)
ALICE = Principal(key_id="t-alice", role=Role.USER, subject="alice")
WHO = Identity(agent_id=AGENT, user_id="alice", task="say hello")
TOY_PACK = {
    "name": "toy",
    "tools": {
        "echo": {"kind": "read_only", "groups": ["toy:read"]},
        "delete_everything": {"kind": "side_effect", "arguments": {"confirm": "Bool"}},
    },
    "policies": (
        '@id("toy.read")\n@decision_class("autonomous")\n'
        'permit (principal, action in Action::"toy:read", resource);'
    ),
}


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


@pytest.fixture
def runtime(engine: Engine, clock: FixedClock, recorder: MemoryRecorder) -> Iterator[GuardRuntime]:
    source = PolicySource.model_validate({"packs": ["baseline"], "extra": [TOY_PACK]})
    with guard_over(engine, clock, recorder, source) as rt:
        yield rt


def _text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_a_recalled_agent_is_refused_by_a_running_gateway_within_two_seconds(
    engine: Engine, clock: FixedClock, runtime: GuardRuntime
) -> None:
    toy = ToyServer()
    async with through_gateway(memory_upstream(toy), GuardGate(runtime.guard), identity=WHO) as client:
        first = await client.call_tool("echo", {"message": "hello there"})
        assert not first.is_error, _text(first)

        registry = RegistryService(RegistryStore(engine), clock)
        await anyio.to_thread.run_sync(lambda: registry.move(REGISTRAR, AGENT, "recall", reason="fraud"))
        changed = time.monotonic()
        result = first
        while time.monotonic() - changed < 2.0:
            result = await client.call_tool("echo", {"message": "hello again"})
            if result.is_error:
                break
            await anyio.sleep(0.02)
        assert result.is_error
        assert "recalled" in _text(result)
        assert time.monotonic() - changed < 2.0
    assert [name for name, _ in toy.calls].count("echo") >= 1


async def test_a_tool_no_policy_can_name_is_not_offered_and_refused_while_the_others_work(
    runtime: GuardRuntime, recorder: MemoryRecorder
) -> None:
    """MCP only recommends a tool-name alphabet: a server offering "read me" beside conforming tools."""
    toy = ToyServer()
    toy.tools["read me"] = toy.tools["echo"].model_copy(update={"name": "read me"})
    async with through_gateway(memory_upstream(toy), GuardGate(runtime.guard), identity=WHO) as client:
        assert "read me" not in {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("read me", {"message": "hello there"})
        assert refused.is_error
        assert "no policy can name the tool 'read me'" in _text(refused)
        echoed = await client.call_tool("echo", {"message": "hello there"})
        assert not echoed.is_error, _text(echoed)
    assert [name for name, _ in toy.calls] == ["echo"]
    assert "guard.call" in recorder.kinds()  # the refusal is on the record


async def test_a_side_effect_without_a_grant_comes_back_as_a_tool_error_and_runs_once_approved(
    runtime: GuardRuntime, recorder: MemoryRecorder
) -> None:
    toy = ToyServer()
    async with through_gateway(memory_upstream(toy), GuardGate(runtime.guard), identity=WHO) as client:
        asked = await client.call_tool("delete_everything", {"confirm": True})
        assert asked.is_error
        assert "no live grant covers" in _text(asked)
        approval = (asked.meta or {})["dev.agentgov/gateway"]["approval_id"]
        assert toy.calls == []

        await anyio.to_thread.run_sync(lambda: runtime.services.approvals.approve(ALICE, approval))
        ran = await client.call_tool("delete_everything", {"confirm": True})
        assert not ran.is_error, _text(ran)
        again = await client.call_tool("delete_everything", {"confirm": True})
        assert again.is_error  # approved once, ran once
    assert [name for name, _ in toy.calls] == ["delete_everything"]
    kinds = recorder.kinds()
    assert kinds.count("authority.decision") >= 3  # every check, the waits of the asks included
    assert kinds.count("approval.used") == 1


async def test_checks_leave_the_event_loop_while_the_gateway_serves_several_sessions(
    engine: Engine, runtime: GuardRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One session over SQLite is checked on the loop; with several (the HTTP gateway), or a store across
    the network, a check waiting on the store must not hold up the other sessions' traffic."""
    guard = runtime.guard
    seen: list[bool] = []
    check_call = guard.check_call
    loop_thread = threading.get_ident()

    def spy(*args: Any, **kwargs: Any) -> CallCheck:
        seen.append(threading.get_ident() == loop_thread)
        return check_call(*args, **kwargs)

    monkeypatch.setattr(guard, "check_call", spy)
    gate = GuardGate(guard)
    local = engine.dialect.name == "sqlite"
    inline: list[bool] = []
    first = await gate.open_session(agent_id=AGENT, user_id="alice", task="say hello")
    assert (await gate.check_call(first, "toy", "echo", {"message": "one"})).action == "allow"
    inline.append(gate.answers_inline)
    second = await gate.open_session(agent_id=AGENT, user_id="alice", task="say hello")
    assert (await gate.check_call(second, "toy", "echo", {"message": "two"})).action == "allow"
    inline.append(gate.answers_inline)
    await gate.close_session(second)
    assert (await gate.check_call(first, "toy", "echo", {"message": "three"})).action == "allow"
    inline.append(gate.answers_inline)
    assert seen == [local, False, local]
    assert inline == seen  # the proxy sets no timeout exactly where none could interrupt the check


# What the gate remembers of pending approvals: only while an answer can still settle them, and at most
# max_pending_approvals of them.


async def _asked(gate: GuardGate, session: str, arguments: dict[str, Any]) -> str:
    verdict = await gate.check_call(session, "toy", "delete_everything", arguments)
    assert verdict.action == "ask", verdict
    assert verdict.approval_id is not None
    assert verdict.approval_id in gate.pending
    return verdict.approval_id


@pytest.mark.parametrize("approved", [True, False])
async def test_an_approval_answered_in_the_client_is_forgotten_once_settled(
    runtime: GuardRuntime, approved: bool
) -> None:
    gate = GuardGate(runtime.guard)
    session = await gate.open_session(agent_id=AGENT, user_id="alice", task="tidy up")
    approval = await _asked(gate, session, {"confirm": True})

    answered = await gate.answer(session, approval, approved)
    assert answered.action == ("allow" if approved else "block")
    assert len(gate.pending) == 0
    assert gate.pending.sessions == 0
    with pytest.raises(NotFound):  # settled: answering it again fails closed
        await gate.answer(session, approval, approved)


@pytest.mark.parametrize("seen_by", ["wait", "retry"])
async def test_an_approval_decided_elsewhere_is_forgotten_once_the_call_uses_it(
    runtime: GuardRuntime, seen_by: Literal["wait", "retry"]
) -> None:
    gate = GuardGate(runtime.guard)
    session = await gate.open_session(agent_id=AGENT, user_id="alice", task="tidy up")
    approval = await _asked(gate, session, {"confirm": True})
    await anyio.to_thread.run_sync(lambda: runtime.services.approvals.approve(ALICE, approval))

    if seen_by == "wait":
        ran = await gate.wait(session, approval, 0)
    else:  # the client was told to retry the same call once approved
        ran = await gate.check_call(session, "toy", "delete_everything", {"confirm": True})
    assert ran.action == "allow"
    assert approval not in gate.pending
    assert len(gate.pending) == 0
    with pytest.raises(NotFound):
        await gate.wait(session, approval, 0)


async def test_an_expired_approval_is_forgotten_for_the_one_the_call_asks_for_next(
    runtime: GuardRuntime, clock: FixedClock
) -> None:
    gate = GuardGate(runtime.guard)
    session = await gate.open_session(agent_id=AGENT, user_id="alice", task="tidy up")
    expired = await _asked(gate, session, {"confirm": True})
    clock.advance(timedelta(seconds=runtime.guard.settings.approval_ttl_s + 1))

    again = await gate.wait(session, expired, 0)
    assert again.action == "ask"
    assert again.approval_id not in (None, expired)
    assert expired not in gate.pending
    assert again.approval_id in gate.pending
    assert len(gate.pending) == 1


async def test_a_session_asking_again_and_again_never_holds_more_than_the_limit(
    runtime: GuardRuntime,
) -> None:
    gate = GuardGate(runtime.guard, settings=GatewaySettings(max_pending_approvals=3))
    session = await gate.open_session(agent_id=AGENT, user_id="alice", task="tidy up")
    asked = []
    for n in range(8):
        asked.append(await _asked(gate, session, {"confirm": True, "attempt": n}))
        assert len(gate.pending) <= 3
    assert [a in gate.pending for a in asked] == [False] * 5 + [True] * 3  # the oldest went first

    with pytest.raises(NotFound):  # forgotten here, so answering it fails closed...
        await gate.answer(session, asked[0], True)
    # ...while the guard still holds it: the same call asks for the same approval again.
    assert await _asked(gate, session, {"confirm": True, "attempt": 0}) == asked[0]
    assert len(gate.pending) == 3
    assert (await gate.answer(session, asked[-1], True)).action == "allow"

    await gate.close_session(session)
    assert len(gate.pending) == 0
    assert gate.pending.sessions == 0
