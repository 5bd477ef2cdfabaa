"""Run several detectors over one JSON value, within limits, and fail closed.

:meth:`DetectorSet.scan` walks the value once and hands every string to every detector. A detector
that raises, answers with something other than a list of findings, or runs past its time budget makes
the outcome ``failed``: the value was not checked, and the guard treats it as it treats any failure
inside the pipeline (ask or deny, never allow; DESIGN.md, "One tool call, end to end"). Parts of the
value that the limits left unread are listed in ``truncated``; only a complete, unfailed scan without
findings is :attr:`Outcome.clean`.

The budget is measured, not enforced: Python cannot stop a regex halfway. It is checked after every
string, which bounds the overrun to one string of at most ``max_text_chars``, and every pattern in the
default detectors is linear in that length. It grows with the number and size of the strings, so that
a large result is not failed for its size alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, JsonValue, model_validator

from agentgov.detect.injection import injection_detector
from agentgov.detect.model import Detector, Finding, Severity, Where
from agentgov.detect.pii import pii_detector
from agentgov.detect.secrets import secrets_detector
from agentgov.detect.walk import ScanLimits, walk_json
from agentgov.errors import InvalidInput

__all__ = ["DetectSettings", "DetectorFailure", "DetectorSet", "Outcome", "default_detectors", "default_set"]


@dataclass(frozen=True, slots=True)
class DetectSettings:
    limits: ScanLimits = field(default_factory=ScanLimits)
    # Wall time one detector may spend on one value: a fixed part, a part per string and a part per
    # KiB of text, so that a large result is not failed for its size alone. Measured per detector:
    # about 5-10 µs a string and 0.05 ms a KiB of ordinary text, up to 0.5 ms a KiB of text crafted to
    # trip one pattern everywhere (10 KB of ordinary text: about 0.5 ms for the three together). A
    # detector over ten times that is broken or under attack, and the value is reported as not checked.
    budget_ms: float = 50.0
    budget_ms_per_string: float = 0.1
    budget_ms_per_kib: float = 1.0
    # Findings kept per value; past this many the value is flagged anyway, and the outcome stays small
    # enough to record.
    max_findings: int = 256

    def __post_init__(self) -> None:
        if self.budget_ms <= 0 or self.budget_ms_per_string < 0 or self.budget_ms_per_kib < 0:
            raise InvalidInput("the time budget must be positive", field="budget_ms")
        if self.max_findings < 1:
            raise InvalidInput("max_findings must be at least 1", field="max_findings")

    def budget(self, strings: tuple[tuple[str, str], ...]) -> float:
        """The milliseconds one detector may spend on these strings."""
        kib = sum(len(text) for _, text in strings) / 1024
        return self.budget_ms + self.budget_ms_per_string * len(strings) + self.budget_ms_per_kib * kib


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectorFailure(_Model):
    """A detector that could not give an answer. ``error`` never quotes the scanned text."""

    detector: str
    error: str
    path: str | None = None  # the string it was reading, when known


class Outcome(_Model):
    """What a detector set made of one value.

    ``findings`` carry the path of their string; ``failures`` name the detectors that gave no answer,
    and ``failed`` is true exactly when there is one; ``truncated`` lists what the limits left unread.
    """

    where: Where
    detectors: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    failures: tuple[DetectorFailure, ...] = ()
    truncated: tuple[str, ...] = ()
    failed: bool = False

    @model_validator(mode="after")
    def _failed_means_failures(self) -> Outcome:
        if self.failed != bool(self.failures):
            raise ValueError("failed must be true exactly when some detector failed")
        return self

    @property
    def clean(self) -> bool:
        """Every detector answered, on the whole value, and found nothing."""
        return not self.failed and not self.truncated and not self.findings

    @property
    def highest(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(f.category for f in self.findings)

    def to_json(self) -> dict[str, JsonValue]:
        return self.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class DetectorSet:
    """Detectors run together under one :class:`DetectSettings`. ``timer`` measures the budget."""

    detectors: tuple[Detector, ...]
    settings: DetectSettings = field(default_factory=DetectSettings)
    timer: Callable[[], float] = field(default=time.perf_counter)
    # The outcome of a clean scan, one per direction: the same frozen value every time.
    _clean: dict[str, Outcome] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.detectors:  # an empty set would call everything clean
            raise InvalidInput("a detector set needs at least one detector", field="detectors")
        names = [d.name for d in self.detectors]
        if len(set(names)) != len(names):
            raise InvalidInput(f"detector names must be unique, got {names}", field="detectors")

    def scan(self, value: JsonValue, *, where: Where) -> Outcome:
        walk = walk_json(value, self.settings.limits)
        findings: list[Finding] = []
        failures: list[DetectorFailure] = []
        budget_ms = self.settings.budget(walk.strings)
        for detector in self.detectors:
            found, failure = self._run(detector, walk.strings, where, budget_ms)
            findings.extend(found)
            if failure is not None:
                failures.append(failure)
        if not (findings or failures or walk.truncated):
            return self._clean_outcome(where)
        truncated = list(walk.truncated)
        if len(findings) > self.settings.max_findings:
            truncated.append(f"$: {len(findings)} findings, the first {self.settings.max_findings} kept")
            findings = findings[: self.settings.max_findings]
        return Outcome(
            where=where,
            detectors=tuple(d.name for d in self.detectors),
            findings=tuple(findings),
            failures=tuple(failures),
            truncated=tuple(truncated),
            failed=bool(failures),
        )

    def _clean_outcome(self, where: Where) -> Outcome:
        clean = self._clean.get(where)
        if clean is None:
            clean = self._clean[where] = Outcome(where=where, detectors=tuple(d.name for d in self.detectors))
        return clean

    def _run(
        self, detector: Detector, strings: tuple[tuple[str, str], ...], where: Where, budget_ms: float
    ) -> tuple[list[Finding], DetectorFailure | None]:
        """What one detector found, and why it failed if it did; what it found before failing is kept."""
        found: list[Finding] = []
        started = self.timer()
        for index, (path, text) in enumerate(strings):
            try:
                answer = detector.scan(text, where=where)
            except Exception as exc:  # noqa: BLE001 - fail closed: any error means "not checked"
                # The message is not kept: it may quote the text the detector was reading.
                return found, DetectorFailure(
                    detector=detector.name, error=f"raised {type(exc).__name__}", path=path
                )
            if not isinstance(answer, list) or not all(isinstance(f, Finding) for f in answer):
                error = f"returned {type(answer).__name__}, not a list of findings"
                return found, DetectorFailure(detector=detector.name, error=error, path=path)
            if answer:
                found.extend(f.model_copy(update={"path": path}) for f in answer)
            elapsed_ms = (self.timer() - started) * 1000
            if elapsed_ms > budget_ms:
                error = (
                    f"exceeded its budget of {budget_ms:.1f} ms "
                    f"({elapsed_ms:.1f} ms after {index + 1} of {len(strings)} strings)"
                )
                return found, DetectorFailure(detector=detector.name, error=error, path=path)
        return found, None


def default_detectors() -> tuple[Detector, ...]:
    """Personal information, secrets, and prompt injection (the last on tool results only)."""
    return (pii_detector(), secrets_detector(), injection_detector())


def default_set(settings: DetectSettings | None = None) -> DetectorSet:
    return DetectorSet(default_detectors(), settings or DetectSettings())
