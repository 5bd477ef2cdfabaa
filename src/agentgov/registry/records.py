"""Records the registry returns: organisations, agents, versions, lifecycle events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentgov.registry.lifecycle import AgentStatus

__all__ = ["AgentRecord", "AgentSummary", "LifecycleEvent", "OrganisationRecord", "VersionRecord"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class OrganisationRecord(_Out):
    id: str
    name: str
    domain: str
    country: str
    legal_id: str | None
    kinds: list[str]
    contacts: list[dict[str, Any]]
    owners: list[str]
    sponsors: list[str]
    domain_verified: bool
    domain_proof: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class AgentSummary(_Out):
    id: str
    org_id: str
    name: str
    display_name: str
    status: AgentStatus
    version: int
    digest: str
    deployment_mode: str
    certified: bool
    deleted: bool
    updated_at: datetime


class AgentRecord(AgentSummary):
    agent_key: str | None
    aliases: list[dict[str, str]]
    declaration: dict[str, Any]
    created_at: datetime
    ledger_index: int | None = Field(
        default=None,
        description="index of the ledger entry recording the agent's latest version or lifecycle move; "
        "null until it is recorded",
    )


class VersionRecord(_Out):
    agent_id: str
    version: int
    digest: str
    prev_digest: str | None
    declaration: dict[str, Any]
    created_by: str
    created_at: datetime
    ledger_index: int | None = Field(default=None, description="the ledger entry recording this version")


class LifecycleEvent(_Out):
    agent_id: str
    action: str
    from_status: str | None
    to_status: str
    actor: str
    actor_role: str
    reason: str | None
    evidence: dict[str, Any]
    at: datetime
    ledger_index: int | None = Field(default=None, description="the ledger entry recording this move")
