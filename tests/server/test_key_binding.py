"""An agent key is bound only by proof of possession."""

from __future__ import annotations

from datetime import timedelta

from agentgov.core.clock import FixedClock, isoformat_z
from agentgov.core.keys import Ed25519Signer
from agentgov.identity.didkey import did_key_from_public, sign_possession
from tests.conftest import Api, declaration, org_doc

AGENT = "urn:agent:acme.example:clinic"


def _ready(api: Api) -> None:
    api.client.post("/v1/orgs", json=org_doc(), headers=api.auth("admin"))
    api.add_developer("dev", "acme.example")
    made = api.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration()},
        headers=api.auth("dev"),
    )
    assert made.status_code == 201


def test_key_bound_by_proof_of_possession(api: Api, clock: FixedClock) -> None:
    _ready(api)
    signer = Ed25519Signer.generate()
    timestamp = isoformat_z(clock.now())
    did, signature = sign_possession(signer, AGENT, timestamp)
    response = api.client.put(
        f"/v1/agents/{AGENT}/key",
        json={"did": did, "timestamp": timestamp, "signature": signature},
        headers=api.auth("dev"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["agent_key"] == did


def test_key_claimed_without_holding_it_is_refused(api: Api, clock: FixedClock) -> None:
    _ready(api)
    victim = did_key_from_public(Ed25519Signer.generate().public_key_bytes())
    timestamp = isoformat_z(clock.now())
    _, signature = sign_possession(Ed25519Signer.generate(), AGENT, timestamp)
    response = api.client.put(
        f"/v1/agents/{AGENT}/key",
        json={"did": victim, "timestamp": timestamp, "signature": signature},
        headers=api.auth("dev"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_signature"
    assert api.client.get(f"/v1/agents/{AGENT}", headers=api.auth("dev")).json()["agent_key"] is None


def test_proof_for_another_agent_is_refused(api: Api, clock: FixedClock) -> None:
    _ready(api)
    timestamp = isoformat_z(clock.now())
    did, signature = sign_possession(Ed25519Signer.generate(), "urn:agent:acme.example:other", timestamp)
    response = api.client.put(
        f"/v1/agents/{AGENT}/key",
        json={"did": did, "timestamp": timestamp, "signature": signature},
        headers=api.auth("dev"),
    )
    assert response.json()["code"] == "invalid_signature"


def test_old_proof_is_refused(api: Api, clock: FixedClock) -> None:
    _ready(api)
    timestamp = isoformat_z(clock.now())
    did, signature = sign_possession(Ed25519Signer.generate(), AGENT, timestamp)
    clock.advance(timedelta(hours=1))
    response = api.client.put(
        f"/v1/agents/{AGENT}/key",
        json={"did": did, "timestamp": timestamp, "signature": signature},
        headers=api.auth("dev"),
    )
    assert response.json()["code"] == "invalid_signature"
