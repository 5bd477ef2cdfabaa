"""agentgov grants: what a user delegated to their agents (Art. 6): create, list, show, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from agentgov.cli.common import emit, handle_errors, json_option, read_json_file
from agentgov.cli.policy import acting_as, api_key_option, authority
from agentgov.core.clock import SystemClock, isoformat_z

__all__ = ["grants"]


def _line(g: dict[str, Any]) -> str:
    grant = g["grant"]
    actions = ", ".join(f"{a['server']}:{a['tool']}" for a in grant["actions"])
    used = g["usage_today"]
    return (
        f"{g['id']:<24} {g['status']:<13} {grant['grantor']} -> {grant['agent_id']}  [{actions}]  "
        f"until {grant['expires_at']}  today: {used['count']} calls, {used['amount']}"
    )


@click.group()
def grants() -> None:
    """Grants: a user's delegation of authority to an agent."""


@grants.command("create")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=None,
    help="Valid from now for this many days, when the grant names no not_before and expires_at.",
)
@api_key_option
@json_option
@handle_errors
def create(file: str, days: int | None, api_key: str | None, as_json: bool) -> None:
    """Delegate, with the user's own key: FILE holds {"grant": {...}, "signature"?: "..."} or a grant."""
    body = read_json_file(file)
    if isinstance(body, dict) and "grant" not in body:
        body = {"grant": body}
    grant = body.get("grant") if isinstance(body, dict) else None
    if days is not None and isinstance(grant, dict) and "signature" not in body:
        now = SystemClock().now()
        grant.setdefault("not_before", isoformat_z(now))
        grant.setdefault("expires_at", isoformat_z(now + timedelta(days=days)))
    emit(authority().authority.grants.create(acting_as(api_key), body), as_json, _line)


@grants.command("list")
@click.option("--user", default=None, help="Only this user's grants (a user key sees only its own).")
@click.option("--agent", default=None)
@click.option("--live", is_flag=True, help="Only unrevoked, unexpired grants.")
@api_key_option
@json_option
@handle_errors
def list_grants(user: str | None, agent: str | None, live: bool, api_key: str | None, as_json: bool) -> None:
    """What the agents may do: grants, newest first, with today's usage."""
    rows = authority().authority.grants.list_grants(acting_as(api_key), user=user, agent_id=agent, live=live)
    emit(rows, as_json, lambda data: "\n".join(_line(g) for g in data) or "no grants")


@grants.command("show")
@click.argument("grant_id")
@api_key_option
@json_option
@handle_errors
def show(grant_id: str, api_key: str | None, as_json: bool) -> None:
    """One grant."""
    emit(authority().authority.grants.get(acting_as(api_key), grant_id), as_json, _line)


@grants.command("revoke")
@click.argument("grant_id")
@click.option("--reason", default="")
@api_key_option
@handle_errors
def revoke(grant_id: str, reason: str, api_key: str | None) -> None:
    """Revoke at once: the next decision no longer sees the grant."""
    authority().authority.grants.revoke(acting_as(api_key), grant_id, reason)
    click.echo(f"revoked {grant_id}")
