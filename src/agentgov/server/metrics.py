"""Prometheus metrics: request counts and latency, and registry indicators (Art. 4 monitoring)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentgov.db.tables import agents, organisations

__all__ = ["MetricsMiddleware", "RegistryCollector", "new_registry"]


class RegistryCollector(Collector):
    """Agents by status and protocol, organisations: read at scrape time, never cached."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        by_status = GaugeMetricFamily(
            "agentgov_agents", "Agents in the registry by lifecycle status", labels=["status"]
        )
        orgs = GaugeMetricFamily("agentgov_organisations", "Organisations in the registry")
        up = GaugeMetricFamily("agentgov_store_up", "1 when the store answered the scrape")
        try:
            with self.engine.connect() as conn:
                for status, count in conn.execute(
                    select(agents.c.status, func.count()).group_by(agents.c.status)
                ):
                    by_status.add_metric([status], count)
                orgs.add_metric(
                    [], conn.execute(select(func.count()).select_from(organisations)).scalar_one()
                )
            up.add_metric([], 1)
        except SQLAlchemyError:
            up.add_metric([], 0)
        yield by_status
        yield orgs
        yield up


def new_registry(engine: Engine) -> tuple[CollectorRegistry, Counter, Histogram]:
    registry = CollectorRegistry()
    requests = Counter(
        "agentgov_http_requests",
        "HTTP requests by route and status",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram("agentgov_http_request_seconds", "HTTP request latency", ["route"], registry=registry)
    registry.register(RegistryCollector(engine))
    return registry, requests, latency


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", "unmatched")
            self.requests.labels(scope["method"], name, str(status)).inc()
            self.latency.labels(name).observe(time.perf_counter() - started)
