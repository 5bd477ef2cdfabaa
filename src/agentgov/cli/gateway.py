"""agentgov gateway: put the MCP gateway in front of an MCP server (Art. 8, 9, 10), and review the tool
pins of the servers it has seen (Art. 9)."""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, closing
from typing import Any, TypeVar

import anyio
import click
import uvicorn

from agentgov.cli.common import LOCAL_ADMIN, emit, engine, handle_errors, json_option
from agentgov.core.clock import SystemClock
from agentgov.core.heap import freeze_startup_heap
from agentgov.db import current_revision, head_revision
from agentgov.errors import AgentGovError, InvalidInput, Unavailable
from agentgov.gateway import (
    GatewaySettings,
    Identity,
    PinStore,
    SqlPinStore,
    http_app,
    http_upstream,
    probe,
    serve_stdio,
    stdio_upstream,
)
from agentgov.gateway.guard_gate import GuardGate
from agentgov.gateway.port import Gate
from agentgov.guard import GuardSettings, open_guard
from agentgov.ledger.outbox import OutboxRecorder, OutboxStore

__all__ = ["GateFactory", "build_gateway_group", "gateway", "make_gate", "opened_gate"]

T = TypeVar("T")
# The guard a gateway command asks, held open while the gateway runs and released when it stops.
GateFactory = Callable[[Any, Identity, GatewaySettings], AbstractContextManager[Gate]]
StoreFactory = Callable[[], PinStore]
F = TypeVar("F", bound=Callable[..., Any])


def make_gate(ctx_obj: Any, identity: Identity, settings: GatewaySettings) -> GuardGate:
    """The guard the gateway asks about every tool call, over the configured store.

    A gateway is never the ledger's writer: its decisions are committed to the ledger outbox before
    the call proceeds, and the writer (the server, or ``agentgov ledger sync``) appends them in order.
    Agent statuses follow lifecycle moves through the registry watcher (recall within two seconds);
    the watcher's thread is the gate's to stop: the caller closes the gate (or uses
    :func:`opened_gate`) once the gateway stops.
    """
    eng = engine()
    if current_revision(eng) != head_revision():
        raise Unavailable("the database is not at the latest migration: run `agentgov db upgrade` first")
    clock = SystemClock()
    runtime = open_guard(
        eng,
        clock,
        OutboxRecorder(OutboxStore(eng), clock),
        settings=GuardSettings(deployment=os.environ.get("AGENTGOV_POLICY_DEPLOYMENT") or None),
    )
    return GuardGate(runtime.guard, settings=settings, on_close=runtime.close)


def opened_gate(ctx_obj: Any, identity: Identity, settings: GatewaySettings) -> AbstractContextManager[Gate]:
    """:func:`make_gate`, closed when the ``with`` block ends, however it ends."""
    return closing(make_gate(ctx_obj, identity, settings))


def sql_pin_store() -> PinStore:
    return SqlPinStore(engine())


