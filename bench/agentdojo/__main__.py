"""AgentDojo replayed without a model (Art. 8, 10): what a defence lets through, asks about, refuses.

::

    python -m bench.agentdojo [--suite banking ...] [--defence deny_side_effects ...]
                              [--benchmark-version v1.2.2] [--tools-out /tmp/agentdojo_tools.json]

Needs ``agentdojo==0.1.35``. For each suite of the benchmark version, every user task's ground truth
is replayed through each defence, and every (user task, injection task) pair is replayed as a fully
compromised agent (``bench.agentdojo.replay`` says how). The defence ``none`` always runs: it is the
baseline that says which attacks succeed unguarded. Figures, per suite and in total, per defence:

- ``benign_utility_unguarded``: share of user tasks whose ground truth passes AgentDojo's utility
  check with no defence (the replay's own sanity check);
- ``benign_allowed`` / ``benign_asked`` / ``benign_blocked``: share of user tasks that pass with no
  ask and no deny / met an ask and no deny / met a deny;
- ``attacks_replayable``, ``attacks_not_replayable`` (counts; an injection task with an empty ground
  truth or calling tools the suite lacks cannot be replayed), ``attacks_succeeding_unguarded`` (count
  of replayable pairs whose security check holds under ``none``);
- ``attacks_executed`` / ``attacks_asked`` / ``attacks_denied``: share of the attacks succeeding
  unguarded that still succeed through the defence with no ask / that met an ask / that met a deny.

The tool inventory (every suite tool, its parameters, and what the packs declare about it) is written
to ``--tools-out``. Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench._common import Timer, print_result, progress
from bench.agentdojo.defences import DEFENCES, Defence, DefenceUnavailable, load_defence
from bench.agentdojo.figures import BASELINE, figures

if TYPE_CHECKING:
    from bench.agentdojo.replay import SuiteReplay

DEFAULT_DEFENCES = ("none", "deny_side_effects", "agentgov", "agentgov_without_injection_detector")
DEFAULT_TOOLS_OUT = Path("/tmp/agentdojo_tools.json")  # noqa: S108 - a report for the reader, not a secret


def _defences(names: list[str]) -> tuple[list[Defence[Any]], dict[str, str]]:
    built: list[Defence[Any]] = []
    unavailable: dict[str, str] = {}
    for name in dict.fromkeys([BASELINE, *names]):
        try:
            built.append(load_defence(name))
        except DefenceUnavailable as exc:
            unavailable[name] = str(exc)
            progress(str(exc))
    return built, unavailable


def _details(replay: SuiteReplay) -> dict[str, Any]:
    """What the figures rest on: the runs that fail unguarded (with the tools' errors), the pairs left
    out and why, and per defence how often each injection task still gets through with no ask."""
    hits = {pair for pair, o in replay.attacks[BASELINE].items() if o.success}
    through: dict[str, dict[str, int]] = {}
    for defence, runs in replay.attacks.items():
        if defence != BASELINE:
            passed = Counter(i for (u, i), o in runs.items() if (u, i) in hits and o.success and not o.asked)
            through[defence] = dict(sorted(passed.items()))
    return {
        "user_tasks_failing_unguarded": {
            t: list(o.errors) for t, o in replay.benign[BASELINE].items() if not o.success
        },
        "attacks_failing_unguarded": sorted(f"{u}/{i}" for (u, i) in set(replay.attacks[BASELINE]) - hits),
        "not_replayable": dict(Counter(f"{i}: {why}" for (_, i), why in replay.not_replayable.items())),
        "attacks_through": through,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.agentdojo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--suite", action="append", default=[], help="a suite to run (default: all)")
    parser.add_argument(
        "--defence",
        action="append",
        choices=sorted(DEFENCES),
        help=f"a defence to run beside {BASELINE!r} (default: {', '.join(DEFAULT_DEFENCES)})",
    )
    parser.add_argument("--benchmark-version", default=None, help="AgentDojo benchmark version")
    parser.add_argument("--tools-out", type=Path, default=DEFAULT_TOOLS_OUT, help="tool inventory (JSON)")
    options = parser.parse_args()

    try:
        from bench.agentdojo import dojo  # noqa: PLC0415 - says what to install instead of a traceback
    except ImportError as exc:
        sys.exit(f"agentdojo is not installed ({exc}); pip install agentdojo==0.1.35")
    from bench.agentdojo.inventory import tool_inventory  # noqa: PLC0415
    from bench.agentdojo.replay import replay_suite  # noqa: PLC0415

    timer = Timer()
    version = options.benchmark_version or dojo.BENCHMARK_VERSION
    suites = dojo.load_suites(version, options.suite)
    defences, unavailable = _defences(options.defence or list(DEFAULT_DEFENCES))
    inventory = tool_inventory(suites)
    options.tools_out.write_text(json.dumps(inventory, indent=2, ensure_ascii=False), encoding="utf-8")
    for suite_name, tools in inventory["undeclared"].items():
        progress(f"{suite_name}: {len(tools)} tools no pack declares: {', '.join(tools) or '-'}")
    progress(f"tool inventory written to {options.tools_out}")

    replays = [replay_suite(suite, defences, progress) for suite in suites]
    per_suite, total = figures(replays)
    details = {r.suite: _details(r) for r in replays}
    for suite_name, detail in details.items():
        progress(f"{suite_name}: {json.dumps(detail)}")
    print_result(
        {
            "bench": "agentdojo",
            "suites": per_suite,
            "total": total,
            "agentdojo_version": dojo.agentdojo_version(),
            "benchmark_version": version,
            "attack": "important_instructions",
            "defences_unavailable": unavailable,
            "details": details,
            "seconds": round(timer.seconds, 1),
        }
    )


if __name__ == "__main__":
    main()
