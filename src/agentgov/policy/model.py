"""The values the decision core takes and returns: an :class:`ActionRequest` in, a :class:`Decision` out.

An action request names who acts (agent), for whom (user), what (tool on an upstream server), with which
arguments, and where and when (venue, time, the session's provenance facts, data categories). A decision
says allow, deny, ask or redact, why, what the caller must do next (obligations), under which decision
class (Art. 6) and which policy version made it (Art. 7).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue

from agentgov.core.clock import ensure_utc
from agentgov.core.digest import DIGEST_PATTERN
from agentgov.errors import InvalidInput

__all__ = [
    "HOSTILE_SOURCE",
    "LABEL_PATTERN",
    "MANY_SOURCE",
    "NEVER_TRUSTED",
    "SERVER_NAME_PATTERN",
    "UNREAD_SOURCE",
    "ActionRef",
    "ActionRequest",
    "Decision",
    "DecisionClass",
    "Effect",
    "Obligation",
    "ObligationKind",
    "Provenance",
    "RequestContext",
    "TaintedArgument",
    "ToolKind",
    "UtcDatetime",
    "Venue",
]

UtcDatetime = Annotated[datetime, AfterValidator(ensure_utc)]
# The provenance label of a tool result in which a detector found an injected instruction. No policy may
# declare it trusted (``analysis``); a session that carries it asks before every side effect.
HOSTILE_SOURCE = "injection"
# Output past a session's text bound, not read: a value found nowhere else may have come from it.
UNREAD_SOURCE = "unread"
# The results of every tool a session read past the number it keeps apart, under one label.
MANY_SOURCE = "sources:many"
# Labels no policy may declare trusted: what they hold was planted, or not told apart.
NEVER_TRUSTED = frozenset({HOSTILE_SOURCE, UNREAD_SOURCE, MANY_SOURCE})
PrincipalId = Annotated[str, Field(pattern=r"^\S{1,256}$")]
# MCP tool names: letters, digits, "_", "-", "." and "/". No ":" so that tool names never collide with
# the action groups of the packs, which always contain one ("payments:transfer").
ToolName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,127}$")]
SERVER_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-/:@]{0,255}$"
ServerName = Annotated[str, Field(pattern=SERVER_NAME_PATTERN)]
LABEL_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:/@-]{0,127}$"
Label = Annotated[str, Field(pattern=LABEL_PATTERN)]
ArgumentName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class Venue(StrEnum):
    """Where the agent acts (Art. 7: behaviour fences per public, private and special venue)."""

    PUBLIC = "public"
    PRIVATE = "private"
    SPECIAL = "special"

    @classmethod
    def parse(cls, text: str) -> Venue:
        try:
            return cls(text)
        except ValueError:
            known = ", ".join(v.value for v in cls)
            raise InvalidInput(f"unknown venue {text!r} (known: {known})", field="venue") from None


class DecisionClass(StrEnum):
    """Art. 6: decisions only the user may take, the user may delegate, or the agent may take itself."""

    USER_ONLY = "user_only"
    USER_AUTHORIZED = "user_authorized"
    AUTONOMOUS = "autonomous"

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]


_STRICTNESS = {DecisionClass.AUTONOMOUS: 0, DecisionClass.USER_AUTHORIZED: 1, DecisionClass.USER_ONLY: 2}


class ToolKind(StrEnum):
    """What a tool does to the world; a tool of unknown kind is treated as having side effects."""

    READ_ONLY = "read_only"
    SIDE_EFFECT = "side_effect"


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    ASK = "ask"
    REDACT = "redact"


class ObligationKind(StrEnum):
    RECORD = "record"  # Art. 7: every decision goes on the record
    NOTIFY_USER = "notify_user"  # Art. 6: the user's right to know what was done on their behalf
    REDACT = "redact"  # apply the listed redactions before the call proceeds or the result returns
    APPROVAL = "approval"  # ask the user, or a delegate the user named
    USER_APPROVAL = "user_approval"  # Art. 6 user-only: the user's own fresh approval, no delegate
    CHARGE_BUDGET = "charge_budget"  # add this call to the grant's usage for the day


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionRef(_Model):
    """A tool on an upstream server."""

    tool: ToolName
    server: ServerName

    def __str__(self) -> str:
        return f"{self.server}:{self.tool}"


class TaintedArgument(_Model):
    """An argument whose value came only from tool output the session does not trust."""

    argument: ArgumentName
    sources: tuple[Label, ...] = Field(min_length=1, max_length=64)


class Provenance(_Model):
    """The session's provenance facts, computed by the guard before the decision.

    ``from_user`` names the arguments whose every value the user wrote in their own request for this
    session: a fence that asks "unless the user says so" may count the request as the user saying so
    (a recipient, a participant, a destination the user named).
    """

    untrusted: tuple[TaintedArgument, ...] = Field(default=(), max_length=256)
    labels: tuple[Label, ...] = Field(default=(), max_length=256, description="every source seen")
    from_user: tuple[ArgumentName, ...] = Field(default=(), max_length=256)


class RequestContext(_Model):
    venue: Venue
    time: UtcDatetime
    provenance: Provenance = Provenance()
    data_categories: tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")], ...] = Field(
        default=(), max_length=64
    )
    session_id: PrincipalId | None = None


class ActionRequest(_Model):
    agent_id: PrincipalId
    user_id: PrincipalId
    action: ActionRef
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    context: RequestContext


class Obligation(_Model):
    kind: ObligationKind
    fields: tuple[str, ...] = ()
    grant_id: str | None = None
    amount: Decimal | None = None


class Decision(_Model):
    """The outcome of one evaluation.

    ``effect`` is what the policies decided. ``applied_effect`` is what the caller must do: the same when
    ``enforced``, and allow in shadow mode, where the decision is recorded but not enforced.
    """

    effect: Effect
    applied_effect: Effect
    enforced: bool = True
    decision_class: DecisionClass | None
    reasons: tuple[str, ...]
    obligations: tuple[Obligation, ...]
    policies: tuple[str, ...] = ()
    grants: tuple[str, ...] = ()
    policy_digest: Annotated[str, Field(pattern=DIGEST_PATTERN)]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def redact_fields(self) -> tuple[str, ...]:
        return tuple(f for o in self.obligations if o.kind is ObligationKind.REDACT for f in o.fields)
