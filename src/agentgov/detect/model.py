"""What a detector is and what it reports: the :class:`Detector` port and the :class:`Finding` value.

A detector reads one string and returns findings; it never sees where the string came from beyond
``where`` (the call's arguments, on their way out, or a tool's result, on its way in to the agent).
:func:`agentgov.detect.walk.scan_json` runs a detector over a whole JSON value and fills in each
finding's path.

A finding never carries the value it found. Its ``excerpt`` is masked so that a record, a log line or
an alert that quotes it does not become a second copy of the personal data or the secret (PIPL Art. 51:
measures against leakage; the platform keeps no secret or personal data in logs).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["EXCERPT_MAX", "Category", "Detector", "Finding", "Severity", "Where"]

Where = Literal["arguments", "result"]
"""``arguments``: what the agent sends to a tool. ``result``: what a tool returns to the agent."""

EXCERPT_MAX = 160  # characters: enough to recognise what was found, too short to carry a document

Category = Annotated[str, Field(pattern=r"^[a-z]+(?:\.[a-z0-9_]+)+$", max_length=64)]
"""Dotted and lower case: ``pii.cn_resident_id``, ``secret.jwt``, ``injection.instruction``."""


class Severity(StrEnum):
    LOW = "low"  # worth recording; rarely worth stopping a call for (an e-mail address)
    MEDIUM = "medium"  # personal data that identifies someone, or a weak injection signal
    HIGH = "high"  # a credential, a national identity or card number, a clear injection

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


class Finding(BaseModel):
    """One thing a detector found in one string.

    ``start`` and ``end`` index the string at ``path`` (a normalized JSON path, RFC 9535 §2.7; ``$``
    for a string scanned on its own). ``signals`` names the rules that matched, for detectors that
    combine several (the injection score); ``score`` is that combined score.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: Annotated[str, Field(min_length=1, max_length=64)]
    category: Category
    severity: Severity
    start: Annotated[int, Field(ge=0)]
    end: Annotated[int, Field(ge=0)]
    excerpt: Annotated[str, Field(max_length=EXCERPT_MAX)]
    reason: Annotated[str, Field(min_length=1, max_length=4000)]
    path: str = "$"
    signals: tuple[str, ...] = ()
    score: int | None = None

    @model_validator(mode="after")
    def _span_is_ordered(self) -> Finding:
        if self.end < self.start:
            raise ValueError(f"span ends ({self.end}) before it starts ({self.start})")
        return self


class Detector(Protocol):
    """Reads one string and reports what it finds. Pure: no I/O, no state kept between calls.

    ``name`` is read-only here so that frozen dataclasses and plain classes both satisfy the port.
    A detector signals a bug by raising; the :class:`~agentgov.detect.registry.DetectorSet` that runs
    it then reports the value as not checked, never as clean.
    """

    @property
    def name(self) -> str: ...

    def scan(self, text: str, *, where: Where) -> list[Finding]: ...