def _first_agentgov_error(group: BaseExceptionGroup[BaseException]) -> AgentGovError | None:
    for exc in group.exceptions:
        if isinstance(exc, AgentGovError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _first_agentgov_error(exc)
            if found is not None:
                return found
    return None


def _run(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main``; an AgentGovError inside a task group comes out as itself (one line on stderr)."""
    try:
        return anyio.run(main)
    except BaseExceptionGroup as group:
        cause = _first_agentgov_error(group)
        if cause is not None:
            raise cause from group
        raise


def _environment(entries: Sequence[str]) -> dict[str, str]:
    """``NAME`` passes the gateway's own variable to the upstream, ``NAME=VALUE`` sets one."""
    env: dict[str, str] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not name:
            raise InvalidInput(f"--env {entry!r}: expected NAME or NAME=VALUE", field="env")
        if sep:
            env[name] = value
        elif name in os.environ:
            env[name] = os.environ[name]
    return env


def _session_options(func: F) -> F:
    options = (
        click.option("--agent", "agent_id", required=True, help="The agent acting through the gateway."),
        click.option("--user", "user_id", required=True, help="The user the agent acts for."),
        click.option("--task", default=None, help="What the agent was asked to do, when known."),
        click.option("--server-name", default=None, help="Name the upstream's pins are kept under."),
        click.option(
            "--ask-wait",
            default=GatewaySettings.ask_wait_s,
            show_default=True,
            type=click.FloatRange(0, 600),
            help="Seconds a call waits for an approval decided elsewhere.",
        ),
        click.option(
            "--pin-on-first-use/--no-pin-on-first-use",
            default=True,
            show_default=True,
            help="Pin every tool of an upstream seen for the first time.",
        ),
        click.option("--forward-resources", is_flag=True, help="Pass resources through (unguarded)."),
        click.option("--forward-prompts", is_flag=True, help="Pass prompts through (unguarded)."),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _settings(
    ask_wait: float, pin_on_first_use: bool, forward_resources: bool, forward_prompts: bool
) -> GatewaySettings:
    return GatewaySettings(
        ask_wait_s=ask_wait,
        pin_on_first_use=pin_on_first_use,
        forward_resources=forward_resources,
        forward_prompts=forward_prompts,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_gateway_group(
    gate_factory: GateFactory = opened_gate, store_factory: StoreFactory = sql_pin_store
) -> click.Group:
    """The ``gateway`` command group, with the guard and pin store it is given."""

    @click.group()
    def gateway() -> None:
        """The MCP gateway: every tool call of an agent through the guard, every tool pinned."""

    @gateway.command(context_settings={"ignore_unknown_options": True})
    @_session_options
    @click.option(
        "--env",
        "env_entries",
        multiple=True,
        metavar="NAME[=VALUE]",
        help="Environment of the upstream (repeatable); it gets no other variable but PATH, HOME...",
    )
    @click.option(
        "--cwd", default=None, type=click.Path(file_okay=False, exists=True), help="Upstream's directory."
    )
    @click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
    @handle_errors
    def stdio(
        *,
        agent_id: str,
        user_id: str,
        task: str | None,
        server_name: str | None,
        ask_wait: float,
        pin_on_first_use: bool,
        forward_resources: bool,
        forward_prompts: bool,
        env_entries: tuple[str, ...],
        cwd: str | None,
        command: tuple[str, ...],
    ) -> None:
        """Serve one MCP client on stdin/stdout in front of the server started by COMMAND (after --)."""
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
        identity = Identity(agent_id, user_id, task)
        settings = _settings(ask_wait, pin_on_first_use, forward_resources, forward_prompts)
        upstream = stdio_upstream(command, name=server_name, env=_environment(env_entries), cwd=cwd)
        with gate_factory(click.get_current_context().obj, identity, settings) as gate:
            store = store_factory()
            freeze_startup_heap()  # no tool call pays for a full collection walking start-up objects
            _run(lambda: serve_stdio(upstream, gate=gate, identity=identity, store=store, settings=settings))

    @gateway.command()
    @click.option("--upstream", "url", required=True, help="The upstream's streamable HTTP URL.")
    @_session_options
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
    @click.option(
        "--allow-remote",
        is_flag=True,
        help="Listen on a non-loopback address (clients are not authenticated).",
    )
    @handle_errors
    def http(
        *,
        url: str,
        agent_id: str,
        user_id: str,
        task: str | None,
        server_name: str | None,
        ask_wait: float,
        pin_on_first_use: bool,
        forward_resources: bool,
        forward_prompts: bool,
        host: str,
        port: int,
        allow_remote: bool,
    ) -> None:
        """Serve MCP over streamable HTTP at http://HOST:PORT/mcp in front of the server at --upstream."""
        if not _is_loopback(host) and not allow_remote:
            raise InvalidInput(
                "the HTTP gateway does not authenticate its clients: listen on a loopback address, "
                "or pass --allow-remote behind an authenticating proxy",
                field="host",
            )
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
        identity = Identity(agent_id, user_id, task)
        settings = _settings(ask_wait, pin_on_first_use, forward_resources, forward_prompts)
        upstream = http_upstream(url, name=server_name)
        with gate_factory(click.get_current_context().obj, identity, settings) as gate:
            store = store_factory()
            info = _run(lambda: probe(upstream, settings))
            app, _pool = http_app(
                upstream, info, gate=gate, identity=identity, store=store, settings=settings, host=host
            )
            click.echo(f"agentgov gateway on http://{host}:{port}/mcp in front of {upstream.name}", err=True)
            freeze_startup_heap()
            uvicorn.run(app, host=host, port=port, log_level="warning")

    @gateway.group()
    def pins() -> None:
        """Tool pins: the approved definition of each tool of each upstream, and changes awaiting review."""

    @pins.command("list")
    @click.option("--server", default=None, help="Only this upstream.")
    @click.option("--pending", is_flag=True, help="Only tools awaiting approval.")
    @json_option
    @handle_errors
    def list_pins(server: str | None, pending: bool, as_json: bool) -> None:
        """Pinned tools and the changes awaiting approval."""
        rows = [r.to_dict() for r in store_factory().records(server, pending_only=pending)]
        emit(rows, as_json, lambda data: "\n".join(_line(r) for r in data) or "no pins")

    @pins.command("approve")
    @click.option("--server", required=True, help="The upstream's name.")
    @click.option("--digest", default=None, help="Approve only this definition (sha256:...), as reviewed.")
    @click.argument("tool")
    @json_option
    @handle_errors
    def approve(server: str, digest: str | None, tool: str, as_json: bool) -> None:
        """Pin the definition of TOOL awaiting approval; calls to it are then let through to the guard."""
        record = store_factory().approve(
            server, tool, by=LOCAL_ADMIN.key_id, at=SystemClock().now(), digest=digest
        )
        emit(record.to_dict(), as_json, _line)

    return gateway


def _line(r: dict[str, Any]) -> str:
    if r["observed_digest"] is not None:
        state = f"PENDING {str(r['observed_digest'])[:19]} (pinned {str(r['pinned_digest'])[:19]})"
    elif r["removed_at"] is not None:
        state = f"removed  {str(r['pinned_digest'])[:19]}"
    else:
        state = f"pinned   {str(r['pinned_digest'])[:19]} by {r['pinned_by']}"
    return f"{r['upstream']:<30} {r['tool']:<30} {state}"


gateway = build_gateway_group()
