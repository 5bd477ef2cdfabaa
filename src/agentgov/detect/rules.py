"""Pattern detectors: a regular expression finds candidates, a check confirms them, a mask hides them.

The PII and secret detectors are lists of :class:`Rule`. Every pattern is written to run in linear
time on Python's backtracking engine: bounded repetitions, or repetitions of a class that the next
token cannot also match, and no repeated group whose iterations could split the same text two ways.
A candidate becomes a finding only when its check passes (a check digit, a decodable header, an
entropy floor), which is where most false positives end. Each rule's regex runs only in the windows
its :class:`~agentgov.detect.text.Hint` allows, which keeps a scan of a benign text in microseconds.

Rules run in order and the first one to claim a span keeps it: a later rule's match that overlaps an
earlier finding is dropped, so that the specific rule (a resident id) wins over the generic one (a card
number that happens to pass Luhn).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from agentgov.detect.model import Finding, Severity, Where
from agentgov.detect.text import Hint, TextViews, windows

__all__ = [
    "Rule",
    "RuleDetector",
    "keep_prefix",
    "mask_digits",
    "mask_email",
    "shannon_entropy",
]

_VALUE_GROUP = "v"


def _accept(_value: str) -> bool:
    return True


def mask_digits(value: str, *, keep_start: int = 0, keep_end: int = 4) -> str:
    """``value`` with every digit or letter masked except the first and last few; separators stay.

    At least half of the characters are always masked, whatever ``keep_start`` and ``keep_end`` ask.
    """
    positions = [i for i, c in enumerate(value) if c.isalnum()]
    budget = len(positions) // 2  # never show more than half
    keep_end = min(keep_end, budget)
    keep_start = min(keep_start, budget - keep_end)
    shown = set(positions[:keep_start]) | set(positions[len(positions) - keep_end :])
    return "".join(c if i in shown or not c.isalnum() else "*" for i, c in enumerate(value))


def mask_email(value: str) -> str:
    """``j***@e***.com``: the first letter of each side and the top-level domain."""
    local, _, domain = value.rpartition("@")
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{host[:1]}***.{tld}"


def keep_prefix(length: int) -> Callable[[str], str]:
    """A mask that shows the first ``length`` characters (a public prefix such as ``ghp_``) and the size."""

    def mask(value: str) -> str:
        return f"{value[:length]}…[{len(value)} chars]"

    return mask


def shannon_entropy(value: str) -> float:
    """Shannon entropy of the characters of ``value``, in bits per character (0 for an empty string)."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of thing to find.

    ``pattern`` locates a candidate; its group ``v``, when present, is the value (otherwise the whole
    match). ``check`` confirms the value; ``mask`` turns it into the excerpt. ``extend``, when given,
    moves the end of the span (a PEM block runs from its header to its footer). ``hint`` says where the
    pattern can match at all; without one the pattern reads the whole text.
    """

    category: str
    severity: Severity
    pattern: re.Pattern[str]
    reason: str
    check: Callable[[str], bool] = _accept
    mask: Callable[[str], str] = mask_digits
    extend: Callable[[str, int], int] | None = None
    hint: Hint | None = None


@dataclass(frozen=True, slots=True)
class RuleDetector:
    """A :class:`~agentgov.detect.model.Detector` made of rules, run in order, first claim wins.

    ``max_findings`` bounds the work and the size of the answer on a text stuffed with matches; a
    string that reaches it is reported with that many findings, which is already reason enough to act.
    """

    name: str
    rules: tuple[Rule, ...]
    max_findings: int = 64

    def scan(self, text: str, *, where: Where) -> list[Finding]:
        del where  # personal data and secrets matter in both directions
        claimed: list[tuple[int, int]] = []
        findings: list[Finding] = []
        views = TextViews(text)
        for rule in self.rules:
            if not views.present(rule.hint):
                continue
            for low, high in windows(views, rule.hint):
                for match in rule.pattern.finditer(text, low, high):
                    finding = self._confirm(rule, match, text, claimed)
                    if finding is None:
                        continue
                    claimed.append((finding.start, finding.end))
                    findings.append(finding)
                    if len(findings) >= self.max_findings:
                        return sorted(findings, key=lambda f: f.start)
        return sorted(findings, key=lambda f: f.start)

    def _confirm(
        self, rule: Rule, match: re.Match[str], text: str, claimed: list[tuple[int, int]]
    ) -> Finding | None:
        group = _VALUE_GROUP if _VALUE_GROUP in rule.pattern.groupindex else 0
        start, end = match.span(group)
        value = text[start:end]
        if not rule.check(value):
            return None
        if rule.extend is not None:
            end = rule.extend(text, end)
        if any(start < c_end and c_start < end for c_start, c_end in claimed):
            return None
        return Finding(
            detector=self.name,
            category=rule.category,
            severity=rule.severity,
            start=start,
            end=end,
            excerpt=rule.mask(value),
            reason=rule.reason,
        )
