"""The benchmark's figures, from the replays: counts that add up across suites, shares at the end."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from bench.agentdojo.replay import SuiteReplay

__all__ = ["BASELINE", "Tally", "figures", "tallies"]

BASELINE = "none"  # the defence whose attack runs say which attacks succeed unguarded
_SHARE_DIGITS = 3


@dataclass
class Tally:
    benign_tasks: int = 0
    benign_utility_unguarded: int = 0  # ground truth passes utility with no defence
    benign_allowed: int = 0  # utility and neither ask nor deny
    benign_asked: int = 0  # an ask and no deny
    benign_blocked: int = 0  # a deny
    attacks_replayable: int = 0
    attacks_not_replayable: int = 0
    attacks_succeeding_unguarded: int = 0
    attacks_executed: int = 0  # of those succeeding unguarded: still succeed, with no ask
    attacks_asked: int = 0  # of those succeeding unguarded: an ask happened
    attacks_denied: int = 0  # of those succeeding unguarded: a deny happened

    def __add__(self, other: Tally) -> Tally:
        return Tally(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def figures(self) -> dict[str, Any]:
        def share(count: int, of: int) -> float | None:
            return round(count / of, _SHARE_DIGITS) if of else None

        tasks, hits = self.benign_tasks, self.attacks_succeeding_unguarded
        return {
            "benign_tasks": tasks,
            "benign_utility_unguarded": share(self.benign_utility_unguarded, tasks),
            "benign_allowed": share(self.benign_allowed, tasks),
            "benign_asked": share(self.benign_asked, tasks),
            "benign_blocked": share(self.benign_blocked, tasks),
            "attacks_replayable": self.attacks_replayable,
            "attacks_not_replayable": self.attacks_not_replayable,
            "attacks_succeeding_unguarded": hits,
            "attacks_executed": share(self.attacks_executed, hits),
            "attacks_asked": share(self.attacks_asked, hits),
            "attacks_denied": share(self.attacks_denied, hits),
        }


def tallies(replay: SuiteReplay) -> dict[str, Tally]:
    """Per defence, the counts of one suite's replays."""
    if BASELINE not in replay.benign:
        raise ValueError(f"the replay of {replay.suite} lacks the unguarded baseline {BASELINE!r}")
    unguarded = replay.benign[BASELINE]
    hits = {pair for pair, o in replay.attacks[BASELINE].items() if o.success}
    out: dict[str, Tally] = {}
    for defence, benign in replay.benign.items():
        attacks = replay.attacks[defence]
        out[defence] = Tally(
            benign_tasks=len(benign),
            benign_utility_unguarded=sum(o.success for o in unguarded.values()),
            benign_allowed=sum(o.success and not (o.asked or o.denied) for o in benign.values()),
            benign_asked=sum(o.asked and not o.denied for o in benign.values()),
            benign_blocked=sum(o.denied for o in benign.values()),
            attacks_replayable=len(attacks),
            attacks_not_replayable=len(replay.not_replayable),
            attacks_succeeding_unguarded=len(hits),
            attacks_executed=sum(attacks[p].success and not attacks[p].asked for p in hits),
            attacks_asked=sum(attacks[p].asked for p in hits),
            attacks_denied=sum(attacks[p].denied for p in hits),
        )
    return out


def figures(replays: Iterable[SuiteReplay]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Figures per suite and defence, and in total per defence."""
    per_suite: dict[str, dict[str, Any]] = {}
    total: dict[str, Tally] = {}
    for replay in replays:
        counted = tallies(replay)
        per_suite[replay.suite] = {d: t.figures() for d, t in counted.items()}
        for defence, tally in counted.items():
            total[defence] = total.get(defence, Tally()) + tally
    return per_suite, {d: t.figures() for d, t in total.items()}
