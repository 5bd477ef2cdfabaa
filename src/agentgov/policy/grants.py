"""Grants: the user's signed delegation of ``user_authorized`` actions to one agent (Art. 6).

A grant names its grantor (the user, who may grant only for themself: the caller checks who is asking),
the agent, the actions (exact tool and server; ``*`` only when written out), argument constraints,
budgets per day, venues and a validity window. It is a value: its canonical JSON (RFC 8785) is what the
user signs and what its digest covers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from agentgov.core.canonical import canonical_json
from agentgov.core.digest import digest_bytes
from agentgov.policy.model import ArgumentName, PrincipalId, ServerName, ToolName, UtcDatetime, Venue
from agentgov.policy.safe_regex import RegexLimits, UnsafePattern, compile_safe

__all__ = [
    "MAX_GRANT_LIFETIME",
    "AmountBudget",
    "Constraint",
    "Equals",
    "Grant",
    "GrantAction",
    "InRange",
    "Matches",
    "OneOf",
]

# Art. 6 keeps the user's final say: a standing delegation is renewed at least once a year.
MAX_GRANT_LIFETIME = timedelta(days=366)
REGEX_LIMITS = RegexLimits()
Scalar = str | int | float | bool | None
WILDCARD = "*"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GrantAction(_Model):
    """A tool on a server. ``*`` matches any tool (or server) and only when written out as the value."""

    tool: ToolName | Literal["*"]
    server: ServerName | Literal["*"]

    def covers(self, tool: str, server: str) -> bool:
        return self.tool in (WILDCARD, tool) and self.server in (WILDCARD, server)

    def __str__(self) -> str:
        return f"{self.server}:{self.tool}"


class Equals(_Model):
    op: Literal["equals"] = "equals"
    argument: ArgumentName
    value: JsonValue


class OneOf(_Model):
    """The value (or each element of a list value) is one of ``values``."""

    op: Literal["one_of"] = "one_of"
    argument: ArgumentName
    values: tuple[Scalar, ...] = Field(min_length=1, max_length=1000)

    @cached_property
    def strings(self) -> frozenset[str]:
        """The string values, for the common case: a set lookup instead of a scan."""
        return frozenset(v for v in self.values if isinstance(v, str))


class InRange(_Model):
    """A number (or each number of a list) within ``[min, max]``, both inclusive."""

    op: Literal["range"] = "range"
    argument: ArgumentName
    min: Decimal | None = Field(default=None, allow_inf_nan=False)
    max: Decimal | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds(self) -> InRange:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class Matches(_Model):
    """A string (or each string of a list) matches ``regex`` in full, from a safe subset (see safe_regex)."""

    op: Literal["pattern"] = "pattern"
    argument: ArgumentName
    regex: str = Field(min_length=1, max_length=REGEX_LIMITS.max_pattern_length)

    @field_validator("regex")
    @classmethod
    def _safe(cls, value: str) -> str:
        try:
            compile_safe(value, REGEX_LIMITS)
        except UnsafePattern as exc:
            raise ValueError(f"unsafe pattern: {exc}") from exc
        return value

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return compile_safe(self.regex, REGEX_LIMITS)


Constraint = Annotated[Equals | OneOf | InRange | Matches, Field(discriminator="op")]


class AmountBudget(_Model):
    """A total per day over one numeric argument (for instance ``amount`` of ``send_money``)."""

    argument: ArgumentName
    limit: Decimal = Field(gt=0, allow_inf_nan=False)


class Grant(_Model):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
    grantor: PrincipalId = Field(description="the user who delegates, and on whose behalf the agent acts")
    agent_id: PrincipalId
    actions: tuple[GrantAction, ...] = Field(min_length=1, max_length=64)
    constraints: tuple[Constraint, ...] = Field(default=(), max_length=64)
    max_amount_per_day: AmountBudget | None = None
    max_calls_per_day: int | None = Field(default=None, ge=1, le=1_000_000)
    venues: tuple[Venue, ...] = Field(min_length=1, max_length=3)
    not_before: UtcDatetime
    expires_at: UtcDatetime
    purpose: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _window(self) -> Grant:
        if self.expires_at <= self.not_before:
            raise ValueError("expires_at must be after not_before")
        if self.expires_at - self.not_before > MAX_GRANT_LIFETIME:
            raise ValueError(f"a grant lasts at most {MAX_GRANT_LIFETIME.days} days")
        if len(set(self.venues)) != len(self.venues):
            raise ValueError("venues are listed twice")
        return self

    @property
    def has_budget(self) -> bool:
        return self.max_amount_per_day is not None or self.max_calls_per_day is not None

    @cached_property
    def pinned_arguments(self) -> frozenset[str]:
        """Arguments whose value the user fixed (equality or a closed set): they come from the grant."""
        return frozenset(c.argument for c in self.constraints if isinstance(c, Equals | OneOf))

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def canonical(self) -> bytes:
        """RFC 8785 bytes of the grant: what is signed and digested."""
        return canonical_json(self.to_json())

    def digest(self) -> str:
        return digest_bytes(self.canonical())
