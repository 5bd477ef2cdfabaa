"""Domain control over the API: a developer proves its organisation's domain by HTTP or DNS."""

from __future__ import annotations

import base64
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock, isoformat_z
from agentgov.core.keys import Ed25519Signer
from agentgov.identity.dns import StaticTxtResolver
from agentgov.identity.fetch import StaticHttpFetcher
from agentgov.identity.keystore import KeyStore
from agentgov.server.app import create_app
from tests.conftest import org_doc

SIGNER = Ed25519Signer.generate()
RECORD = "v=MCPv1; k=ed25519; p=" + base64.b64encode(SIGNER.public_key_bytes()).decode()


def _client(engine: Engine, clock: FixedClock) -> tuple[TestClient, dict[str, str]]:
    app = create_app(
        engine,
        clock=clock,
        fetcher=StaticHttpFetcher({"https://acme.example/.well-known/mcp-registry-auth": RECORD.encode()}),
        resolver=StaticTxtResolver({"acme.example": ["v=spf1 -all", RECORD]}),
    )
    client = TestClient(app)
    keys = KeyStore(engine, clock)
    admin = {"Authorization": f"Bearer {keys.create('admin').key}"}
    assert client.post("/v1/orgs", json=org_doc(), headers=admin).status_code == 201
    dev = {"Authorization": f"Bearer {keys.create('developer', org='acme.example').key}"}
    return client, dev


def _proof(clock: FixedClock, method: str, signer: Ed25519Signer = SIGNER) -> dict[str, str]:
    timestamp = isoformat_z(clock.now())
    return {"method": method, "timestamp": timestamp, "signature": signer.sign(timestamp.encode()).hex()}


def test_http_proof_marks_the_domain_verified(sqlite_engine: Engine, clock: FixedClock) -> None:
    client, dev = _client(sqlite_engine, clock)
    response = client.post("/v1/orgs/acme.example/domain-proof", json=_proof(clock, "http"), headers=dev)
    assert response.status_code == 200, response.text
    org = response.json()
    assert org["domain_verified"] is True
    assert org["domain_proof"]["method"] == "http"
    assert org["domain_proof"]["public_key"] == RECORD.rsplit("p=", 1)[1]


def test_dns_proof_marks_the_domain_verified(sqlite_engine: Engine, clock: FixedClock) -> None:
    client, dev = _client(sqlite_engine, clock)
    response = client.post("/v1/orgs/acme.example/domain-proof", json=_proof(clock, "dns"), headers=dev)
    assert response.status_code == 200, response.text
    assert response.json()["domain_proof"]["method"] == "dns"


def test_proof_signed_by_an_unpublished_key_is_refused(sqlite_engine: Engine, clock: FixedClock) -> None:
    client, dev = _client(sqlite_engine, clock)
    response = client.post(
        "/v1/orgs/acme.example/domain-proof",
        json=_proof(clock, "http", Ed25519Signer.generate()),
        headers=dev,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "verification_failed"
    assert client.get("/v1/orgs/acme.example").json()["domain_verified"] is False


def test_stale_proof_is_refused(sqlite_engine: Engine, clock: FixedClock) -> None:
    client, dev = _client(sqlite_engine, clock)
    proof = _proof(clock, "dns")
    clock.advance(timedelta(minutes=30))
    response = client.post("/v1/orgs/acme.example/domain-proof", json=proof, headers=dev)
    assert response.status_code == 422
    assert response.json()["code"] == "verification_failed"
