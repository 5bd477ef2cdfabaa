"""Approvals, purely: what is approved (bound to the exact arguments), who may decide, when it may run.

An approval binds the sha256 of the RFC 8785 canonical arguments, the agent, the user, the tool (on
its server) and an expiry. The user decides; so may a delegate the user named, except for a
``user_only`` action (Art. 6: the user's alone, each time). An approved action runs at most once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from agentgov.approvals.errors import (
    ApprovalArgumentsMismatch,
    ApprovalBindingMismatch,
    ApprovalExpired,
    ApprovalPending,
    ApprovalRefused,
    ApprovalUsed,
    DelegateMayNotDecide,
)
from agentgov.core.clock import isoformat_z
from agentgov.core.digest import digest_json
from agentgov.errors import Forbidden
from agentgov.policy.model import ActionRef

__all__ = [
    "Approval",
    "ApprovalInput",
    "ApprovalState",
    "ApprovalStatus",
    "arguments_digest",
    "check_consume",
    "check_decider",
]

PrincipalId = Annotated[str, Field(pattern=r"^\S{1,256}$")]


class ApprovalStatus(StrEnum):
    """What is stored."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    USED = "used"


class ApprovalState(StrEnum):
    """What a reader sees: the stored status, or expired once past the expiry unless decided for good."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    USED = "used"
    EXPIRED = "expired"


def arguments_digest(arguments: Mapping[str, Any]) -> str:
    """sha256 of the RFC 8785 canonical arguments: what the approval is bound to."""
    return digest_json(dict(arguments))


class ApprovalInput(BaseModel):
    """An approval request, as the gateway sends it when a decision asks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_id: PrincipalId
    user_id: PrincipalId
    action: ActionRef
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    decision_id: str | None = Field(default=None, max_length=40)
    user_only: bool = Field(default=False, description="the caller may make it stricter, never looser")
    reasons: tuple[Annotated[str, Field(max_length=1000)], ...] = Field(default=(), max_length=20)
    ttl_seconds: int | None = Field(default=None, ge=1)


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    user_id: str
    agent_id: str
    server: str
    tool: str
    arguments: dict[str, Any]
    arguments_digest: str
    user_only: bool
    reasons: tuple[str, ...]
    decision_id: str | None
    status: ApprovalStatus
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    note: str | None = None
    used_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Approval:
        return cls(
            **{k: row[k] for k in _ROW_FIELDS},
            reasons=tuple(row["reasons"]),
            status=ApprovalStatus(row["status"]),
        )

    def state(self, now: datetime) -> ApprovalState:
        final = self.status in (ApprovalStatus.REFUSED, ApprovalStatus.USED)
        if not final and now >= self.expires_at:
            return ApprovalState.EXPIRED
        return ApprovalState(self.status.value)

    def to_json(self, now: datetime, *, with_arguments: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "state": self.state(now).value,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "action": {"tool": self.tool, "server": self.server},
            "arguments_digest": self.arguments_digest,
            "user_only": self.user_only,
            "reasons": list(self.reasons),
            "decision_id": self.decision_id,
            "created_at": isoformat_z(self.created_at),
            "expires_at": isoformat_z(self.expires_at),
            "decided_at": isoformat_z(self.decided_at) if self.decided_at else None,
            "decided_by": self.decided_by,
            "note": self.note,
            "used_at": isoformat_z(self.used_at) if self.used_at else None,
        }
        if with_arguments:
            out["arguments"] = self.arguments
        return out


_ROW_FIELDS = tuple(f.name for f in fields(Approval) if f.name not in ("reasons", "status"))


def check_decider(approval: Approval, decider: str, delegates: frozenset[str]) -> None:
    """May user ``decider`` approve or refuse? The user, or a delegate they named (never for user-only)."""
    if decider == approval.user_id:
        return
    if decider not in delegates:
        raise Forbidden(f"only {approval.user_id!r}, or a delegate they named, decides this approval")
    if approval.user_only:  # Art. 6: a user-only decision is the user's own, each time
        raise DelegateMayNotDecide(
            f"{approval.server}:{approval.tool} is a user-only action: only {approval.user_id!r} decides it"
        )


def check_consume(
    approval: Approval,
    *,
    agent_id: str,
    user_id: str,
    tool: str,
    server: str | None,
    digest: str,
    now: datetime,
) -> None:
    """Raise unless this exact call may run now under ``approval`` (at most once)."""
    if (agent_id, user_id, tool) != (approval.agent_id, approval.user_id, approval.tool) or (
        server is not None and server != approval.server
    ):
        raise ApprovalBindingMismatch(
            f"approval {approval.id} is for agent {approval.agent_id!r}, user {approval.user_id!r} and "
            f"{approval.server}:{approval.tool}"
        )
    if digest != approval.arguments_digest:
        raise ApprovalArgumentsMismatch(
            f"approval {approval.id} is for other arguments ({approval.arguments_digest}, not {digest})",
            expected=approval.arguments_digest,
            got=digest,
        )
    state = approval.state(now)
    if state is ApprovalState.USED:
        raise ApprovalUsed(f"approval {approval.id} was already used: an approved action runs once")
    if state is ApprovalState.REFUSED:
        raise ApprovalRefused(f"approval {approval.id} was refused by {approval.decided_by}")
    if state is ApprovalState.EXPIRED:
        raise ApprovalExpired(f"approval {approval.id} expired at {isoformat_z(approval.expires_at)}")
    if state is ApprovalState.PENDING:
        raise ApprovalPending(f"approval {approval.id} is not decided yet")
