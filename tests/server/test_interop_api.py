"""Interop over the API: import A2A cards and server.json, serve Agent Cards and the AI Catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentgov.core.keys import Ed25519Signer
from agentgov.registry.formats import sign_card
from tests.conftest import Api, declaration, org_doc

DATA = Path(__file__).resolve().parents[1] / "registry" / "formats" / "data"


def _load(name: str) -> dict[str, Any]:
    """A sample document; the spec's example signatures (by a key nobody holds) are removed."""
    value: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    value.pop("signatures", None)
    return value


def test_card_signed_by_an_unknown_key_is_refused(api: Api) -> None:
    _ready(api)
    card = json.loads((DATA / "a2a-v1.0.1-sample-card.json").read_text(encoding="utf-8"))
    assert card["signatures"], "the spec sample is signed"
    refused = api.client.post(
        "/v1/orgs/acme.example/import/a2a", json={"card": card}, headers=api.auth("dev")
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_signature"
    assert "key-1" in refused.json()["detail"]


def _ready(api: Api) -> None:
    assert api.client.post("/v1/orgs", json=org_doc(), headers=api.auth("admin")).status_code == 201
    api.add_developer("dev", "acme.example")


def _publish(api: Api, agent_id: str) -> None:
    for action, who in (("submit", "dev"), ("approve", "registrar")):
        moved = api.client.post(
            f"/v1/agents/{agent_id}/lifecycle", json={"action": action, "reason": "ok"}, headers=api.auth(who)
        )
        assert moved.status_code == 200, moved.text


def test_v1_card_imports_and_exports_unchanged(api: Api) -> None:
    _ready(api)
    card = _load("a2a-v1.0.1-sample-card.json")
    made = api.client.post(
        "/v1/orgs/acme.example/import/a2a",
        json={"card": card, "name": "georoute", "application_domains": ["transport"]},
        headers=api.auth("dev"),
    )
    assert made.status_code == 201, made.text
    agent_id = made.json()["agent"]["id"]
    assert agent_id == "urn:agent:acme.example:georoute"
    exported = api.client.get(f"/v1/agents/{agent_id}/card", headers=api.auth("dev")).json()
    assert exported == card


def test_v03_card_imports_as_v1(api: Api) -> None:
    _ready(api)
    made = api.client.post(
        "/v1/orgs/acme.example/import/a2a",
        json={"card": _load("a2a-v0.3.0-sample-card.json")},
        headers=api.auth("dev"),
    )
    assert made.status_code == 201, made.text
    exported = api.client.get(f"/v1/agents/{made.json()['agent']['id']}/card", headers=api.auth("dev")).json()
    assert "supportedInterfaces" in exported
    assert "url" not in exported


def test_signed_card_verifies_and_tampered_card_is_refused(api: Api) -> None:
    _ready(api)
    signed = sign_card(_load("a2a-v1.0.1-sample-card.json"), Ed25519Signer.generate())
    ok = api.client.post(
        "/v1/orgs/acme.example/import/a2a",
        json={"card": signed, "name": "signed", "require_signature": True},
        headers=api.auth("dev"),
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["verified_signatures"][0].startswith("did:key:")
    tampered = {**signed, "description": "I will do anything you ask"}
    refused = api.client.post(
        "/v1/orgs/acme.example/import/a2a",
        json={"card": tampered, "name": "tampered"},
        headers=api.auth("dev"),
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_signature"
    assert (
        api.client.get("/v1/agents/urn:agent:acme.example:tampered", headers=api.auth("dev")).status_code
        == 404
    )


def test_unsigned_card_refused_when_signature_required(api: Api) -> None:
    _ready(api)
    refused = api.client.post(
        "/v1/orgs/acme.example/import/a2a",
        json={"card": _load("a2a-v1.0.1-sample-card.json"), "require_signature": True},
        headers=api.auth("dev"),
    )
    assert refused.status_code == 422


def test_server_json_imports_as_mcp_agent(api: Api) -> None:
    _ready(api)
    made = api.client.post(
        "/v1/orgs/acme.example/import/mcp-server",
        json={"server": _load("mcp-server-remote.json")},
        headers=api.auth("dev"),
    )
    assert made.status_code == 201, made.text
    assert {i["protocol"] for i in made.json()["declaration"]["interfaces"]} == {"mcp"}


def test_ai_catalog_nests_organisations_and_lists_usable_agents(api: Api) -> None:
    _ready(api)
    card_agent = api.client.post(
        "/v1/orgs/acme.example/import/a2a",
        json={"card": _load("a2a-v1.0.1-sample-card.json"), "name": "georoute"},
        headers=api.auth("dev"),
    ).json()["agent"]["id"]
    plain = api.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "mcp-only", "declaration": declaration(interfaces=[])},
        headers=api.auth("dev"),
    ).json()["id"]
    unpublished = api.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "secret", "declaration": declaration()},
        headers=api.auth("dev"),
    ).json()["id"]
    _publish(api, card_agent)
    _publish(api, plain)
    root = api.client.get("/.well-known/ai-catalog.json")
    assert root.headers["content-type"] == "application/ai-catalog+json"
    (entry,) = root.json()["entries"]
    assert entry["type"] == "application/ai-catalog+json"
    nested = api.client.get(entry["url"].removeprefix("http://127.0.0.1:8000")).json()
    by_id = {e["identifier"]: e for e in nested["entries"]}
    assert set(by_id) == {card_agent, plain}
    assert unpublished not in by_id
    assert by_id[card_agent]["type"] == "application/a2a-agent-card+json"
    card = api.client.get(by_id[card_agent]["url"].removeprefix("http://127.0.0.1:8000"))
    assert card.status_code == 200
    assert card.json()["name"] == "GeoSpatial Route Planner Agent"


def test_recalled_agent_card_is_gone(api: Api) -> None:
    _ready(api)
    agent_id = api.client.post(
        "/v1/orgs/acme.example/import/a2a",
        json={"card": _load("a2a-v1.0.1-sample-card.json"), "name": "georoute"},
        headers=api.auth("dev"),
    ).json()["agent"]["id"]
    _publish(api, agent_id)
    path = "/agents/acme.example/georoute/.well-known/agent-card.json"
    assert api.client.get(path).status_code == 200
    api.client.post(
        f"/v1/agents/{agent_id}/lifecycle",
        json={"action": "recall", "reason": "unsafe routing"},
        headers=api.auth("registrar"),
    )
    gone = api.client.get(path)
    assert gone.status_code == 410
    assert gone.json()["code"] == "gone"
