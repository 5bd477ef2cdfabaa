"""The web console renders the registry in Chinese and English and escapes what agents declare."""

from __future__ import annotations

from tests.conftest import Api, declaration, org_doc


def _registered(api: Api, name: str, **overrides: object) -> str:
    api.client.post("/v1/orgs", json=org_doc(), headers=api.auth("admin"))
    api.add_developer("dev", "acme.example")
    made = api.client.post(
        "/v1/orgs/acme.example/agents",
        json={"name": name, "declaration": declaration(**overrides)},
        headers=api.auth("dev"),
    ).json()
    for action, who in (("submit", "dev"), ("approve", "registrar")):
        api.client.post(
            f"/v1/agents/{made['id']}/lifecycle",
            json={"action": action, "reason": "ok"},
            headers=api.auth(who),
        )
    return str(made["id"])


def test_console_lists_and_searches_in_both_languages(api: Api) -> None:
    agent_id = _registered(api, "clinic")
    zh = api.client.get("/", params={"q": "医疗"})
    assert zh.status_code == 200
    assert "智能体注册平台" in zh.text
    assert agent_id in zh.text
    assert "已登记" in zh.text
    en = api.client.get("/", params={"q": "clinic", "lang": "en"})
    assert "agentgov registry" in en.text
    assert "registered" in en.text
    assert "No agents match." in api.client.get("/", params={"q": "zzzqqq", "lang": "en"}).text


def test_console_agent_page_shows_history_and_versions(api: Api) -> None:
    agent_id = _registered(api, "clinic")
    page = api.client.get(f"/console/agents/{agent_id}", params={"lang": "en"})
    assert page.status_code == 200
    assert "approve" in page.text
    assert "under_review → registered" in page.text


def test_console_escapes_declared_text(api: Api) -> None:
    _registered(api, "xss", display_name="<script>alert(1)</script>")
    page = api.client.get("/", params={"lang": "en"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
