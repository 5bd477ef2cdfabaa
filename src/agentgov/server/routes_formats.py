"""Interop: import A2A cards and MCP server.json; Agent Cards and the AI Catalog on well-known paths."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agentgov.errors import Gone
from agentgov.registry import interop
from agentgov.registry.declaration import ApplicationDomain
from agentgov.registry.lifecycle import DELETED_STATUSES
from agentgov.registry.records import AgentRecord
from agentgov.server.deps import Caller, Services, SignedIn, services

__all__ = ["router"]

router = APIRouter()
Svc = Annotated[Services, Depends(services)]


class CardImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    card: dict[str, Any] = Field(description="an A2A Agent Card, v0.3 or v1.0")
    name: str | None = Field(default=None, description="registry name; derived from the card when absent")
    application_domains: list[ApplicationDomain] = Field(default_factory=lambda: [ApplicationDomain.GENERAL])
    require_signature: bool = Field(default=False, description="refuse a card that carries no JWS signature")


class CardImported(BaseModel):
    agent: AgentRecord
    verified_signatures: list[str] = Field(description="kid of each JWS signature that verified")


class ServerImport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server: dict[str, Any] = Field(description="an MCP Registry server.json")
    name: str | None = None
    application_domains: list[ApplicationDomain] = Field(default_factory=lambda: [ApplicationDomain.SOFTWARE])


@router.post(
    "/v1/orgs/{org}/import/a2a", status_code=201, tags=["interop"], summary="File an agent from its A2A card"
)
def import_a2a(org: str, body: CardImport, who: SignedIn, svc: Svc) -> CardImported:
    record, kids = interop.import_a2a(
        svc.registry,
        who,
        org,
        body.card,
        name=body.name,
        application_domains=body.application_domains,
        require_signature=body.require_signature,
    )
    return CardImported(agent=record, verified_signatures=list(kids))


@router.post(
    "/v1/orgs/{org}/import/mcp-server",
    status_code=201,
    tags=["interop"],
    summary="File an agent from server.json",
)
def import_mcp_server(org: str, body: ServerImport, who: SignedIn, svc: Svc) -> AgentRecord:
    return interop.import_mcp_server(
        svc.registry, who, org, body.server, name=body.name, application_domains=body.application_domains
    )


@router.get("/v1/agents/{agent_id:path}/card", tags=["interop"], summary="The agent's A2A Agent Card (v1.0)")
def agent_card(agent_id: str, svc: Svc, who: Caller) -> dict[str, Any]:
    return interop.agent_card(svc.registry, who, agent_id)


@router.get("/.well-known/ai-catalog.json", tags=["interop"], summary="AI Catalog of the registry")
def ai_catalog(svc: Svc) -> JSONResponse:
    document = interop.root_catalog(svc.registry, svc.settings.public_base_url, svc.settings.host_name)
    return JSONResponse(document, media_type="application/ai-catalog+json")


@router.get("/catalogs/{domain}/ai-catalog.json", tags=["interop"], summary="AI Catalog of one organisation")
def org_catalog(domain: str, svc: Svc) -> JSONResponse:
    document = interop.catalog_for_org(svc.registry, svc.settings.public_base_url, domain)
    return JSONResponse(document, media_type="application/ai-catalog+json")


@router.get(
    "/agents/{domain}/{name}/.well-known/agent-card.json",
    tags=["interop"],
    summary="Agent Card of a hosted agent",
)
def hosted_card(domain: str, name: str, svc: Svc) -> JSONResponse:
    agent_id = f"urn:agent:{domain}:{name}"
    record = svc.registry.get_agent(None, agent_id)
    if record.status in DELETED_STATUSES:
        raise Gone(
            f"agent {agent_id} is {record.status.value}; its card is withdrawn", status_of_agent=record.status
        )
    if record.status not in interop.CARD_STATUSES:
        raise Gone(
            f"agent {agent_id} is {record.status.value}; its card is not served",
            status_of_agent=record.status,
        )
    return JSONResponse(interop.agent_card(svc.registry, None, agent_id), media_type="application/json")
