"""Operations endpoints, OpenAPI, ETags and metrics."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from starlette.types import Message, Receive, Scope, Send

from agentgov.server.etag import ETagMiddleware
from tests.conftest import Api, declaration, org_doc

OPENAPI_SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_healthz_reports_the_store(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_is_generated_and_matches_the_committed_document(api: Api) -> None:
    document = api.client.get("/v1/openapi.json").json()
    assert "/v1/agents" in document["paths"]
    committed = json.loads(OPENAPI_SNAPSHOT.read_text(encoding="utf-8"))
    assert committed == document, "OpenAPI drifted: run `agentgov openapi > docs/openapi.json`"


def test_get_carries_etag_and_honours_if_none_match(api: Api) -> None:
    api.client.post("/v1/orgs", json=org_doc(), headers=api.auth("admin"))
    first = api.client.get("/v1/orgs/acme.example")
    etag = first.headers["etag"]
    assert etag.startswith('"')
    again = api.client.get("/v1/orgs/acme.example", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    api.add_developer("dev", "acme.example")
    api.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration()},
        headers=api.auth("dev"),
    )
    changed = api.client.get("/v1/agents", headers={"If-None-Match": etag, **api.auth("admin")})
    assert changed.status_code == 200


def test_metrics_expose_requests_and_registry_indicators(api: Api) -> None:
    api.client.post("/v1/orgs", json=org_doc(), headers=api.auth("admin"))
    api.add_developer("dev", "acme.example")
    api.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration()},
        headers=api.auth("dev"),
    )
    text = api.client.get("/metrics").text
    assert 'agentgov_agents{status="filed"} 1.0' in text
    assert "agentgov_organisations 1.0" in text
    assert 'agentgov_http_requests_total{method="POST",route="/v1/orgs",status="201"} 1.0' in text


def test_event_streams_are_not_buffered_for_etags() -> None:
    sent: list[Message] = []

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"], (
            "first event held back"
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def record(message: Message) -> None:
        sent.append(message)

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    scope: Scope = {"type": "http", "method": "GET", "headers": [], "path": "/events"}
    asyncio.run(ETagMiddleware(stream)(scope, nothing, record))
    assert len(sent) == 3
    assert all(name != b"etag" for name, _ in sent[0]["headers"])


def test_one_version_is_read_by_number_and_a_missing_one_is_404(api: Api) -> None:
    api.client.post("/v1/orgs", json=org_doc(), headers=api.auth("admin"))
    api.add_developer("dev", "acme.example")
    made = api.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration()},
        headers=api.auth("dev"),
    ).json()
    again = api.client.post(
        f"/v1/agents/{made['id']}/versions",
        json={"declaration": declaration(description="Second version.")},
        headers=api.auth("dev"),
    ).json()
    first = api.client.get(f"/v1/agents/{made['id']}/versions/1", headers=api.auth("dev")).json()
    second = api.client.get(f"/v1/agents/{made['id']}/versions/2", headers=api.auth("dev")).json()
    assert (first["digest"], second["digest"]) == (made["digest"], again["digest"])
    assert second["prev_digest"] == first["digest"]
    missing = api.client.get(f"/v1/agents/{made['id']}/versions/9", headers=api.auth("dev"))
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
