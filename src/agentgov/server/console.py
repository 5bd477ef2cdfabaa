"""The web console: server-rendered pages in Chinese and English over the same services as the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from agentgov.errors import AgentGovError
from agentgov.registry.lifecycle import AgentStatus
from agentgov.registry.search import SearchQuery
from agentgov.server.deps import Services, services

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,
)

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "agentgov registry",
        "search": "Search",
        "placeholder": "name, skill, description… (中文 too)",
        "any_protocol": "any protocol",
        "any_domain": "any domain",
        "agents": "Agents",
        "status": "Status",
        "version": "Version",
        "deployment": "Deployment",
        "matched": "Matched",
        "none": "No agents match.",
        "more": "Next page",
        "declaration": "Declaration",
        "history": "Lifecycle",
        "versions": "Versions",
        "certified": "certified",
        "back": "Back to the registry",
        "api": "API documentation",
        "other_lang": "中文",
    },
    "zh": {
        "title": "agentgov 智能体注册平台",
        "search": "搜索",
        "placeholder": "名称、技能、描述…",
        "any_protocol": "全部协议",
        "any_domain": "全部领域",
        "agents": "智能体",
        "status": "状态",
        "version": "版本",
        "deployment": "部署方式",
        "matched": "匹配字段",
        "none": "没有匹配的智能体。",
        "more": "下一页",
        "declaration": "能力声明",
        "history": "生命周期",
        "versions": "版本",
        "certified": "已认证",
        "back": "返回注册平台",
        "api": "接口文档",
        "other_lang": "English",
    },
}
STATUS_ZH = {
    "filed": "已提交",
    "under_review": "审核中",
    "registered": "已登记",
    "suspended": "已暂停",
    "deprecated": "已弃用",
    "retired": "已退役",
    "withdrawn": "已撤回",
    "recalled": "已召回",
}


def _render(name: str, lang: str, **context: Any) -> HTMLResponse:
    lang = lang if lang in TEXT else "zh"
    other = "en" if lang == "zh" else "zh"

    def status_label(status: str) -> str:
        return STATUS_ZH.get(status, status) if lang == "zh" else status.replace("_", " ")

    html = _env.get_template(name).render(
        t=TEXT[lang], lang=lang, other=other, status_label=status_label, **context
    )
    return HTMLResponse(html)


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
    return _render(
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
    return _render(
        "agent.html",
        lang,
        agent=record.model_dump(mode="json"),
        events=[e.model_dump(mode="json") for e in svc.registry.events(None, agent_id)],
        versions=[v.model_dump(mode="json") for v in svc.registry.versions(None, agent_id)],
    )
