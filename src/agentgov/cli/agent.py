"""agentgov agent: register, show, search, export, status."""

from __future__ import annotations

from typing import Any

import click

from agentgov.cli.common import LOCAL_ADMIN, emit, handle_errors, json_option, read_json_file, registry
from agentgov.errors import InvalidInput
from agentgov.registry import interop
from agentgov.registry.declaration import ApplicationDomain
from agentgov.registry.lifecycle import Action, AgentStatus
from agentgov.registry.search import SearchQuery

__all__ = ["agent"]


def _line(a: dict[str, Any]) -> str:
    flags = " certified" if a.get("certified") else ""
    head = f"{a['id']:<48} {a['status']:<13} v{a['version']}"
    return f"{head} {a['deployment_mode']:<20}{flags}  {a['display_name']}"


def _detail(a: dict[str, Any]) -> str:
    d = a["declaration"]
    lines = [
        _line(a),
        f"  digest:      {a['digest']}",
        f"  description: {d['description']}",
        f"  protocols:   {', '.join(sorted({i['protocol'] for i in d.get('interfaces', [])})) or '-'}",
        f"  domains:     {', '.join(d.get('application_domains', []))}",
        f"  skills:      {', '.join(s['name'] for s in d.get('skills', [])) or '-'}",
        f"  agent key:   {a['agent_key'] or '-'}",
        f"  aliases:     {', '.join(x['alias'] for x in a['aliases']) or '-'}",
    ]
    return "\n".join(lines)


@click.group()
def agent() -> None:
    """Agents: filing, discovery, lifecycle."""


@agent.command("register")
@click.option("--org", "org_key", required=True, help="Organisation id or domain.")
@click.option("--name", required=True, help="Stable name; the id becomes urn:agent:<domain>:<name>.")
@click.argument("declaration", type=click.Path(allow_dash=True))
@json_option
@handle_errors
def register(org_key: str, name: str, declaration: str, as_json: bool) -> None:
    """File an agent from its declaration (a JSON file, or - for stdin)."""
    emit(registry().register_agent(LOCAL_ADMIN, org_key, name, read_json_file(declaration)), as_json, _detail)


@agent.command("show")
@click.argument("key")
@json_option
@handle_errors
def show(key: str, as_json: bool) -> None:
    """Show an agent by id or alias."""
    emit(registry().get_agent(LOCAL_ADMIN, key), as_json, _detail)


@agent.command("search")
@click.argument("q", default="")
@click.option("--skill")
@click.option("--tag")
@click.option("--protocol")
@click.option("--domain", help="Application domain, e.g. medical.")
@click.option("--status", "statuses", multiple=True, type=click.Choice([s.value for s in AgentStatus]))
@click.option("--certified/--not-certified", default=None)
@click.option("--include-deleted", is_flag=True)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100))
@click.option("--cursor")
@json_option
@handle_errors
def search(
    *,
    q: str,
    skill: str | None,
    tag: str | None,
    protocol: str | None,
    domain: str | None,
    statuses: tuple[str, ...],
    certified: bool | None,
    include_deleted: bool,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Full-text search with filters."""
    filters = {
        k: v for k, v in {"skill": skill, "tag": tag, "protocol": protocol, "domain": domain}.items() if v
    }
    query = SearchQuery(
        q=q,
        filters=filters,
        statuses=frozenset(AgentStatus(s) for s in statuses) or None,
        certified=certified,
        include_deleted=include_deleted,
        limit=limit,
        cursor=cursor,
    )
    result = registry().search(LOCAL_ADMIN, query)
    data = {"items": result.items, "next_cursor": result.next_cursor}

    def text(d: dict[str, Any]) -> str:
        lines = [f"{_line(i)}  (matched: {', '.join(i['matched']) or '-'})" for i in d["items"]]
        if d["next_cursor"]:
            lines.append(f"more: --cursor {d['next_cursor']}")
        return "\n".join(lines) or "no agents match"

    emit(data, as_json, text)


@agent.command("export")
@click.argument("key")
@click.option("--version", "version", type=int, default=None, help="A past version (default: current).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["declaration", "a2a"]),
    default="declaration",
    show_default=True,
    help="declaration: the stored version with its digest chain; a2a: the A2A Agent Card (v1.0).",
)
@handle_errors
def export(key: str, version: int | None, fmt: str) -> None:
    """Print the declaration with its digest chain, or the agent's A2A Agent Card."""
    if fmt == "a2a":
        emit(interop.agent_card(registry(), LOCAL_ADMIN, key), True)
        return
    versions = registry().versions(LOCAL_ADMIN, key)
    chosen = versions[-1] if version is None else next((v for v in versions if v.version == version), None)
    if chosen is None:
        raise click.UsageError(f"no version {version}")
    emit(chosen, True)


@agent.command("import")
@click.option("--org", "org_key", required=True, help="Organisation id or domain.")
@click.option("--name", default=None, help="Registry name (default: derived from the document).")
@click.option("--format", "fmt", type=click.Choice(["a2a", "mcp-server"]), required=True)
@click.option("--domain", "domains", multiple=True, help="Application domain(s), e.g. --domain medical.")
@click.option("--require-signature", is_flag=True, help="Refuse an A2A card that carries no signature.")
@click.argument("file", type=click.Path(allow_dash=True))
@json_option
@handle_errors
def import_(
    *,
    org_key: str,
    name: str | None,
    fmt: str,
    domains: tuple[str, ...],
    require_signature: bool,
    file: str,
    as_json: bool,
) -> None:
    """File an agent from an A2A Agent Card (v0.3 or v1.0) or an MCP server.json."""
    document = read_json_file(file)
    if not isinstance(document, dict):
        raise InvalidInput("the document must be a JSON object")
    chosen = [_domain(d) for d in domains]
    service = registry()
    if fmt == "a2a":
        record, _kids = interop.import_a2a(
            service,
            LOCAL_ADMIN,
            org_key,
            document,
            name=name,
            application_domains=chosen or [ApplicationDomain.GENERAL],
            require_signature=require_signature,
        )
    else:
        record = interop.import_mcp_server(
            service,
            LOCAL_ADMIN,
            org_key,
            document,
            name=name,
            application_domains=chosen or [ApplicationDomain.SOFTWARE],
        )
    emit(record, as_json, _detail)


def _domain(value: str) -> ApplicationDomain:
    try:
        return ApplicationDomain(value)
    except ValueError as exc:
        known = ", ".join(d.value for d in ApplicationDomain)
        raise InvalidInput(f"unknown application domain {value!r} (known: {known})", field="domain") from exc


@agent.command("status")
@click.argument("key")
@click.argument("action", required=False, type=click.Choice([a.value for a in Action]))
@click.option("--reason", help="Why (required for reject, suspend, reinstate, recall).")
@json_option
@handle_errors
def status(key: str, action: str | None, reason: str | None, as_json: bool) -> None:
    """Show the lifecycle history, or move the agent with ACTION."""
    service = registry()
    if action is not None:
        service.move(LOCAL_ADMIN, key, action, reason)
    events = service.events(LOCAL_ADMIN, key)
    emit(
        events,
        as_json,
        lambda rows: "\n".join(
            f"{e['at']}  {e['action']:<10} {e['from_status'] or '-':>12} -> {e['to_status']:<12} {e['actor']}"
            + (f"  ({e['reason']})" if e["reason"] else "")
            for e in rows
        ),
    )
