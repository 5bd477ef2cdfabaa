"""agentgov approvals: the user's final say (Art. 6): list, show, approve, refuse, delegates."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from agentgov.approvals.model import ApprovalStatus
from agentgov.cli.common import emit, handle_errors, json_option
from agentgov.cli.policy import acting_as, api_key_option, authority

__all__ = ["approvals"]


def _line(a: dict[str, Any]) -> str:
    action = f"{a['action']['server']}:{a['action']['tool']}"
    only = " user-only" if a["user_only"] else ""
    who = f"{a['user_id']} / {a['agent_id']}"
    return f"{a['id']:<22} {a['state']:<9} {who}  {action}{only}  until {a['expires_at']}"


def _detail(a: dict[str, Any]) -> str:
    lines = [_line(a), f"  arguments: {a.get('arguments', {})}", *(f"  - {r}" for r in a["reasons"])]
    if a["decided_by"]:
        lines.append(f"  decided by {a['decided_by']} at {a['decided_at']}")
    return "\n".join(lines)


@click.group()
def approvals() -> None:
    """Approvals: actions waiting for the user (or a delegate) to say yes or no."""


@approvals.command("list")
@click.option("--status", type=click.Choice([s.value for s in ApprovalStatus]), default=None)
@api_key_option
@json_option
@handle_errors
def list_approvals(status: str | None, api_key: str | None, as_json: bool) -> None:
    """Approvals to decide: the user's own, and those they decide as a delegate."""
    chosen = ApprovalStatus(status) if status else None
    rows = authority().approvals.list_approvals(acting_as(api_key), status=chosen)
    emit(rows, as_json, lambda data: "\n".join(_line(a) for a in data) or "no approvals")


@approvals.command("show")
@click.argument("approval_id")
@click.option("--wait", default=0.0, type=click.FloatRange(0, 60), help="Seconds to wait while pending.")
@api_key_option
@json_option
@handle_errors
def show(approval_id: str, wait: float, api_key: str | None, as_json: bool) -> None:
    """One approval, with the arguments it would let run."""
    view = asyncio.run(authority().approvals.wait(acting_as(api_key), approval_id, wait))
    emit(view, as_json, _detail)


@approvals.command("approve")
@click.argument("approval_id")
@click.option("--note", default=None)
@api_key_option
@json_option
@handle_errors
def approve(approval_id: str, note: str | None, api_key: str | None, as_json: bool) -> None:
    """Approve, with the user's (or a delegate's) own key: the call may then run once."""
    emit(authority().approvals.approve(acting_as(api_key), approval_id, note), as_json, _line)


@approvals.command("refuse")
@click.argument("approval_id")
@click.option("--note", default=None)
@api_key_option
@json_option
@handle_errors
def refuse(approval_id: str, note: str | None, api_key: str | None, as_json: bool) -> None:
    """Refuse, with the user's (or a delegate's) own key."""
    emit(authority().approvals.refuse(acting_as(api_key), approval_id, note), as_json, _line)


@approvals.command("delegates")
@click.option("--set", "names", multiple=True, help="Name a delegate (repeatable); replaces the list.")
@click.option("--clear", is_flag=True, help="Name no delegate.")
@api_key_option
@json_option
@handle_errors
def delegates(names: tuple[str, ...], clear: bool, api_key: str | None, as_json: bool) -> None:
    """Show, or set, who may decide the user's approvals (never user-only ones)."""
    service, who = authority().approvals, acting_as(api_key)
    data = service.set_delegates(who, list(names)) if names or clear else service.delegates(who)
    emit(data, as_json, lambda d: ", ".join(d["delegates"]) or "no delegates")
