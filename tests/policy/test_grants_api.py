"""Grants over the API: a user delegates only for themself; bad grants are refused with a clear
problem+json and nothing stored; signed grants are checked against the user's registered key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock, isoformat_z
from agentgov.core.keys import Ed25519Signer, b64url
from agentgov.core.validation import validate_model
from agentgov.policy import Grant, sign_grant
from tests.policy.authority_helpers import AuthorityApi, activate, count, grant_doc, request


@pytest.fixture
def api(sqlite_engine: Engine, clock: FixedClock) -> AuthorityApi:
    made = AuthorityApi(sqlite_engine, clock)
    activate(made.services)
    return made


def _post(api: AuthorityApi, who: str, body: dict[str, Any]) -> Any:
    return api.client.post("/v1/grants", json=body, headers=api.auth(who))


def _decide(api: AuthorityApi, clock: FixedClock, **kw: Any) -> str:
    body = {"request": request(clock, "pay", **kw).model_dump(mode="json")}
    response = api.client.post("/v1/decisions", json=body, headers=api.auth("admin"))
    assert response.status_code == 200, response.text
    effect: str = response.json()["decision"]["applied_effect"]
    return effect


def test_user_grants_lists_and_revokes_with_immediate_effect(api: AuthorityApi, clock: FixedClock) -> None:
    assert _decide(api, clock, amount=5, to="bob") == "ask"
    made = _post(api, "alice", {"grant": grant_doc(clock, purpose="rent")})
    assert made.status_code == 201, made.text
    grant = made.json()
    assert grant["status"] == "live"
    assert grant["authenticated_by"] == "api_key"
    assert grant["digest"] == validate_model(Grant, grant["grant"]).digest()
    assert _decide(api, clock, amount=5, to="bob") == "allow"
    mine = api.client.get("/v1/grants", headers=api.auth("alice")).json()
    assert [g["id"] for g in mine] == [grant["id"]]
    assert api.client.get("/v1/grants", headers=api.auth("bob")).json() == []
    assert api.client.get(f"/v1/grants/{grant['id']}", headers=api.auth("bob")).status_code == 404
    assert len(api.client.get("/v1/grants?user=alice", headers=api.auth("regulator")).json()) == 1
    revoked = api.client.post(f"/v1/grants/{grant['id']}/revoke", json={}, headers=api.auth("alice"))
    assert revoked.json()["status"] == "revoked"
    assert _decide(api, clock, amount=5, to="bob") == "ask"
    assert api.client.get("/v1/grants?live=true", headers=api.auth("alice")).json() == []


def test_a_user_cannot_grant_for_another_user_nor_an_admin_for_anyone(
    api: AuthorityApi, clock: FixedClock
) -> None:
    for who in ("bob", "admin", "regulator"):
        response = _post(api, who, {"grant": grant_doc(clock)})  # the grantor is alice
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert api.client.post("/v1/grants", json={"grant": grant_doc(clock)}).status_code == 401
    assert count(api.engine, "grants") == 0
    assert "authority.grant.created" not in api.recorder.kinds()


_BAD = [
    ({"agent_id": None}, (422, "invalid_input", "agent_id")),
    ({"venues": ["moon"]}, (422, "invalid_input", "venues.0")),
    ({"actions": []}, (422, "invalid_input", "actions")),
    ({"constraints": [{"op": "pattern", "argument": "to", "regex": "(a+)+$"}]}, (422, "invalid_input", None)),
    ({"constraints": [{"op": "equals", "argument": "iban", "value": "x"}]}, (422, "unknown_argument", None)),
    ({"actions": [{"tool": "set_password", "server": "srv"}]}, (403, "grant_covers_user_only", "actions")),
    (
        {"expires_at": "2020-01-01T00:00:00Z", "not_before": "2019-12-01T00:00:00Z"},
        (422, "invalid_input", None),
    ),
    ({"expires_at": "2026-11-21T10:00:00"}, (422, "invalid_input", "expires_at")),
]


@pytest.mark.parametrize(("change", "expected"), _BAD)
def test_bad_grant_is_refused_with_problem_json_and_nothing_stored(
    api: AuthorityApi, clock: FixedClock, change: dict[str, Any], expected: tuple[int, str, str | None]
) -> None:
    status, code, field = expected
    doc = {k: v for k, v in {**grant_doc(clock), **change}.items() if v is not None}
    response = _post(api, "alice", {"grant": doc})
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == code
    if field is not None:
        assert problem["field"] == field
    assert count(api.engine, "grants") == 0


def test_unparsable_body_is_a_problem_and_stores_nothing(api: AuthorityApi) -> None:
    response = api.client.post(
        "/v1/grants", content=b"{not json", headers={**api.auth("alice"), "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    assert count(api.engine, "grants") == 0


def test_signed_grant_is_checked_against_the_users_registered_key(
    api: AuthorityApi, clock: FixedClock
) -> None:
    signer = Ed25519Signer.generate()
    grant = validate_model(Grant, {"id": "g-signed", **grant_doc(clock)})
    signed = sign_grant(grant, signer).model_dump(mode="json")
    unknown = _post(api, "alice", signed)
    assert unknown.json()["code"] == "invalid_signature"  # no key registered: cannot be checked
    key = api.client.put(
        "/v1/me/signing-key",
        json={"public_key": b64url(signer.public_key_bytes())},
        headers=api.auth("alice"),
    )
    assert key.status_code == 200, key.text
    assert (
        api.client.get("/v1/me/signing-key", headers=api.auth("alice")).json()["did"].startswith("did:key:z")
    )
    tampered = {**signed, "grant": {**signed["grant"], "agent_id": "agent-evil"}}
    assert _post(api, "alice", tampered).json()["code"] == "invalid_signature"
    assert count(api.engine, "grants") == 0
    made = _post(api, "alice", signed)
    assert made.status_code == 201, made.text
    assert made.json()["authenticated_by"] == "signature"
    assert made.json()["signature"] == signed["signature"]
    assert _post(api, "alice", signed).status_code == 409  # ids are never reused


def test_decisions_need_an_admin_and_refuse_an_unknown_venue(api: AuthorityApi, clock: FixedClock) -> None:
    body = {"request": request(clock, "look").model_dump(mode="json")}
    assert api.client.post("/v1/decisions", json=body, headers=api.auth("alice")).status_code == 403
    body["request"]["context"]["venue"] = "moon"
    response = api.client.post("/v1/decisions", json=body, headers=api.auth("admin"))
    assert response.status_code == 422
    assert response.json()["field"] == "request.context.venue"
    assert count(api.engine, "decisions") == 0
    body["request"]["context"] = {"venue": "private", "time": isoformat_z(clock.now() + timedelta(days=1))}
    assert (
        api.client.post("/v1/decisions", json=body, headers=api.auth("admin")).json()["field"]
        == "context.time"
    )
    assert count(api.engine, "decisions") == 0
