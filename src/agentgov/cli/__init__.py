"""Command line: ``agentgov <group> <command>``."""

from agentgov.cli.main import cli, main

__all__ = ["cli", "main"]
