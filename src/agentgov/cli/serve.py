"""agentgov serve: run the platform (API, console, registry) with uvicorn."""

from __future__ import annotations

import json

import click
import uvicorn

from agentgov.cli.common import engine, handle_errors
from agentgov.db.engine import make_engine
from agentgov.db.migrate import current_revision, head_revision
from agentgov.errors import Conflict, InvalidInput, Unavailable
from agentgov.ledger.service import LedgerService
from agentgov.server.app import create_app
from agentgov.server.settings import ServerSettings

__all__ = ["openapi", "serve"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--public-url",
    envvar="AGENTGOV_PUBLIC_URL",
    default=None,
    help="Base URL clients reach this server at, used in AI Catalogs and Agent Cards "
    "(default: http://HOST:PORT; env AGENTGOV_PUBLIC_URL).",
)
@handle_errors
def serve(host: str, port: int, public_url: str | None) -> None:
    """Serve the platform. The store must be migrated first (agentgov db upgrade)."""
    eng = engine()
    if current_revision(eng) != head_revision():
        raise Unavailable("the database is not at the latest migration: run `agentgov db upgrade` first")
    base = (public_url or f"http://{host}:{port}").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InvalidInput("--public-url must start with http:// or https://", field="public_url")
    click.echo(f"agentgov on http://{host}:{port}  (console: {base}/, API docs: {base}/v1/docs)")
    # The transparency log: this process becomes its single writer and publishes checkpoints.
    # A replica beside a running writer serves the record read-only; the writer's sweep records the
    # registry changes made here.
    ledger = LedgerService.open(eng)
    try:
        ledger.start()
    except Conflict as exc:
        click.echo(f"ledger: {exc}; serving the record read-only", err=True)
    app = create_app(eng, settings=ServerSettings(public_base_url=base), ledger=ledger)
    app.state.on_shutdown.append(ledger.close)
    uvicorn.run(app, host=host, port=port, log_level="info")


@click.command()
def openapi() -> None:
    """Print the OpenAPI document of the API (generated; no database needed)."""
    app = create_app(make_engine("sqlite://"))
    click.echo(json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True))
