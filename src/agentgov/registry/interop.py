"""Interop on top of the registry service: import A2A cards and MCP server.json, export cards, catalogs.

The format mappings (``registry/formats``) are pure; this module combines them with the service so that
the API and the CLI import and export the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentgov.core.clock import isoformat_z
from agentgov.errors import NotFound
from agentgov.identity.apikeys import Principal
from agentgov.registry.declaration import ApplicationDomain, Declaration, Protocol
from agentgov.registry.formats import export_card, import_card, server_to_declaration
from agentgov.registry.lifecycle import AgentStatus
from agentgov.registry.records import AgentRecord
from agentgov.registry.search import SearchQuery
from agentgov.registry.service import RegistryService

__all__ = [
    "AI_CATALOG_VERSION",
    "CARD_STATUSES",
    "agent_card",
    "catalog_for_org",
    "import_a2a",
    "import_mcp_server",
    "root_catalog",
]

AI_CATALOG_VERSION = "1.0"
A2A_CARD_TYPE = "application/a2a-agent-card+json"
DECLARATION_TYPE = "application/vnd.agentgov.agent+json"
CATALOG_TYPE = "application/ai-catalog+json"
# Only agents that may be used are advertised: suspended, recalled and retired agents are not.
CARD_STATUSES = frozenset({AgentStatus.REGISTERED, AgentStatus.DEPRECATED})
_CATALOG_PAGE = 100


def import_a2a(
    service: RegistryService,
    principal: Principal | None,
    org_key: str,
    card: Mapping[str, Any],
    *,
    name: str | None = None,
    application_domains: Iterable[ApplicationDomain] = (ApplicationDomain.GENERAL,),
    require_signature: bool = False,
) -> tuple[AgentRecord, tuple[str, ...]]:
    """File an agent from its A2A Agent Card (v0.3 or v1.0); every signature on the card must verify."""
    imported = import_card(card, require_signature=require_signature, application_domains=application_domains)
    record = service.register_agent(principal, org_key, name or imported.name, imported.declaration.to_json())
    return record, imported.verified_kids


def import_mcp_server(
    service: RegistryService,
    principal: Principal | None,
    org_key: str,
    server: Mapping[str, Any],
    *,
    name: str | None = None,
    application_domains: Iterable[ApplicationDomain] = (ApplicationDomain.SOFTWARE,),
) -> AgentRecord:
    """File an agent from an MCP Registry ``server.json``."""
    imported = server_to_declaration(server, application_domains=application_domains)
    return service.register_agent(principal, org_key, name or imported.name, imported.declaration.to_json())


def _provider(service: RegistryService, org_id: str) -> dict[str, str]:
    org = service.get_org(org_id)
    return {"organization": org.name, "url": f"https://{org.domain}"}


def card_url(base_url: str, agent_id: str) -> str:
    _, _, rest = agent_id.partition("urn:agent:")
    domain, _, name = rest.partition(":")
    return f"{base_url}/agents/{domain}/{name}/.well-known/agent-card.json"


def agent_card(service: RegistryService, principal: Principal | None, agent_key: str) -> dict[str, Any]:
    """The A2A v1.0 card of an agent that speaks A2A."""
    record = service.get_agent(principal, agent_key)
    declaration = Declaration.model_validate(record.declaration)
    if not any(i.protocol is Protocol.A2A for i in declaration.interfaces):
        raise NotFound(f"agent {record.id} declares no A2A interface, so it has no Agent Card")
    kept = declaration.extensions.get("a2a", {})
    card_members = kept.get("card") if isinstance(kept, dict) else None
    # A card that named its provider keeps it; otherwise the provider is the registered organisation.
    declared = isinstance(card_members, dict) and "provider" in card_members
    provider = None if declared else _provider(service, record.org_id)
    return export_card(record.name, declaration, provider=provider)


def root_catalog(service: RegistryService, base_url: str, host_name: str) -> dict[str, Any]:
    """The AI Catalog at /.well-known/ai-catalog.json: one nested catalog per organisation."""
    entries = []
    after: str | None = None
    while True:
        orgs = service.list_orgs(limit=_CATALOG_PAGE, after=after)
        for org in orgs:
            entries.append(
                {
                    "identifier": f"urn:air:{org.domain}:catalog:agents",
                    "displayName": org.name,
                    "type": CATALOG_TYPE,
                    "url": f"{base_url}/catalogs/{org.domain}/ai-catalog.json",
                    "updatedAt": isoformat_z(org.updated_at),
                }
            )
        if len(orgs) < _CATALOG_PAGE:
            break
        after = orgs[-1].id
    return {"specVersion": AI_CATALOG_VERSION, "host": {"displayName": host_name}, "entries": entries}


def catalog_for_org(service: RegistryService, base_url: str, org_key: str) -> dict[str, Any]:
    """The nested AI Catalog of one organisation's usable agents."""
    org = service.get_org(org_key)
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = service.search(
            None, SearchQuery(org_id=org.id, statuses=CARD_STATUSES, limit=_CATALOG_PAGE, cursor=cursor)
        )
        for item in page.items:
            record = service.get_agent(None, item["id"])
            declaration = Declaration.model_validate(record.declaration)
            speaks_a2a = any(i.protocol is Protocol.A2A for i in declaration.interfaces)
            entry: dict[str, Any] = {
                "identifier": record.id,
                "type": A2A_CARD_TYPE if speaks_a2a else DECLARATION_TYPE,
                "url": card_url(base_url, record.id) if speaks_a2a else f"{base_url}/v1/agents/{record.id}",
                "tags": declaration.all_tags(),
                "updatedAt": isoformat_z(record.updated_at),
                "publisher": {"identifier": org.domain, "displayName": org.name},
            }
            if not speaks_a2a:
                entry["displayName"] = declaration.display_name
                entry["description"] = declaration.description
            entries.append(entry)
        cursor = page.next_cursor
        if cursor is None:
            break
    return {
        "specVersion": AI_CATALOG_VERSION,
        "host": {"displayName": org.name, "identifier": org.domain},
        "entries": entries,
    }
