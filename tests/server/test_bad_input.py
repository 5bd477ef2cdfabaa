"""Bad input, as a new user would send it: a clear problem+json, and nothing stored."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from agentgov.db.tables import agent_versions, agents, lifecycle_events, organisations
from tests.conftest import Api, declaration, org_doc


def _counts(api: Api) -> tuple[int, ...]:
    with api.engine.connect() as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (organisations, agents, agent_versions, lifecycle_events)
        )


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["detail"]
    assert body["type"].endswith(code) or body["type"] == "about:blank"
    return body


@pytest.fixture
def ready(api: Api) -> Api:
    created = api.client.post("/v1/orgs", json=org_doc(), headers=api.auth("admin"))
    assert created.status_code == 201, created.text
    api.add_developer("dev", "acme.example")
    return api


def test_malformed_json_is_a_400_problem(ready: Api) -> None:
    before = _counts(ready)
    response = ready.client.post(
        "/v1/orgs/acme.example/agents",
        content=b'{"name": "x", "declaration": {',
        headers={**ready.auth("dev"), "content-type": "application/json"},
    )
    _problem(response, 400, "malformed")
    assert _counts(ready) == before


def test_oversize_body_is_a_413_problem(ready: Api) -> None:
    before = _counts(ready)
    huge = declaration(description="x" * (2 * 1024 * 1024))
    response = ready.client.post(
        "/v1/orgs/acme.example/agents", json={"name": "big", "declaration": huge}, headers=ready.auth("dev")
    )
    body = _problem(response, 413, "too_large")
    assert "1048576" in body["detail"]
    assert _counts(ready) == before


def test_wrong_check_character_is_refused_with_its_position(ready: Api) -> None:
    before = _counts(ready)
    doc = org_doc("beta.example", "91310115MA1H7XYW24")
    body = _problem(
        ready.client.post("/v1/orgs", json=doc, headers=ready.auth("admin")), 422, "invalid_identifier"
    )
    assert "check character" in body["detail"]
    assert "'3'" in body["detail"]
    assert _counts(ready) == before


def test_unknown_enum_value_names_field_and_allowed_values(ready: Api) -> None:
    before = _counts(ready)
    response = ready.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration(deployment={"mode": "satellite"})},
        headers=ready.auth("dev"),
    )
    body = _problem(response, 422, "invalid_input")
    assert body["field"] == "deployment.mode"
    assert "cloud" in body["detail"]
    assert _counts(ready) == before


def test_duplicate_name_is_a_409_problem(ready: Api) -> None:
    first = ready.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration()},
        headers=ready.auth("dev"),
    )
    assert first.status_code == 201
    before = _counts(ready)
    again = ready.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration()},
        headers=ready.auth("dev"),
    )
    body = _problem(again, 409, "conflict")
    assert "already exists" in body["detail"]
    assert _counts(ready) == before


def test_duplicate_organisation_is_a_409_problem(ready: Api) -> None:
    before = _counts(ready)
    doc = org_doc("acme.example", "91310115MA1H7XYW23", name="Acme again")
    _problem(ready.client.post("/v1/orgs", json=doc, headers=ready.auth("admin")), 409, "conflict")
    assert _counts(ready) == before


def test_missing_sponsor_is_refused(ready: Api) -> None:
    doc = {**org_doc("beta.example", "91310115MA1H7XYW23"), "sponsors": []}
    body = _problem(
        ready.client.post("/v1/orgs", json=doc, headers=ready.auth("admin")), 422, "invalid_input"
    )
    assert body["field"] == "sponsors"


def test_bad_agent_name_is_refused(ready: Api) -> None:
    response = ready.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "Bad Name!", "declaration": declaration()},
        headers=ready.auth("dev"),
    )
    assert _problem(response, 422, "invalid_input")["field"] == "name"


def test_illegal_move_is_a_409_with_its_code(ready: Api) -> None:
    agent = ready.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration()},
        headers=ready.auth("dev"),
    ).json()
    before = _counts(ready)
    response = ready.client.post(
        f"/v1/agents/{agent['id']}/lifecycle",
        json={"action": "suspend", "reason": "x"},
        headers=ready.auth("registrar"),
    )
    body = _problem(response, 409, "illegal_transition")
    assert body["current"] == "filed"
    assert _counts(ready) == before


def test_recall_without_reason_is_refused(ready: Api) -> None:
    agent = ready.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": "clinic", "declaration": declaration()},
        headers=ready.auth("dev"),
    ).json()
    response = ready.client.post(
        f"/v1/agents/{agent['id']}/lifecycle", json={"action": "recall"}, headers=ready.auth("registrar")
    )
    assert _problem(response, 422, "invalid_input")["field"] == "reason"


def test_unknown_route_and_bad_query_are_problems(ready: Api) -> None:
    _problem(ready.client.get("/v1/nothing-here"), 404, "not_found")
    _problem(ready.client.get("/v1/agents", params={"limit": 1000}), 422, "invalid_input")
    _problem(ready.client.get("/v1/agents", params={"cursor": "!!notacursor"}), 422, "invalid_input")


def test_malformed_bearer_is_refused(ready: Api) -> None:
    response = ready.client.post("/v1/orgs", json=org_doc(), headers={"Authorization": "Bearer nope"})
    _problem(response, 401, "unauthenticated")
