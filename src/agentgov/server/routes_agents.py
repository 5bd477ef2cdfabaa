"""/v1/agents: search, read, versions, lifecycle, aliases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from agentgov.core.clock import ensure_utc
from agentgov.errors import InvalidInput, NotFound
from agentgov.registry.declaration import DeploymentMode
from agentgov.registry.lifecycle import AgentStatus
from agentgov.registry.records import AgentRecord, LifecycleEvent, VersionRecord
from agentgov.registry.search import SearchQuery
from agentgov.server.deps import Caller, Services, SignedIn, services
from agentgov.server.routes_orgs import Alias

__all__ = ["router"]

router = APIRouter(prefix="/v1/agents", tags=["agents"])
Svc = Annotated[Services, Depends(services)]


class SearchResponse(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(
        description="submit, withdraw, approve, reject, suspend, reinstate, deprecate, retire, recall"
    )
    reason: str | None = Field(default=None, max_length=4000)
    evidence: dict[str, Any] = Field(default_factory=dict)


class NewVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    declaration: dict[str, Any]


@router.get(
    "",
    summary="Search and discover agents",
    description="Results in registration order (change order with updated_since). A page may hold fewer "
    "items than `limit` while `next_cursor` is set: follow `next_cursor` until it is null.",
)
def search_agents(
    *,
    svc: Svc,
    who: Caller,
    q: Annotated[str, Query(max_length=200, description="full text; CJK and Latin")] = "",
    skill: str | None = None,
    tag: str | None = None,
    protocol: str | None = None,
    domain: str | None = Query(default=None, description="application domain, e.g. medical, finance"),
    data: str | None = Query(default=None, description="data category handled, e.g. personal"),
    deployment_mode: DeploymentMode | None = None,
    status: Annotated[list[AgentStatus] | None, Query()] = None,
    certified: bool | None = None,
    org: str | None = Query(default=None, description="organisation id or domain"),
    updated_since: datetime | None = None,
    include_deleted: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> SearchResponse:
    filters = {
        k: v
        for k, v in {"skill": skill, "tag": tag, "protocol": protocol, "domain": domain, "data": data}.items()
        if v
    }
    org_id = None
    if org:
        try:
            org_id = svc.registry.get_org(org).id
        except NotFound:
            org_id = "\x00none"  # an unknown organisation matches nothing
    if updated_since is not None:
        try:
            updated_since = ensure_utc(updated_since)
        except ValueError as exc:
            raise InvalidInput(
                "updated_since needs a time zone, e.g. 2026-01-01T00:00:00Z", field="updated_since"
            ) from exc
    query = SearchQuery(
        q=q,
        filters=filters,
        deployment_mode=deployment_mode.value if deployment_mode else None,
        statuses=frozenset(status) if status else None,
        certified=certified,
        org_id=org_id,
        updated_since=updated_since,
        include_deleted=include_deleted,
        limit=limit,
        cursor=cursor,
    )
    result = svc.registry.search(who, query)
    return SearchResponse(items=result.items, next_cursor=result.next_cursor)


@router.get("/{agent_id:path}/versions/{version}", summary="One immutable version")
def get_version(agent_id: str, version: int, svc: Svc, who: Caller) -> VersionRecord:
    return svc.registry.version(who, agent_id, version)


@router.get("/{agent_id:path}/versions", summary="Every version, oldest first, each linked to the one before")
def list_versions(agent_id: str, svc: Svc, who: Caller) -> list[VersionRecord]:
    return svc.registry.versions(who, agent_id)


@router.post("/{agent_id:path}/versions", status_code=201, summary="Publish a new version of the declaration")
def publish_version(agent_id: str, body: NewVersion, who: SignedIn, svc: Svc) -> AgentRecord:
    return svc.registry.publish_version(who, agent_id, body.declaration)


@router.get("/{agent_id:path}/events", summary="Lifecycle history: who moved it, when, why")
def list_events(agent_id: str, svc: Svc, who: Caller) -> list[LifecycleEvent]:
    return svc.registry.events(who, agent_id)


@router.post("/{agent_id:path}/lifecycle", summary="Move the agent through its lifecycle")
def move(agent_id: str, body: Move, who: SignedIn, svc: Svc) -> AgentRecord:
    return svc.registry.move(who, agent_id, body.action, body.reason, body.evidence)


@router.post("/{agent_id:path}/aliases", status_code=201, summary="Add another identifier for the agent")
def add_alias(agent_id: str, body: Alias, who: SignedIn, svc: Svc) -> AgentRecord:
    return svc.registry.add_alias(who, agent_id, body.model_dump())


class KeyBinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    did: str = Field(description="did:key of the agent's Ed25519 key")
    timestamp: str = Field(description="RFC 3339 time of the proof, within 5 minutes of ours")
    signature: str = Field(
        description="base64url Ed25519 signature over the RFC 8785 JSON "
        '{"purpose":"agentgov/key-binding/v1","agent":<id>,"did":<did>,"time":<timestamp>}'
    )


@router.put("/{agent_id:path}/key", summary="Bind the agent's key (proof of possession)")
def bind_key(agent_id: str, body: KeyBinding, who: SignedIn, svc: Svc) -> AgentRecord:
    return svc.registry.bind_key(who, agent_id, body.did, body.timestamp, body.signature)


@router.get("/{agent_id:path}", summary="One agent by id or alias")
def get_agent(agent_id: str, svc: Svc, who: Caller) -> AgentRecord:
    return svc.registry.get_agent(who, agent_id)
