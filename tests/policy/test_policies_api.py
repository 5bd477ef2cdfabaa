"""Policy sets over the API: validated when loaded (an invalid one is refused with its position and
nothing is stored), versioned by digest, activated per deployment in enforce or shadow mode."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock
from tests.policy.authority_helpers import AuthorityApi, count, request, source


@pytest.fixture
def api(sqlite_engine: Engine, clock: FixedClock) -> AuthorityApi:
    return AuthorityApi(sqlite_engine, clock)


def test_policy_with_a_syntax_error_is_refused_with_line_and_column(api: AuthorityApi) -> None:
    bad = source().model_dump(mode="json")
    bad["extra"][0]["policies"] = (
        "permit (principal, action, resource);\n\nforbid (principal action, resource);"
    )
    for path in ("/v1/policies/validate", "/v1/policies"):
        response = api.client.post(path, json=bad, headers=api.auth("admin"))
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "invalid_policy"
        assert (problem["source"], problem["line"], problem["column"]) == ("t.cedar", 3, 19)
    assert count(api.engine, "policy_sets") == 0
    unknown_pack = api.client.post("/v1/policies", json={"packs": ["nope"]}, headers=api.auth("admin"))
    assert unknown_pack.status_code == 404
    assert count(api.engine, "policy_sets") == 0


def test_versions_are_loaded_activated_and_run_in_shadow_mode(api: AuthorityApi, clock: FixedClock) -> None:
    body = source().model_dump(mode="json")
    first = api.client.post("/v1/policies", json=body, headers=api.auth("admin"))
    assert first.status_code == 201, first.text
    digest = first.json()["digest"]
    assert first.json()["user_only_tools"] == ["set_password"]
    assert api.client.post("/v1/policies", json=body, headers=api.auth("admin")).status_code == 200
    shadow = {"digest": digest, "mode": "shadow"}
    activated = api.client.put("/v1/policies/deployments/default", json=shadow, headers=api.auth("admin"))
    assert activated.json()["mode"] == "shadow"
    decide = {"request": request(clock, "wipe").model_dump(mode="json")}
    made = api.client.post("/v1/decisions", json=decide, headers=api.auth("admin")).json()
    assert made["decision"]["effect"] == "deny"
    assert made["decision"]["applied_effect"] == "allow"
    assert made["decision"]["enforced"] is False
    assert made["record_index"] == api.recorder.events[-1].index
    seen = api.client.get(f"/v1/decisions/{made['id']}", headers=api.auth("alice"))
    assert seen.json()["decision"]["enforced"] is False
    assert api.client.get(f"/v1/decisions/{made['id']}", headers=api.auth("bob")).status_code == 404
    listed = api.client.get("/v1/policies", headers=api.auth("regulator")).json()
    assert [v["digest"] for v in listed] == [digest]
    assert api.client.get(f"/v1/policies/{digest}", headers=api.auth("regulator")).json()["source"]["extra"]
    deployments = api.client.get("/v1/policies/deployments", headers=api.auth("regulator")).json()
    assert deployments[0]["digest"] == digest


def test_only_an_admin_loads_and_activates_policy_sets(api: AuthorityApi) -> None:
    body = source().model_dump(mode="json")
    for who in ("alice", "regulator", "evaluator"):
        assert api.client.post("/v1/policies", json=body, headers=api.auth(who)).status_code == 403
    digest = api.client.post("/v1/policies", json=body, headers=api.auth("admin")).json()["digest"]
    activation = {"digest": digest, "mode": "enforce"}
    refused = api.client.put("/v1/policies/deployments/default", json=activation, headers=api.auth("alice"))
    assert refused.status_code == 403
    assert api.client.get("/v1/policies", headers=api.auth("alice")).status_code == 403
    missing = {"digest": "sha256:" + "0" * 64, "mode": "enforce"}
    assert (
        api.client.put("/v1/policies/deployments/x", json=missing, headers=api.auth("admin")).status_code
        == 404
    )
    assert count(api.engine, "policy_deployments") == 0


def test_tool_list_is_filtered_by_policy(api: AuthorityApi, clock: FixedClock) -> None:
    digest = api.client.post("/v1/policies", json=source().model_dump(mode="json"), headers=api.auth("admin"))
    activation = {"digest": digest.json()["digest"], "mode": "enforce"}
    api.client.put("/v1/policies/deployments/default", json=activation, headers=api.auth("admin"))
    body = {
        "agent_id": "agent-1",
        "user_id": "alice",
        "context": {"venue": "private", "time": clock.now().isoformat()},
        "tools": [{"tool": t, "server": "srv"} for t in ("look", "wipe", "pay")],
    }
    shown = api.client.post("/v1/decisions/visible-tools", json=body, headers=api.auth("admin")).json()
    assert [t["tool"] for t in shown["tools"]] == ["look", "pay"]
