"""The gateway over streamable HTTP: many downstream sessions at ``/mcp``, each with its own upstream
session and guard session.

Downstream sessions are told apart by their ``Mcp-Session-Id``. A session's upstream connection opens on
its first request after the handshake and closes when the client deletes the session, when it has been
idle for ``http_session_idle_s``, or when the gateway stops. Each connection lives in a task of its own
(the SDK's client sessions must be closed by the task that opened them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR, INVALID_REQUEST, InitializeResult
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentgov.core.clock import Clock
from agentgov.errors import AgentGovError
from agentgov.gateway.pin_store import PinStore
from agentgov.gateway.port import Gate
from agentgov.gateway.server import Context, build_server
from agentgov.gateway.session import GatewaySession, Identity, open_session
from agentgov.gateway.settings import GatewaySettings
from agentgov.gateway.upstream import Upstream, connect

__all__ = ["MCP_PATH", "SessionPool", "http_app", "probe"]

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
_SESSION_HEADER = "mcp-session-id"


@dataclass(eq=False)
class _Slot:
    key: str
    session: GatewaySession | None = None
    active: int = 0
    last_used: float = 0.0
    ready: anyio.Event = field(default_factory=anyio.Event)
    closing: anyio.Event = field(default_factory=anyio.Event)
    closed: anyio.Event = field(default_factory=anyio.Event)


class SessionPool:
    def __init__(
        self,
        opener: Callable[[], AbstractAsyncContextManager[GatewaySession]],
        settings: GatewaySettings,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._opener = opener
        self._settings = settings
        self._now = monotonic
        self._slots: dict[str, _Slot] = {}
        self._tg: anyio.abc.TaskGroup | None = None
        self._stop = anyio.Event()

    def __len__(self) -> int:
        return len(self._slots)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._reap)
            try:
                yield
            finally:
                self._stop.set()
                for slot in list(self._slots.values()):
                    slot.closing.set()
                self._tg = None

    @asynccontextmanager
    async def use(self, key: str) -> AsyncIterator[GatewaySession]:
        """The session of ``key``, opened on first use, kept open while a request uses it."""
        slot = await self._slot(key)
        if slot.session is None or slot.closing.is_set():
            raise MCPError(INTERNAL_ERROR, "the gateway session is not open")
        slot.active += 1
        try:
            yield slot.session
        finally:
            slot.active -= 1
            slot.last_used = self._now()

    async def close(self, key: str) -> None:
        slot = self._slots.get(key)
        if slot is not None:
            slot.closing.set()
            await slot.closed.wait()

    async def _slot(self, key: str) -> _Slot:
        slot = self._slots.get(key)
        if slot is not None:
            await slot.ready.wait()
            return slot
        if self._tg is None:
            raise MCPError(INTERNAL_ERROR, "the gateway is not running")
        slot = _Slot(key, last_used=self._now())
        self._slots[key] = slot
        try:
            await self._tg.start(self._hold, slot)
        except BaseException as exc:
            self._slots.pop(key, None)
            if isinstance(exc, AgentGovError):
                raise MCPError(INTERNAL_ERROR, exc.detail) from exc
            raise
        finally:
            slot.ready.set()
        return slot

    async def _hold(self, slot: _Slot, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        started = False
        try:
            async with self._opener() as session:
                slot.session = session
                task_status.started()
                started = True
                await slot.closing.wait()
                self._forget(slot)  # no request finds it while it closes
        except Exception:
            if not started:
                raise
            logger.exception("gateway session %s ended with an error", slot.key[:8])
        finally:
            self._forget(slot)
            slot.closed.set()

    def _forget(self, slot: _Slot) -> None:
        if self._slots.get(slot.key) is slot:
            del self._slots[slot.key]

    async def _reap(self) -> None:
        while not self._stop.is_set():
            with anyio.move_on_after(self._settings.http_reap_interval_s):
                await self._stop.wait()
            horizon = self._now() - self._settings.http_session_idle_s
            for slot in list(self._slots.values()):
                if slot.active == 0 and slot.last_used < horizon:
                    slot.closing.set()


def _session_key(ctx: Context) -> str:
    request = ctx.request
    key = request.headers.get(_SESSION_HEADER) if isinstance(request, Request) else None
    if not key:
        raise MCPError(INVALID_REQUEST, "no MCP session: initialize first")
    return key


class _CloseOnDelete:
    """Closes the gateway session of a downstream session the client deleted (HTTP DELETE)."""

    def __init__(self, app: ASGIApp, pool: SessionPool) -> None:
        self._app = app
        self._pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "DELETE":
            await self._app(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self._app(scope, receive, watch)
        key = Headers(scope=scope).get(_SESSION_HEADER)
        if key and 200 <= status < 400:
            await self._pool.close(key)


async def probe(upstream: Upstream, settings: GatewaySettings) -> InitializeResult:
    """What the upstream offers (its initialize result), to build the server before any client comes."""
    async with connect(upstream, settings) as (_client, _link, info):
        return info


def http_app(
    upstream: Upstream,
    info: InitializeResult,
    *,
    gate: Gate,
    identity: Identity,
    store: PinStore,
    settings: GatewaySettings,
    host: str = "127.0.0.1",
    clock: Clock | None = None,
) -> tuple[ASGIApp, SessionPool]:
    """The ASGI app serving the gateway at ``/mcp``, and its pool of sessions."""
    pool = SessionPool(
        lambda: open_session(
            upstream, gate=gate, identity=identity, store=store, settings=settings, clock=clock
        ),
        settings,
    )

    def scope(ctx: Context) -> AbstractAsyncContextManager[GatewaySession]:
        return pool.use(_session_key(ctx))

    def lifespan(_server: Any) -> AbstractAsyncContextManager[None]:
        return pool.running()

    server, _options = build_server(info, scope, settings, lifespan=lifespan)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=host,
        max_request_body_size=settings.max_request_bytes,
        session_idle_timeout=settings.http_session_idle_s,
        max_sessions=settings.http_max_sessions,
    )
    return _CloseOnDelete(app, pool), pool
