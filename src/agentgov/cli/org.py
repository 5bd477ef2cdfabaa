"""agentgov org: file, show and list organisations."""

from __future__ import annotations

from typing import Any

import click

from agentgov.cli.common import LOCAL_ADMIN, emit, handle_errors, json_option, read_json_file, registry

__all__ = ["org"]


def _line(o: dict[str, Any]) -> str:
    verified = "verified" if o["domain_verified"] else "unverified"
    legal = f"{o['country']} {o['legal_id'] or '-'}"
    return f"{o['id']}  {o['domain']:<28} {o['name']}  [{legal}; domain {verified}]"


@click.group()
def org() -> None:
    """Organisations: developers, providers, deployers."""


@org.command("register")
@click.argument("file", type=click.Path(allow_dash=True))
@json_option
@handle_errors
def register(file: str, as_json: bool) -> None:
    """File an organisation from a JSON document (name, domain, legal_id, contacts, owners, sponsors)."""
    record = registry().create_org(LOCAL_ADMIN, read_json_file(file))
    emit(record, as_json, _line)


@org.command("show")
@click.argument("key")
@json_option
@handle_errors
def show(key: str, as_json: bool) -> None:
    """Show one organisation by id or domain."""
    emit(registry().get_org(key), as_json, _line)


@org.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100))
@json_option
@handle_errors
def list_orgs(limit: int, as_json: bool) -> None:
    """List organisations."""
    emit(
        registry().list_orgs(limit),
        as_json,
        lambda rows: "\n".join(_line(o) for o in rows) or "no organisations",
    )
