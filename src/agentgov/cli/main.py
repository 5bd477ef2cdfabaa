"""The ``agentgov`` command: one group per module."""

from __future__ import annotations

import click

import agentgov
from agentgov.cli.agent import agent
from agentgov.cli.approvals import approvals
from agentgov.cli.db import db
from agentgov.cli.demo import demo
from agentgov.cli.gateway import gateway
from agentgov.cli.grants import grants
from agentgov.cli.keys import keys
from agentgov.cli.ledger import ledger
from agentgov.cli.org import org
from agentgov.cli.policy import policy
from agentgov.cli.serve import openapi, serve
from agentgov.cli.witness import witness

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(agentgov.__version__, prog_name="agentgov")
def cli() -> None:
    """agentgov: governance platform for AI agents.

    The store is ./var/agentgov.db unless AGENTGOV_DATABASE_URL names another (sqlite:/// or postgresql://).
    """


for group in (
    db,
    keys,
    org,
    agent,
    policy,
    grants,
    approvals,
    ledger,
    witness,
    gateway,
    demo,
    serve,
    openapi,
):
    cli.add_command(group)


def main() -> None:
    cli()
