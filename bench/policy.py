"""Decision latency of the policy core (Art. 6, 7): ``evaluate`` over a realistic pack and request mix.

::

    python -m bench.policy [--n 20000] [--repeats 3] [--warmup 2000] [--reparse-n 5000] [--seed 7]

Loads the payments, email and files packs together, with a user's grants (constraints and budgets),
and decides a fixed mix of requests: reads, covered and uncovered transfers, payments to unknown
payees and over the threshold, a value from untrusted tool output, mail inside and outside the
organisation, file deletes and shares. An agent reads more than it acts (a task gathers with get_,
read_ and search_ tools before it sends or pays), so each read kind weighs three times an action
kind: 58% of the decisions are reads. The ``act_*`` figures cover the actions alone.

How it is timed: after ``--warmup`` decisions, ``--repeats`` runs of ``--n`` decisions each, every
decision timed on its own with ``time.perf_counter_ns`` (wall clock); each figure is the median of
the runs' figures (``p99_us_runs`` lists every run's). The garbage collector stays on, as in service.
The targets (p50 <= 100 us, p99 <= 500 us) are judged on the wall clock: it is what a caller waits.

What explains a wall p99 above its target:

* ``cpu_p50_us``, ``cpu_p99_us``: the same decisions in the thread's CPU time
  (``time.thread_time_ns``), which time spent off the CPU does not count.
* ``preempted_per_1k``: how often the scheduler took the CPU from the thread, per 1,000 decisions
  (involuntary context switches). Each costs the decision it lands in a scheduler slice, milliseconds
  on a busy machine; above 10 (1% of the decisions) the wall p99 measures the machine, not the code.
* ``gc_collections``, ``gc_max_pause_us``: collector runs inside the timed decisions, and the longest.
* ``cedar_only_p50_us``, ``cedar_only_p99_us``: Cedar alone, given the very calls the decisions make
  (recorded from them), in the same order; ``with_cedar_p99_us`` is the p99 of those decisions whole,
  and ``cedar_share`` the share of the decisions that call Cedar at all (the others need no condition
  evaluated).

Every decision asks Cedar: the set's memo of Cedar's answers, which would serve this repeating mix
from memory, is off. The same mix is then decided by the same set handing Cedar the text of the
whole policy set on every decision (re-parsed each time: the ``reparse_*`` figures). The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import random
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import cedarpy

from agentgov.core.validation import validate_model
from agentgov.policy import (
    ActionRequest,
    AmountBudget,
    Decision,
    Equals,
    Grant,
    GrantAction,
    GrantUsage,
    InRange,
    Matches,
    OneOf,
    PolicySet,
    ToolKind,
    Venue,
    evaluate,
    load_packs,
)
from bench._common import percentile, print_result, progress

PACKS = ("payments", "email", "files")
SETTINGS = {
    "org_domains": ["acme.example"],
    "known_payees": ["DE89370400440532013000", "GB29NWBK60161331926819"],
    "ask_amount_over": "1000",
}
NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
AGENT, USER = "agent-assistant", "alice"


def _grants() -> list[Grant]:
    window = {"not_before": NOW - timedelta(days=1), "expires_at": NOW + timedelta(days=30)}
    return [
        Grant(
            id="g-pay-rent",
            grantor=USER,
            agent_id=AGENT,
            actions=(GrantAction(tool="send_money", server="bank"),),
            constraints=(
                OneOf(argument="recipient", values=("DE89370400440532013000", "GB29NWBK60161331926819")),
                InRange(argument="amount", min=Decimal(0), max=Decimal(900)),
            ),
            max_amount_per_day=AmountBudget(argument="amount", limit=Decimal(2000)),
            max_calls_per_day=10,
            venues=(Venue.PUBLIC, Venue.PRIVATE),
            **window,
        ),
        Grant(
            id="g-team-mail",
            grantor=USER,
            agent_id=AGENT,
            actions=(GrantAction(tool="send_email", server="mail"),),
            constraints=(Matches(argument="subject", regex=r"\[team\] .{1,120}"),),
            venues=(Venue.PUBLIC, Venue.PRIVATE),
            **window,
        ),
        Grant(
            id="g-notes",
            grantor=USER,
            agent_id=AGENT,
            actions=(
                GrantAction(tool="create_file", server="*"),
                GrantAction(tool="append_to_file", server="*"),
            ),
            constraints=(Equals(argument="file_id", value="notes-2026"),),
            venues=(Venue.PRIVATE,),
            **window,
        ),
    ]


def _request(tool: str, server: str, args: dict[str, Any], **context: Any) -> ActionRequest:
    doc = {
        "agent_id": AGENT,
        "user_id": USER,
        "action": {"tool": tool, "server": server},
        "arguments": args,
        "context": {"venue": "private", "time": NOW.isoformat(), "session_id": "s-1", **context},
    }
    return validate_model(ActionRequest, doc)


READ_WEIGHT = 3
Figures = dict[str, float]


def _mix() -> list[ActionRequest]:
    iban, stranger = "DE89370400440532013000", "FR1420041010050500013M02606"
    taint = {"provenance": {"untrusted": [{"argument": "recipient", "sources": ["tool:read_file"]}]}}
    return [
        _request("get_balance", "bank", {}),
        _request("get_most_recent_transactions", "bank", {"n": 10}),
        _request("get_unread_emails", "mail", {}),
        _request("read_file", "files", {"file_path": "bill-december-2026.txt"}),
        _request("search_files", "files", {"query": "quarterly report"}),
        _request(
            "send_money",
            "bank",
            {"recipient": iban, "amount": 250.0, "subject": "rent", "date": "2026-11-21"},
        ),
        _request(
            "send_money",
            "bank",
            {"recipient": stranger, "amount": 80.0, "subject": "gift", "date": "2026-11-21"},
        ),
        _request(
            "send_money",
            "bank",
            {"recipient": iban, "amount": 1500.0, "subject": "car", "date": "2026-11-21"},
        ),
        _request(
            "send_money",
            "bank",
            {"recipient": iban, "amount": 40.0, "subject": "x", "date": "2026-11-21"},
            **taint,
        ),
        _request(
            "schedule_transaction",
            "bank",
            {"recipient": iban, "amount": 300.0, "subject": "rent", "date": "2026-12-01", "recurring": True},
        ),
        _request(
            "send_email",
            "mail",
            {"recipients": ["bob@acme.example"], "subject": "[team] standup notes", "body": "see attached"},
        ),
        _request(
            "send_email",
            "mail",
            {
                "recipients": ["eve@elsewhere.example"],
                "cc": ["bob@acme.example"],
                "subject": "hi",
                "body": "...",
            },
        ),
        _request(
            "create_file", "files", {"filename": "notes.txt", "content": "todo", "file_id": "notes-2026"}
        ),
        _request("delete_file", "files", {"file_id": "13"}),
        _request(
            "share_file", "files", {"file_id": "7", "email": "carol@partner.example", "permission": "r"}
        ),
        _request("update_password", "bank", {"password": "hunter2"}),
    ]


@dataclass(frozen=True)
class _Samples:
    """One timed run: each decision's wall and CPU time (ns), and what happened around them."""

    wall: list[int]
    cpu: list[int]
    elapsed_s: float
    preempted: int  # involuntary context switches of the thread during the run
    gc_pauses: list[int]  # ns, one per collection inside the run


