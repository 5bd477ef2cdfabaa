"""Crafted input cannot make a detector backtrack: each pattern stays linear on a full-size string.

Each text below is the longest string the default limits scan (64 KiB), built from the prefix of some
pattern repeated so that a backtracking regex would retry it at every position. A quadratic pattern
takes minutes on these; a linear one, milliseconds. The budget given here is generous (machines
running tests are busy) but far below what a quadratic pattern would need.
"""

from __future__ import annotations

import pytest

from agentgov.detect import DetectorSet, DetectSettings, ScanLimits, default_detectors

SIZE = ScanLimits().max_text_chars
DETECTORS = DetectorSet(default_detectors(), DetectSettings(budget_ms=3000))

UNITS = [
    "1",
    "1 ",
    "1-",
    "12 ",
    "+86 ",
    "(212) ",
    "0000 ",
    "DE89 ",
    "AA",
    "a@",
    "a.",
    "a@b.",
    "eyJ",
    "eyJa.",
    "-----BEGIN PRIVATE KEY-----",
    "AKIA",
    "ghp_",
    "sk-a",
    "xoxb-",
    "agk_",
    "password=",
    "Authorization: Bearer ",
    "ignore ",
    "ignore all the ",
    "message from ",
    "send ",
    "to you, ",
    "<!--",
    "<",
    "<|",
    "#",
    "\n#",
    "SYSTEM",
    "请",
    "忽略",
    "\u200b",
    "a\u200b",
    "\U000e0041",
]


@pytest.mark.parametrize("unit", UNITS)
def test_repeated_pattern_prefix_is_scanned_within_budget(unit: str) -> None:
    text = (unit * (SIZE // len(unit) + 1))[:SIZE]
    for where in ("arguments", "result"):
        outcome = DETECTORS.scan(text, where=where)
        assert not outcome.failed, outcome.failures
