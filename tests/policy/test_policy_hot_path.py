"""The decision path's latency work must not change a decision, and must not feed the collector.

``PolicySet`` keeps per-tool slices and shares the match of a slice where Cedar finds nothing; the
bench prints the figures the latency targets are judged on.
"""

from __future__ import annotations

import gc
import json
import sys
from decimal import Decimal

import pytest

from agentgov.policy import ActionRequest, Decision, GrantUsage, PolicySet, load_packs
from bench import policy as policy_bench
from tests.policy.helpers import decide, grant, policy_set, request

SETTINGS = {"org_domains": ["acme.example"], "known_payees": ["DE89"], "ask_amount_over": "1000"}
PACKS = ("payments", "email", "files")
# A fence that holds for amounts over 10 and cannot be evaluated (overflow) for huge ones.
FRAGILE = """
@id("demo.read") @decision_class("autonomous")
permit(principal, action in Action::"demo:read", resource);
@id("demo.act") @decision_class("user_authorized")
permit(principal, action in Action::"demo:write", resource);
@id("demo.big") @outcome("ask")
forbid(principal, action == Action::"act", resource)
when { context.args has amount && context.args.amount * 10000000000 > 100000000000 };
"""


def _cases() -> list[tuple[str, ActionRequest]]:
    """Requests that Cedar answers with nothing, with satisfied policies, and with errors."""
    return [
        ("packs", request("get_balance", "bank")),
        ("packs", request("send_money", "bank", recipient="DE89", amount=50)),
        ("packs", request("send_money", "bank", recipient="FR76", amount=5000.5)),
        ("packs", request("send_money", "bank", recipient="DE89", amount="many")),
        ("packs", request("send_money", "bank", recipient="DE89", amount=40, untrusted={"recipient": ["x"]})),
        ("packs", request("send_email", "mail", recipients=["a@acme.example"], subject="[team] hi")),
        ("packs", request("send_email", "mail", recipients=["a@else.example"])),
        ("packs", request("share_file", "files", file_id="7", email="c@partner.example")),
        ("packs", request("unknown_tool", "x", categories=["health"])),
        ("fragile", request("act", amount=5)),
        ("fragile", request("act", amount=20)),
        ("fragile", request("act", amount=10**12)),
        ("fragile", request("act")),
        ("fragile", request("look")),
    ]


def _sets() -> dict[str, PolicySet]:
    return {"packs": load_packs(PACKS, settings=SETTINGS), "fragile": policy_set(FRAGILE)}


def _decide_all(sets: dict[str, PolicySet], order: list[int]) -> dict[int, Decision]:
    cases = _cases()
    grants = [grant("send_money", "bank", id="g-pay", max_calls_per_day=5)]
    usage = {"g-pay": GrantUsage(count=1, amount=Decimal(0))}
    out: dict[int, Decision] = {}
    for i in order:
        name, req = cases[i]
        out[i] = decide(req, sets[name], grants, usage)
    return out


def test_a_decision_does_not_depend_on_the_decisions_made_before_it() -> None:
    count = len(_cases())
    alone = {i: _decide_all(_sets(), [i])[i] for i in range(count)}  # each on a set nothing warmed
    shared = _sets()
    forward = list(range(count))
    for order in (forward, forward[::-1], forward[1::2] + forward[::2] + forward):
        assert _decide_all(shared, order) == alone


def test_the_cases_reach_every_kind_of_engine_answer() -> None:
    """The test above covers what it claims: nothing found, policies satisfied, policies failed."""
    decisions = _decide_all(_sets(), list(range(len(_cases()))))
    reasons = " ".join(r for d in decisions.values() for r in d.reasons)
    assert "could not be evaluated" in reasons
    assert "payments.unknown_payee" in reasons
    assert {d.effect.value for d in decisions.values()} >= {"allow", "ask", "deny"}


def test_deciding_leaves_nothing_for_the_collector() -> None:
    """Decisions keep no objects alive, so deciding alone never triggers a garbage collection pause."""
    sets = _sets()
    order = list(range(len(_cases()))) * 20
    _decide_all(sets, order)  # slices and cached properties are built on first use
    gc.collect()
    before = len(gc.get_objects())
    _decide_all(sets, order * 5)
    gc.collect()
    # ~1,300 decisions: a leak of one object per decision would add at least 1,300. The count is
    # process-wide, so threads left running by other tests (a registry watcher's connections) may add a
    # few dozen meanwhile; half the decisions still separates the two.
    assert len(gc.get_objects()) - before < len(order) * 5 // 2


def test_policy_bench_prints_the_figures_its_targets_are_judged_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench.policy", "--n", "300", "--repeats", "2", "--warmup", "20", "--reparse-n", "30"]
    monkeypatch.setattr(sys, "argv", argv)
    policy_bench.main()
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    for key in ("decisions_per_s", "p50_us", "p99_us", "reparse_p50_us", "cpu_p99_us", "cedar_only_p99_us"):
        assert isinstance(result[key], int | float), key
    assert result["p50_us"] <= result["p99_us"]
    assert len(result["p99_us_runs"]) == 2
    assert sum(result["effects"].values()) == 300
    assert 0 < result["cedar_share"] < 1