@contextmanager
def _gc_pauses() -> Iterator[list[int]]:
    """The collector's runs while inside, each as its duration in ns (the collector stays enabled)."""
    pauses: list[int] = []
    started = [0]

    def watch(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            pauses.append(time.perf_counter_ns() - started[0])

    gc.callbacks.append(watch)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(watch)


def _switches() -> int:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw


def _timed(order: Sequence[int], call: Callable[[int], object]) -> _Samples:
    """``call(i)`` for each ``i`` of ``order``, each timed on its own."""
    wall: list[int] = []
    cpu: list[int] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    switched = _switches()
    with _gc_pauses() as pauses:
        started = clock()
        for i in order:
            c0 = cpu_clock()
            t0 = clock()
            call(i)
            t1 = clock()
            c1 = cpu_clock()
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
        elapsed = clock() - started
    return _Samples(wall, cpu, elapsed / 1e9, _switches() - switched, pauses)


def _us(samples: Sequence[int], p: float) -> float:
    return percentile(samples, p) / 1000


def _figures(run: _Samples, order: Sequence[int], acting: Sequence[bool], cedar: Sequence[bool]) -> Figures:
    """The figures of one run; ``acting`` and ``cedar`` flag each request kind."""
    act = [w for i, w in zip(order, run.wall, strict=True) if acting[i]]
    with_cedar = [w for i, w in zip(order, run.wall, strict=True) if cedar[i]]
    return {
        "decisions_per_s": len(order) / run.elapsed_s,
        "p50_us": _us(run.wall, 50),
        "p99_us": _us(run.wall, 99),
        "cpu_p50_us": _us(run.cpu, 50),
        "cpu_p99_us": _us(run.cpu, 99),
        "preempted_per_1k": 1000 * run.preempted / len(order),
        "act_p50_us": _us(act, 50),
        "act_p99_us": _us(act, 99),
        "with_cedar_p99_us": _us(with_cedar, 99),
    }


def _median(runs: Sequence[Figures]) -> Figures:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _cedar_calls(kinds: int, decide: Callable[[int], object]) -> list[tuple[Any, ...] | None]:
    """For each of the ``kinds`` requests, the call its decision makes to Cedar (None: decided without
    it), recorded from the decision itself so that Cedar alone is timed on exactly the same inputs."""
    made: list[tuple[Any, ...]] = []
    real = cedarpy.is_authorized

    def record(*args: Any) -> Any:
        made.append(args)
        return real(*args)

    calls: list[tuple[Any, ...] | None] = []
    with mock.patch.object(cedarpy, "is_authorized", record):
        for i in range(kinds):
            made.clear()
            decide(i)
            if len(made) > 1:
                raise RuntimeError("a decision called Cedar more than once: time it as a whole")
            calls.append(made[0] if made else None)
    return calls


def _rounded(figures: Figures, prefix: str = "") -> dict[str, float]:
    return {f"{prefix}{key}": round(value, 1) for key, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="timed decisions per run, set parsed once")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; figures are their medians")
    parser.add_argument("--warmup", type=int, default=2_000, help="untimed decisions before the runs")
    parser.add_argument("--reparse-n", type=int, default=5_000, help="decisions per run re-parsing the set")
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()

    started = time.perf_counter()
    # Cedar is asked on every decision: the mix repeats a few dozen requests, which the set's memo of
    # Cedar's answers (agentgov.policy.fences) would otherwise serve from memory.
    policy_set = load_packs(PACKS, settings=SETTINGS).remembering(0)
    load_ms = (time.perf_counter() - started) * 1000
    progress(f"loaded {', '.join(PACKS)}: {len(policy_set.metas)} policies in {load_ms:.0f} ms")
    requests = _mix()
    grants = _grants()
    usage = {"g-pay-rent": GrantUsage(count=2, amount=Decimal(400)), "g-team-mail": GrantUsage()}
    kinds = policy_set.tool_kinds
    acting = [kinds.get(r.action.tool) is not ToolKind.READ_ONLY for r in requests]
    weights = [1 if act else READ_WEIGHT for act in acting]
    order = random.Random(options.seed).choices(range(len(requests)), weights=weights, k=options.n)

    def decider(policies: PolicySet) -> Callable[[int], Decision]:
        def decide(i: int) -> Decision:
            return evaluate(requests[i], policies, grants, usage, tool_classes=kinds)

        return decide

    decide = decider(policy_set)
    effect = [decide(i).effect.value for i in range(len(requests))]  # each kind decides the same each time
    effects = Counter(effect[i] for i in order)
    calls = _cedar_calls(len(requests), decide)
    cedar = [call is not None for call in calls]
    for i in itertools.islice(itertools.cycle(order), options.warmup):  # warm slices and interpreter
        decide(i)

    runs = [_timed(order, decide) for _ in range(options.repeats)]
    once = _median([_figures(run, order, acting, cedar) for run in runs])
    progress(f"parsed once: {_rounded(once)}")

    cedar_order = [i for i in order if cedar[i]]

    def cedar_only(i: int) -> object:
        return cedarpy.is_authorized(*(calls[i] or ()))

    cedar_runs = [_timed(cedar_order, cedar_only) for _ in range(options.repeats)]
    alone = {
        "cedar_only_p50_us": statistics.median(_us(run.wall, 50) for run in cedar_runs),
        "cedar_only_p99_us": statistics.median(_us(run.wall, 99) for run in cedar_runs),
        "cedar_only_cpu_p99_us": statistics.median(_us(run.cpu, 99) for run in cedar_runs),
    }
    progress(f"Cedar alone, same calls: {_rounded(alone)}")

    reparse_order = order[: options.reparse_n]
    decide_reparsing = decider(policy_set.reparsing())
    for i in reparse_order[:200]:
        decide_reparsing(i)
    reparse_runs = [_timed(reparse_order, decide_reparsing) for _ in range(options.repeats)]
    again = _median([_figures(run, reparse_order, acting, cedar) for run in reparse_runs])
    progress(f"re-parsed each decision: {_rounded(again)}")

    pauses = [p for run in runs for p in run.gc_pauses]
    print_result(
        {
            "bench": "policy",
            "packs": list(PACKS),
            "policies": len(policy_set.metas),
            "request_kinds": len(requests),
            "decisions": options.n,
            "repeats": options.repeats,
            "warmup": options.warmup,
            "load_ms": round(load_ms, 1),
            "decisions_per_s": round(once["decisions_per_s"]),
            **_rounded({k: once[k] for k in ("p50_us", "p99_us")}),
            "p99_us_runs": [round(_us(run.wall, 99), 1) for run in runs],
            **_rounded({k: once[k] for k in ("cpu_p50_us", "cpu_p99_us", "preempted_per_1k")}),
            "gc_collections": len(pauses),
            "gc_max_pause_us": round(max(pauses, default=0) / 1000, 1),
            "read_share": round(1 - sum(acting[i] for i in order) / len(order), 2),
            **_rounded({k: once[k] for k in ("act_p50_us", "act_p99_us")}),
            "cedar_share": round(len(cedar_order) / len(order), 2),
            **_rounded(alone),
            "with_cedar_p99_us": round(once["with_cedar_p99_us"], 1),
            "reparse_decisions": len(reparse_order),
            "reparse_decisions_per_s": round(again["decisions_per_s"]),
            **_rounded(
                {k: again[k] for k in ("p50_us", "p99_us", "act_p50_us", "cpu_p50_us", "cpu_p99_us")},
                "reparse_",
            ),
            "effects": dict(sorted(effects.items())),
            "target_p50_us": 100,
            "target_p99_us": 500,
            "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main()
