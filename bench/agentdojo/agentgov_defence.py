"""The agentgov guard as a replay defence: the shipped packs, one standing grant set per suite.

One store (SQLite in memory, migrated) and an in-memory record. Each suite gets its own policy
deployment (its packs and settings, ``standing.STANDING``), its user's standing grants to the agent,
and a guard deciding under that deployment. A session is opened per task with the user's prompt as the
task; every result the replay reads goes to ``check_result``, so injected text taints what follows.

The registry is out of the replay's scope: the agent's status is put in the guard's status cache as
registered when each task begins, which is what the registry's watcher would have put there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from agentgov.approvals.wiring import AuthorityServices, open_authority
from agentgov.core.clock import SystemClock, isoformat_z
from agentgov.db import make_engine, upgrade
from agentgov.detect import DetectorSet, default_set, pii_detector, secrets_detector
from agentgov.guard import CallCheck, Guard, GuardSession, GuardSettings, StatusCache
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.store import MemoryRecorder
from agentgov.policy.versions import PolicyMode, PolicySource
from agentgov.registry.lifecycle import AgentStatus
from bench.agentdojo.defences import Defence, Verdict
from bench.agentdojo.standing import STANDING

__all__ = ["AgentgovDefence", "make_defence"]

AGENT, USER = "agent-agentdojo", "emma.johnson"
_ADMIN = Principal(key_id="bench-admin", role=Role.ADMIN)
_USER = Principal(key_id="bench-user", role=Role.USER, subject=USER)


@dataclass
class _Session:
    guard: Guard
    session: GuardSession
    server: str
    checks: dict[tuple[str, str], CallCheck] = field(default_factory=dict)  # (tool, args repr) -> check


def server_of(suite_name: str) -> str:
    return f"agentdojo-{suite_name}"


class AgentgovDefence:
    name = "agentgov"

    def __init__(self, *, injection_detector: bool = True) -> None:
        # Without the injection detector (an ablation): what provenance and the fences stop on their
        # own, as against an injection no detector recognises.
        self.detectors = (
            default_set() if injection_detector else DetectorSet((pii_detector(), secrets_detector()))
        )
        if not injection_detector:
            self.name = "agentgov_without_injection_detector"
        engine = make_engine("sqlite://")
        upgrade(engine)
        self.clock = SystemClock()
        self.recorder = MemoryRecorder()
        self.services: AuthorityServices = open_authority(engine, self.clock, self.recorder)
        self._status = StatusCache(engine)
        self._guards: dict[str, Guard] = {}

    def _guard(self, suite_name: str) -> Guard:
        """The suite's deployment, grants and guard, set up on first use."""
        if suite_name in self._guards:
            return self._guards[suite_name]
        standing = STANDING[suite_name]
        deployment = server_of(suite_name)
        policies = self.services.authority.policies
        source = PolicySource(packs=standing.packs, settings=standing.settings)
        digest = policies.load(_ADMIN, source)["digest"]
        policies.activate(_ADMIN, digest, PolicyMode.ENFORCE, deployment)
        now = self.clock.now()
        for grant in standing.grants:
            doc = {k: v for k, v in grant.items() if k != "tools"}
            doc |= {
                "grantor": USER,
                "agent_id": AGENT,
                "actions": [{"tool": t, "server": deployment} for t in grant["tools"]],
                "venues": ["private"],
                "not_before": isoformat_z(now - timedelta(hours=1)),
                "expires_at": isoformat_z(now + timedelta(days=1)),
            }
            self.services.authority.grants.create(_USER, {"grant": doc})
        guard = Guard(
            authority=self.services.authority,
            approvals=self.services.approvals,
            recorder=self.recorder,
            status=self._status,
            clock=self.clock,
            detectors=self.detectors,
            settings=GuardSettings(deployment=deployment),
        )
        self._guards[suite_name] = guard
        return guard

    def begin(self, suite_name: str, user_task_prompt: str) -> _Session:
        self._status.put(AGENT, AgentStatus.REGISTERED)
        guard = self._guard(suite_name)
        session = guard.open_session(agent_id=AGENT, user_id=USER, task=user_task_prompt)
        return _Session(guard, session, server=server_of(suite_name))

    def check_call(self, session: _Session, function_name: str, args: Mapping[str, object]) -> Verdict:
        check = session.guard.check_call(session.session, session.server, function_name, dict(args))
        session.checks[function_name, repr(sorted(args.items()))] = check
        return check.effect

    def observe_result(
        self, session: _Session, function_name: str, args: Mapping[str, object], result_text: str
    ) -> None:
        check = session.checks.pop((function_name, repr(sorted(args.items()))))
        session.guard.check_result(session.session, check, result_text)


def make_defence() -> Defence[Any]:
    return AgentgovDefence()


def make_ablation() -> Defence[Any]:
    return AgentgovDefence(injection_detector=False)
