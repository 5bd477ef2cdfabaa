"""/v1/orgs: organisations and their agents' filing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from agentgov.registry.orgs import OrganisationInput
from agentgov.registry.records import AgentRecord, OrganisationRecord
from agentgov.server.deps import Services, SignedIn, services

__all__ = ["router"]

router = APIRouter(prefix="/v1/orgs", tags=["organisations"])
Svc = Annotated[Services, Depends(services)]


class Alias(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias: str = Field(min_length=1, max_length=400)
    scheme: str = Field(description="did, aip (智能体身份码), url or other")


class AgentFiling(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description="stable name within the organisation; the id becomes urn:agent:<domain>:<name>"
    )
    declaration: dict[str, Any]
    aliases: list[Alias] = Field(default_factory=list)


@router.post("", status_code=201, summary="File an organisation (registrar or admin)")
def create_org(body: OrganisationInput, who: SignedIn, svc: Svc) -> OrganisationRecord:
    return svc.registry.create_org(who, body)


@router.get("", summary="List organisations")
def list_orgs(
    svc: Svc, limit: Annotated[int, Query(ge=1, le=100)] = 50, after: str | None = None
) -> list[OrganisationRecord]:
    return svc.registry.list_orgs(limit, after)


@router.get("/{org}", summary="One organisation, by id or domain")
def get_org(org: str, svc: Svc) -> OrganisationRecord:
    return svc.registry.get_org(org)


class DomainProofRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["http", "dns"] = Field(
        description="http: https://DOMAIN/.well-known/mcp-registry-auth; dns: a TXT record on DOMAIN"
    )
    timestamp: str = Field(description="RFC 3339 time, signed as UTF-8 bytes; within 5 minutes of ours")
    signature: str = Field(description="Ed25519 signature of the timestamp: hex, base64 or base64url")


@router.post("/{org}/domain-proof", summary="Prove control of the organisation's domain")
def prove_domain(org: str, body: DomainProofRequest, who: SignedIn, svc: Svc) -> OrganisationRecord:
    """The domain publishes `v=MCPv1; k=ed25519; p=<base64 key>`; the caller signs a fresh timestamp."""
    return svc.registry.prove_domain(who, org, body.method, body.timestamp, body.signature)


@router.post("/{org}/agents", status_code=201, summary="File a new agent of this organisation")
def register_agent(org: str, body: AgentFiling, who: SignedIn, svc: Svc) -> AgentRecord:
    aliases = [a.model_dump() for a in body.aliases]
    return svc.registry.register_agent(who, org, body.name, body.declaration, aliases)
