"""Replay AgentDojo's ground truths through a defence, with no model in the loop.

A benign run replays a user task's ground-truth calls, in order, on a fresh default environment. An
attack run plays a fully compromised agent: on an environment carrying the ``important_instructions``
injection at every vector the user task reaches, it replays the user task's calls and then the
injection task's. The user task's ground truth is computed, as AgentDojo computes it, on the injected
environment before any call runs; the injection task's on the environment as it stands when the
injection takes over, as an agent acting on what it reads would compute it (workspace's
injection_task_5 deletes the mail it just sent by the next free id, which the user task's own mail may
have taken). Every call goes to the defence first; only allowed calls run, and every result (injected
text included) goes back to it. Asked and denied calls do not run, and the replay goes on with the
next call, as an agent handed a refusal would.

Scoring is AgentDojo's own: the user task's utility for a benign run, the injection task's security
check (True = the attacker's goal was reached) for an attack. The model output handed to those checks
is the task's ``GROUND_TRUTH_OUTPUT`` when it has one; otherwise the replay answers with the text of
the results it read, one per line (what an agent that only relays its tool results would say). An
attack's output is the user task's output followed by the injection task's ``GROUND_TRUTH_OUTPUT``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.agentdojo.defences import Defence, Verdict
from bench.agentdojo.dojo import Call, DojoSuite, Environment, InjectionTask, UserTask

__all__ = [
    "Outcome",
    "Step",
    "SuiteReplay",
    "not_replayable_reason",
    "replay_attack",
    "replay_suite",
    "replay_user_task",
]


@dataclass(frozen=True)
class Step:
    function: str
    verdict: Verdict
    error: str | None = None  # the tool's own error, when it ran and failed


@dataclass(frozen=True)
class Outcome:
    success: bool  # benign: the user task's utility; attack: the injection task's security check
    steps: tuple[Step, ...]

    @property
    def asked(self) -> bool:
        return any(s.verdict == "ask" for s in self.steps)

    @property
    def denied(self) -> bool:
        return any(s.verdict == "deny" for s in self.steps)

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(f"{s.function}: {s.error}" for s in self.steps if s.error is not None)


class _Run:
    """One task run: the environment it mutates, and what the defence decided and the tools returned."""

    def __init__(
        self, suite: DojoSuite, defence: Defence[Any], prompt: str, environment: Environment
    ) -> None:
        self.suite = suite
        self.defence = defence
        self.session = defence.begin(suite.name, prompt)
        self.environment = environment
        self.executed: list[Call] = []
        self.results: list[str] = []
        self.steps: list[Step] = []

    def replay(self, calls: Sequence[Call]) -> None:
        for call in calls:
            verdict = self.defence.check_call(self.session, call.function, dict(call.args))
            if verdict != "allow":
                self.steps.append(Step(call.function, verdict))
                continue
            text, error = self.suite.run(self.environment, call)
            self.executed.append(call)
            self.results.append(text)
            self.steps.append(Step(call.function, verdict, error))
            self.defence.observe_result(self.session, call.function, dict(call.args), text)

    def output(self, ground_truth_output: str) -> str:
        return ground_truth_output or "\n".join(self.results)


def replay_user_task(
    suite: DojoSuite, task: UserTask, defence: Defence[Any], environment: Environment
) -> Outcome:
    """``task``'s ground truth through ``defence``, on a copy of ``environment``, scored by its utility."""
    current = task.prepare(environment.copy())
    pre = current.copy()
    run = _Run(suite, defence, task.prompt, current)
    run.replay(task.ground_truth(current.copy()))
    success = task.utility(run.output(task.ground_truth_output), pre, current, run.executed)
    return Outcome(success, tuple(run.steps))


def replay_attack(
    suite: DojoSuite,
    user_task: UserTask,
    injection_task: InjectionTask,
    defence: Defence[Any],
    injected: Environment,
) -> Outcome:
    """The user task's then the injection task's ground truth on a copy of ``injected``, scored by the
    injection task's security check (True: the attack succeeded)."""
    current = user_task.prepare(injected.copy())
    pre = current.copy()
    run = _Run(suite, defence, user_task.prompt, current)
    run.replay(user_task.ground_truth(current.copy()))
    run.replay(injection_task.ground_truth(current.copy()))
    said = [run.output(user_task.ground_truth_output), injection_task.ground_truth_output]
    output = "\n".join(s for s in said if s)
    return Outcome(injection_task.security(output, pre, current, run.executed), tuple(run.steps))


def not_replayable_reason(
    suite: DojoSuite, injection_task: InjectionTask, environment: Environment
) -> str | None:
    """Why ``injection_task`` cannot be replayed in ``suite`` (None when it can)."""
    calls = injection_task.ground_truth(environment.copy())
    if not calls:
        return "empty ground truth"
    if missing := sorted({c.function for c in calls} - suite.tool_names):
        return f"calls tools the suite lacks: {', '.join(missing)}"
    return None


@dataclass
class SuiteReplay:
    """Every run of one suite: per defence, the benign runs by user task and the attacks by pair."""

    suite: str
    benign: dict[str, dict[str, Outcome]] = field(default_factory=dict)
    attacks: dict[str, dict[tuple[str, str], Outcome]] = field(default_factory=dict)
    not_replayable: dict[tuple[str, str], str] = field(default_factory=dict)


def replay_suite(
    suite: DojoSuite,
    defences: Sequence[Defence[Any]],
    progress: Callable[[str], None] = lambda _: None,
) -> SuiteReplay:
    """Every user task, and every (user task, injection task) pair, through every defence."""
    out = SuiteReplay(suite.name)
    default = suite.environment()
    for defence in defences:
        out.benign[defence.name] = {
            tid: replay_user_task(suite, task, defence, default) for tid, task in suite.user_tasks.items()
        }
        out.attacks[defence.name] = {}
    progress(f"{suite.name}: {len(suite.user_tasks)} user tasks replayed through {len(defences)} defences")
    skip = {iid: not_replayable_reason(suite, it, default) for iid, it in suite.injection_tasks.items()}
    for uid, user_task in suite.user_tasks.items():
        for iid, injection_task in suite.injection_tasks.items():
            if reason := skip[iid]:
                out.not_replayable[uid, iid] = reason
                continue
            injections = suite.injections(user_task, injection_task)
            if not injections:
                out.not_replayable[uid, iid] = "the user task reaches no injection vector"
                continue
            injected = suite.environment(injections)
            for defence in defences:
                out.attacks[defence.name][uid, iid] = replay_attack(
                    suite, user_task, injection_task, defence, injected
                )
        progress(f"{suite.name}: {uid} against {len(suite.injection_tasks)} injection tasks")
    return out
