"""The FastAPI app factory: one app serves the API, the well-known documents and the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

import agentgov
from agentgov.approvals.settings import ApprovalSettings
from agentgov.core.clock import Clock, SystemClock
from agentgov.core.heap import freeze_startup_heap, thaw_startup_heap
from agentgov.db.engine import make_engine
from agentgov.errors import Unavailable
from agentgov.identity.dns import DnsTxtResolver
from agentgov.identity.domain_proof import HttpFetcher, TxtResolver
from agentgov.identity.fetch import SafeHttpFetcher
from agentgov.identity.keystore import KeyStore
from agentgov.ledger.outbox import OutboxDrain, OutboxStore, recorder_for
from agentgov.ledger.service import LedgerService
from agentgov.policy.store import MemoryRecorder, Recorder
from agentgov.registry.recording import PendingSweep, RegistryRecorder
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from agentgov.server import console, routes_agents, routes_formats, routes_keys, routes_ledger, routes_orgs
from agentgov.server.deps import Services
from agentgov.server.etag import ETagMiddleware
from agentgov.server.metrics import MetricsMiddleware, new_registry
from agentgov.server.problems import BodyLimitMiddleware, install_problem_handlers
from agentgov.server.routes_authority import install_authority
from agentgov.server.settings import ServerSettings

__all__ = ["create_app"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    freeze_startup_heap()  # no request pays for a full collection walking the start-up objects
    yield
    thaw_startup_heap()
    for close in app.state.on_shutdown:
        close()


def _default_resolver() -> TxtResolver | None:
    try:
        return DnsTxtResolver()
    except Unavailable:
        return None  # DNS proofs then answer 503 with the reason; HTTP proofs still work


def create_app(
    engine: Engine | None = None,
    *,
    clock: Clock | None = None,
    settings: ServerSettings | None = None,
    fetcher: HttpFetcher | None = None,
    resolver: TxtResolver | None = None,
    ledger: LedgerService | None = None,
) -> FastAPI:
    """Build the app over ``engine`` (default: the configured database). Migrations are not run here.

    ``fetcher`` and ``resolver`` serve domain-control proofs; by default the SSRF-safe HTTPS fetcher and
    the system's DNS resolver.
    """
    engine = engine or make_engine()
    clock = clock or SystemClock()
    settings = settings or ServerSettings()
    app = FastAPI(
        lifespan=_lifespan,
        title="agentgov",
        version=agentgov.__version__,
        summary="Governance platform for AI agents: registry, authority, guard, verifiable record.",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    app.state.on_shutdown = []  # callables run once when the server stops
    registry_store = RegistryStore(engine)
    recorder = None
    if ledger is not None and ledger.started:
        # Art. 7: versions and lifecycle moves go on the record; the sweep catches up what a crash or
        # another process (the CLI) left unrecorded. It stops before the ledger closes.
        recorder = RegistryRecorder(registry_store, ledger)
        app.state.on_shutdown.append(PendingSweep(recorder, settings.record_sweep_s).start().stop)
    app.state.services = Services(
        registry=RegistryService(
            registry_store,
            clock,
            fetcher=fetcher or SafeHttpFetcher(),
            resolver=resolver or _default_resolver(),
            recorder=recorder,
        ),
        keys=KeyStore(engine, clock),
        clock=clock,
        settings=settings,
        ledger=ledger,
    )
    install_problem_handlers(app)
    for router in (
        routes_keys.router,
        routes_orgs.router,
        routes_formats.router,
        routes_ledger.router,
        routes_agents.router,
        console.router,
    ):
        app.include_router(router)

    # Art. 6: grants, decisions, approvals, right to know. Art. 7: each of their events goes on the
    # record: straight into the log in the writer process, through the outbox in a replica. Without a
    # ledger (tests, the OpenAPI export) they are kept in memory.
    action_recorder: Recorder = MemoryRecorder() if ledger is None else recorder_for(engine, ledger, clock)
    if ledger is not None and ledger.started:
        app.state.on_shutdown.append(OutboxDrain(OutboxStore(engine), ledger).start().stop)
    authority = install_authority(
        app, engine, clock=clock, recorder=action_recorder, approval_settings=ApprovalSettings.from_env()
    )

    app.state.on_shutdown.append(authority.approvals.notifier.close)
    app.state.on_shutdown.append(authority.authority.store.close)

    registry, requests, latency = new_registry(engine)

    @app.get("/healthz", tags=["operations"], summary="Liveness and store reachability")
    def healthz(response: Response) -> dict[str, str]:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            response.status_code = 503
            return {"status": "unavailable", "store": "unreachable"}
        return {"status": "ok", "store": engine.dialect.name}

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(ETagMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, requests=requests, latency=latency)
    return app
