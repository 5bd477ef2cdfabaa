"""The web console: server-rendered pages in Chinese and English over the same services as the API.

The registry pages are here; signing in is in :mod:`console_auth`, the user's approvals and feed in
:mod:`console_approvals`, the templates and their words in :mod:`console_render`. This router includes
them all.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from agentgov.errors import AgentGovError
from agentgov.registry.lifecycle import AgentStatus
from agentgov.registry.search import SearchQuery
from agentgov.server import console_approvals, console_auth
from agentgov.server.console_render import render
from agentgov.server.deps import Services, services

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(console_auth.router)
router.include_router(console_approvals.router)


@router.get("/", response_class=HTMLResponse)
def home(
    *,
    svc: Annotated[Services, Depends(services)],
    q: Annotated[str, Query(max_length=200)] = "",
    protocol: str = "",
    domain: str = "",
    cursor: str | None = None,
    lang: str = "zh",
) -> HTMLResponse:
    filters = {k: v for k, v in {"protocol": protocol, "domain": domain}.items() if v}
    error = None
    items: list[dict[str, Any]] = []
    next_cursor = None
    try:
        result = svc.registry.search(None, SearchQuery(q=q, filters=filters, cursor=cursor, limit=25))
        items, next_cursor = result.items, result.next_cursor
    except AgentGovError as exc:
        error = exc.detail
    return render(
        "home.html",
        lang,
        q=q,
        protocol=protocol,
        domain=domain,
        items=items,
        next_cursor=next_cursor,
        error=error,
        protocols=["a2a", "mcp", "anp", "openapi"],
        domains=[
            "medical",
            "finance",
            "government",
            "education",
            "office",
            "transport",
            "media",
            "public-security",
        ],
        statuses=[s.value for s in AgentStatus],
    )


@router.get("/console/agents/{agent_id:path}", response_class=HTMLResponse)
def agent_page(agent_id: str, svc: Annotated[Services, Depends(services)], lang: str = "zh") -> HTMLResponse:
    record = svc.registry.get_agent(None, agent_id)
    return render(
        "agent.html",
        lang,
        agent=record.model_dump(mode="json"),
        events=[e.model_dump(mode="json") for e in svc.registry.events(None, agent_id)],
        versions=[v.model_dump(mode="json") for v in svc.registry.versions(None, agent_id)],
    )
