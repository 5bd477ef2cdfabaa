"""Decision latency of the policy core (Art. 6, 7): ``evaluate`` over a realistic pack and request mix.

::

    python -m bench.policy [--n 20000] [--reparse-n 5000] [--seed 7]

Loads the payments, email and files packs together, with a user's grants (constraints and budgets),
and decides a fixed mix of requests: reads, covered and uncovered transfers, payments to unknown
payees and over the threshold, a value from untrusted tool output, mail inside and outside the
organisation, file deletes and shares. An agent reads more than it acts (a task gathers with get_,
read_ and search_ tools before it sends or pays), so each read kind weighs three times an action
kind: 58% of the decisions are reads. The ``act_*`` figures cover the actions alone.

The same mix is then decided by the same set handing Cedar the text of the whole policy set on every
decision (re-parsed each time). Latencies are wall time per decision; the ``cpu_`` figures are the
thread's on-CPU time, which waiting for a machine shared with other work does not inflate. The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agentgov.core.validation import validate_model
from agentgov.policy import (
    ActionRequest,
    AmountBudget,
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


def _run(policy_set: PolicySet, requests: list[ActionRequest], n: int, seed: int) -> dict[str, Any]:
    grants = _grants()
    usage = {"g-pay-rent": GrantUsage(count=2, amount=Decimal(400)), "g-team-mail": GrantUsage()}
    kinds = policy_set.tool_kinds
    reads = [kinds.get(r.action.tool) is ToolKind.READ_ONLY for r in requests]
    weights = [READ_WEIGHT if read else 1 for read in reads]
    order = random.Random(seed).choices(range(len(requests)), weights=weights, k=n)
    for i in range(min(n, 500)):  # warm the slices and the interpreter
        evaluate(requests[order[i]], policy_set, grants, usage, tool_classes=kinds)
    wall: list[float] = []
    cpu: list[float] = []
    acting: list[float] = []
    effects: Counter[str] = Counter()
    started = time.perf_counter()
    for i in order:
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        decision = evaluate(requests[i], policy_set, grants, usage, tool_classes=kinds)
        t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
        wall.append((t1 - t0) / 1000)
        cpu.append((c1 - c0) / 1000)
        if not reads[i]:
            acting.append(wall[-1])
        effects[decision.effect.value] += 1
    elapsed = time.perf_counter() - started
    return {
        "decisions_per_s": round(n / elapsed),
        "p50_us": round(percentile(wall, 50), 1),
        "p99_us": round(percentile(wall, 99), 1),
        "cpu_p50_us": round(percentile(cpu, 50), 1),
        "cpu_p99_us": round(percentile(cpu, 99), 1),
        "read_share": round(1 - len(acting) / n, 2),
        "act_p50_us": round(percentile(acting, 50), 1),
        "act_p99_us": round(percentile(acting, 99), 1),
        "effects": dict(sorted(effects.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="decisions with the set parsed once")
    parser.add_argument("--reparse-n", type=int, default=5_000, help="decisions re-parsing the set each time")
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()

    started = time.perf_counter()
    policy_set = load_packs(PACKS, settings=SETTINGS)
    load_ms = (time.perf_counter() - started) * 1000
    progress(f"loaded {', '.join(PACKS)}: {len(policy_set.metas)} policies in {load_ms:.0f} ms")
    requests = _mix()
    once = _run(policy_set, requests, options.n, options.seed)
    progress(f"parsed once: {once}")
    again = _run(policy_set.reparsing(), requests, options.reparse_n, options.seed)
    progress(f"re-parsed each decision: {again}")
    print_result(
        {
            "bench": "policy",
            "packs": list(PACKS),
            "policies": len(policy_set.metas),
            "request_kinds": len(requests),
            "decisions": options.n,
            "load_ms": round(load_ms, 1),
            **{k: once[k] for k in ("decisions_per_s", "p50_us", "p99_us")},
            "reparse_decisions_per_s": again["decisions_per_s"],
            "reparse_p50_us": again["p50_us"],
            "reparse_p99_us": again["p99_us"],
            "read_share": once["read_share"],
            "act_p50_us": once["act_p50_us"],
            "act_p99_us": once["act_p99_us"],
            "reparse_act_p50_us": again["act_p50_us"],
            # On-CPU time of each decision: free of the time the thread waits for a busy machine.
            "cpu_p50_us": once["cpu_p50_us"],
            "cpu_p99_us": once["cpu_p99_us"],
            "reparse_cpu_p50_us": again["cpu_p50_us"],
            "reparse_cpu_p99_us": again["cpu_p99_us"],
            "effects": once["effects"],
            "target_p50_us": 100,
            "target_p99_us": 500,
            "cpus": os.cpu_count(),
            "loadavg_1m": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main()
