"""agentgov keys: create, list and revoke API keys."""

from __future__ import annotations

import click

from agentgov.cli.common import emit, engine, handle_errors, json_option
from agentgov.core.clock import SystemClock
from agentgov.identity.apikeys import Role
from agentgov.identity.keystore import KeyStore

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """API keys (stored as hashes; a key is printed once)."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="Role of the key.")
@click.option("--org", default=None, help="Organisation id or domain (developer keys).")
@click.option("--subject", default=None, help="The user the key acts for (user keys).")
@click.option("--label", default="", help="A note to recognise the key by.")
@json_option
@handle_errors
def create(role: str, org: str | None, subject: str | None, label: str, as_json: bool) -> None:
    """Create a key and print it once."""
    issued = KeyStore(engine(), SystemClock()).create(role, org=org, subject=subject, label=label)
    if as_json:
        emit(issued.to_json(), True)
    else:
        click.echo(issued.key)


@keys.command("list")
@json_option
@handle_errors
def list_keys(as_json: bool) -> None:
    """List keys (metadata only)."""
    rows = KeyStore(engine(), SystemClock()).list()
    emit(
        rows,
        as_json,
        lambda data: (
            "\n".join(
                f"{r['id']}  {r['role']:<10} {r['org_id'] or r['subject'] or '-':<24} "
                f"{'revoked' if r['revoked_at'] else 'live'}  {r['label']}"
                for r in data
            )
            or "no keys"
        ),
    )


@keys.command("revoke")
@click.argument("key_id")
@handle_errors
def revoke(key_id: str) -> None:
    """Revoke a key at once."""
    KeyStore(engine(), SystemClock()).revoke(key_id)
    click.echo(f"revoked {key_id}")
