"""agentgov serve: run the platform (API, console, registry) with uvicorn."""

from __future__ import annotations

import json

import click
import uvicorn

from agentgov.cli.common import engine, handle_errors
from agentgov.db.engine import make_engine
from agentgov.db.migrate import current_revision, head_revision
from agentgov.errors import Unavailable
from agentgov.server.app import create_app

__all__ = ["openapi", "serve"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@handle_errors
def serve(host: str, port: int) -> None:
    """Serve the platform. The store must be migrated first (agentgov db upgrade)."""
    eng = engine()
    if current_revision(eng) != head_revision():
        raise Unavailable("the database is not at the latest migration: run `agentgov db upgrade` first")
    click.echo(f"agentgov on http://{host}:{port}  (API docs: http://{host}:{port}/v1/docs)")
    uvicorn.run(create_app(eng), host=host, port=port, log_level="info")


@click.command()
def openapi() -> None:
    """Print the OpenAPI document of the API (generated; no database needed)."""
    app = create_app(make_engine("sqlite://"))
    click.echo(json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True))
