"""The RBAC matrix: each role can do what it should over the API, and nothing more.

Every cell starts from a fresh store holding two organisations (acme, other), a developer key for
each, and one agent of acme in the state the operation needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock
from agentgov.identity.apikeys import Principal, Role
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from tests.conftest import REGISTRAR, Api, declaration, org_doc

AGENT = "urn:agent:acme.example:clinic"
SEE_UNPUBLISHED = frozenset({"admin", "registrar", "regulator", "dev_own"})
ROLES = ("anonymous", "admin", "registrar", "dev_own", "dev_other", "evaluator", "regulator", "user")


@dataclass(frozen=True)
class Op:
    name: str
    state: str  # the lifecycle state the agent must be in first
    call: Callable[[Api, dict[str, str]], httpx.Response]
    allowed: frozenset[str]
    on_agent: bool = True  # acts on the agent, whose existence is hidden from some roles while unpublished


def _move(action: str, reason: str | None = "per policy") -> Callable[[Api, dict[str, str]], httpx.Response]:
    def call(api: Api, h: dict[str, str]) -> httpx.Response:
        return api.client.post(
            f"/v1/agents/{AGENT}/lifecycle", json={"action": action, "reason": reason}, headers=h
        )

    return call


OPS = [
    Op(
        "create_org",
        "filed",
        lambda api, h: api.client.post(
            "/v1/orgs", json=org_doc("new.example", "91310115MA1H7XYW23"), headers=h
        ),
        frozenset({"admin", "registrar"}),
        on_agent=False,
    ),
    Op(
        "create_key",
        "filed",
        lambda api, h: api.client.post("/v1/keys", json={"role": "evaluator"}, headers=h),
        frozenset({"admin"}),
        on_agent=False,
    ),
    Op(
        "list_keys",
        "filed",
        lambda api, h: api.client.get("/v1/keys", headers=h),
        frozenset({"admin", "regulator"}),
        on_agent=False,
    ),
    Op(
        "register_agent",
        "filed",
        lambda api, h: api.client.post(
            "/v1/orgs/acme.example/agents", json={"name": "second", "declaration": declaration()}, headers=h
        ),
        frozenset({"admin", "dev_own"}),
        on_agent=False,
    ),
    Op(
        "publish_version",
        "filed",
        lambda api, h: api.client.post(
            f"/v1/agents/{AGENT}/versions", json={"declaration": declaration()}, headers=h
        ),
        frozenset({"admin", "dev_own"}),
    ),
    Op(
        "add_alias",
        "registered",
        lambda api, h: api.client.post(
            f"/v1/agents/{AGENT}/aliases", json={"alias": "did:web:acme.example", "scheme": "did"}, headers=h
        ),
        frozenset({"admin", "dev_own"}),
    ),
    Op("submit", "filed", _move("submit", None), frozenset({"admin", "dev_own"})),
    Op("withdraw", "filed", _move("withdraw", None), frozenset({"admin", "dev_own"})),
    Op("deprecate", "registered", _move("deprecate", None), frozenset({"admin", "dev_own"})),
    Op("retire", "registered", _move("retire", None), frozenset({"admin", "dev_own"})),
    Op("approve", "under_review", _move("approve"), frozenset({"admin", "registrar"})),
    Op("reject", "under_review", _move("reject"), frozenset({"admin", "registrar"})),
    Op("suspend", "registered", _move("suspend"), frozenset({"admin", "registrar"})),
    Op("reinstate", "suspended", _move("reinstate"), frozenset({"admin", "registrar"})),
    Op("recall", "registered", _move("recall"), frozenset({"admin", "registrar"})),
    Op(
        "read_unpublished",
        "filed",
        lambda api, h: api.client.get(f"/v1/agents/{AGENT}", headers=h),
        frozenset({"admin", "registrar", "regulator", "dev_own"}),
    ),
    Op(
        "read_registered",
        "registered",
        lambda api, h: api.client.get(f"/v1/agents/{AGENT}", headers=h),
        frozenset(ROLES),
    ),
]

_PATH = {
    "filed": [],
    "under_review": ["submit"],
    "registered": ["submit", "approve"],
    "suspended": ["submit", "approve", "suspend"],
}


def _prepare(engine: Engine, clock: FixedClock, state: str) -> Api:
    api = Api(engine, clock)
    service = RegistryService(RegistryStore(engine), clock)
    acme = service.create_org(REGISTRAR, org_doc("acme.example")).id
    service.create_org(REGISTRAR, org_doc("other.example", "91110000802100433B", name="Other"))
    api.add_developer("dev_own", "acme.example")
    api.add_developer("dev_other", "other.example")
    developer = Principal(key_id="setup", role=Role.DEVELOPER, org_id=acme)
    service.register_agent(developer, "acme.example", "clinic", declaration())
    for action in _PATH[state]:
        who = REGISTRAR if action in {"approve", "suspend"} else developer
        service.move(who, AGENT, action, "setup")
    return api


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_rbac_matrix(op: Op, role: str, sqlite_engine: Engine, clock: FixedClock) -> None:
    api = _prepare(sqlite_engine, clock, op.state)
    headers = api.auth(None if role == "anonymous" else role)
    response = op.call(api, headers)
    body: Any = response.json()
    is_read = op.name.startswith("read_")
    sees = role in SEE_UNPUBLISHED or op.state not in ("filed", "under_review")
    if role in op.allowed:
        assert response.status_code < 300, (op.name, role, body)
    elif role == "anonymous" and not is_read:
        assert (response.status_code, body["code"]) == (401, "unauthenticated"), (op.name, body)
        assert response.headers["www-authenticate"] == "Bearer"
    elif op.on_agent and not sees:
        assert (response.status_code, body["code"]) == (404, "not_found"), (op.name, role, body)
    else:
        assert (response.status_code, body["code"]) == (403, "forbidden"), (op.name, role, body)
    if role not in op.allowed:
        assert response.headers["content-type"] == "application/problem+json"


def test_developer_of_one_org_cannot_touch_another_orgs_registered_agent(
    sqlite_engine: Engine, clock: FixedClock
) -> None:
    api = _prepare(sqlite_engine, clock, "registered")
    h = api.auth("dev_other")
    for response in (
        api.client.post(f"/v1/agents/{AGENT}/versions", json={"declaration": declaration()}, headers=h),
        api.client.post(f"/v1/agents/{AGENT}/lifecycle", json={"action": "retire"}, headers=h),
        api.client.post(
            f"/v1/agents/{AGENT}/aliases", json={"alias": "did:web:evil.example", "scheme": "did"}, headers=h
        ),
        api.client.post(
            "/v1/orgs/acme.example/agents", json={"name": "intruder", "declaration": declaration()}, headers=h
        ),
    ):
        assert response.status_code == 403, response.json()
        assert response.json()["detail"] == "a developer key acts only for its own organisation"
    record = api.client.get(f"/v1/agents/{AGENT}").json()
    assert (record["version"], record["status"], record["aliases"]) == (1, "registered", [])


def test_revoked_key_is_refused_at_once(sqlite_engine: Engine, clock: FixedClock) -> None:
    api = _prepare(sqlite_engine, clock, "filed")
    created = api.client.post("/v1/keys", json={"role": "registrar"}, headers=api.auth("admin")).json()
    new = {"Authorization": f"Bearer {created['key']}"}
    assert api.client.get("/v1/agents", headers=new).status_code == 200
    assert api.client.delete(f"/v1/keys/{created['id']}", headers=api.auth("admin")).status_code == 204
    refused = api.client.get("/v1/agents", headers=new)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthenticated"


def test_keys_are_stored_only_as_hashes(sqlite_engine: Engine, clock: FixedClock) -> None:
    api = _prepare(sqlite_engine, clock, "filed")
    created = api.client.post("/v1/keys", json={"role": "evaluator"}, headers=api.auth("admin")).json()
    secret = created["key"].split("_", 2)[2]
    with sqlite_engine.connect() as conn:
        dump = "\n".join(str(tuple(row)) for row in conn.exec_driver_sql("SELECT * FROM api_keys"))
    assert secret not in dump
    listed = api.client.get("/v1/keys", headers=api.auth("admin")).json()
    assert all("secret_hash" not in row and "key" not in row for row in listed)
