"""agentgov demo: fill the configured store with demonstration data."""

from __future__ import annotations

import click

from agentgov.cli.common import handle_errors, registry
from agentgov.registry.demo import load_demo

__all__ = ["demo"]


@click.group()
def demo() -> None:
    """Demonstration data."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds agents.")
@handle_errors
def load(if_empty: bool) -> None:
    """Load two organisations and a dozen agents in various lifecycle states."""
    service = registry()
    if if_empty and service.store.count_agents() > 0:
        click.echo("store already holds agents; demo not loaded")
        return
    counts = load_demo(service)
    click.echo(f"loaded {counts['organisations']} organisations and {counts['agents']} agents")
