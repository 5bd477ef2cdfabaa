"""agentgov db: migrations and the first admin key."""

from __future__ import annotations

import click

from agentgov.cli.common import emit, engine, handle_errors, json_option
from agentgov.core.clock import SystemClock
from agentgov.db.engine import database_url
from agentgov.db.migrate import current_revision, head_revision, upgrade
from agentgov.identity.keystore import KeyStore

__all__ = ["db"]


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@handle_errors
def upgrade_cmd() -> None:
    """Apply migrations; create and print a first admin key when none exists."""
    eng = engine()
    upgrade(eng)
    click.echo(f"database at revision {current_revision(eng)} ({eng.dialect.name})")
    keys = KeyStore(eng, SystemClock())
    if keys.count_admins() == 0:
        issued = keys.create("admin", label="first admin key")
        click.echo("first admin key (shown once, store it now):")
        click.echo(issued.key)


@db.command("status")
@json_option
@handle_errors
def status_cmd(as_json: bool) -> None:
    """Show the current and the latest migration."""
    eng = engine()
    current, head = current_revision(eng), head_revision()
    url = database_url()
    shown = url.split("@")[-1] if "@" in url else url
    data = {
        "database": shown,
        "backend": eng.dialect.name,
        "current": current,
        "head": head,
        "up_to_date": current == head,
    }
    emit(data, as_json, lambda d: f"{d['database']}: revision {d['current'] or 'none'} (latest {d['head']})")
