"""Approvals and the right to know over the API: who may decide, the approve-then-run-once flow,
waiting by long-poll and server-sent events, webhooks, the user's feed and disputes."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from agentgov.approvals import WebhookNotifier
from agentgov.core.clock import FixedClock
from tests.policy.authority_helpers import (
    AGENT,
    AuthorityApi,
    activate,
    ask_via_api,
    decide_via_api,
    grant_doc,
)

PAY = {"to": "mallory", "amount": 50}


@pytest.fixture
def api(sqlite_engine: Engine, clock: FixedClock) -> AuthorityApi:
    made = AuthorityApi(sqlite_engine, clock)
    activate(made.services)
    return made


def _decide(api: AuthorityApi, clock: FixedClock, tool: str, **arguments: Any) -> dict[str, Any]:
    return decide_via_api(api, clock, tool, **arguments)


def _ask(api: AuthorityApi, tool: str = "pay", arguments: dict[str, Any] | None = None, **fields: Any) -> str:
    return ask_via_api(api, PAY if arguments is None else arguments, tool, **fields)


def _consume(api: AuthorityApi, approval_id: str, arguments: dict[str, Any]) -> Any:
    body = {"agent_id": AGENT, "user_id": "alice", "tool": "pay", "server": "srv", "arguments": arguments}
    return api.client.post(f"/v1/approvals/{approval_id}/consume", json=body, headers=api.auth("admin"))


def test_ask_approve_and_run_once_through_the_api(api: AuthorityApi, clock: FixedClock) -> None:
    made = _decide(api, clock, "pay", **PAY)
    assert made["decision"]["applied_effect"] == "ask"
    approval_id = _ask(api, decision_id=made["id"], reasons=made["decision"]["reasons"])
    mine = api.client.get("/v1/approvals?status=pending", headers=api.auth("alice")).json()
    assert [a["id"] for a in mine] == [approval_id]
    assert mine[0]["arguments"] == PAY
    approved = api.client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=api.auth("alice"))
    assert approved.json()["state"] == "approved"
    other = _consume(api, approval_id, {**PAY, "amount": 5000})
    assert (other.status_code, other.json()["code"]) == (403, "approval_arguments_mismatch")
    assert _consume(api, approval_id, PAY).json()["state"] == "used"
    again = _consume(api, approval_id, PAY)
    assert (again.status_code, again.json()["code"]) == (409, "approval_used")


def test_a_user_cannot_approve_for_another_user(api: AuthorityApi) -> None:
    approval_id = _ask(api)
    for who, status in (("bob", 403), ("admin", 403), ("regulator", 403)):
        response = api.client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=api.auth(who))
        assert response.status_code == status, response.text
    assert api.client.get(f"/v1/approvals/{approval_id}", headers=api.auth("bob")).status_code == 404
    body = {"agent_id": AGENT, "user_id": "bob", "action": {"tool": "pay", "server": "srv"}}
    assert api.client.post("/v1/approvals", json=body, headers=api.auth("bob")).status_code == 403
    state = api.client.get(f"/v1/approvals/{approval_id}", headers=api.auth("alice")).json()["state"]
    assert state == "pending"
    api.client.put("/v1/me/delegates", json={"delegates": ["bob"]}, headers=api.auth("alice"))
    user_only = _ask(api, "set_password", {"password": "x"})
    refused = api.client.post(f"/v1/approvals/{user_only}/approve", json={}, headers=api.auth("bob"))
    assert (refused.status_code, refused.json()["code"]) == (403, "approval_user_only")
    delegated = api.client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=api.auth("bob"))
    assert delegated.json()["decided_by"] == "bob"


def test_long_poll_answers_as_soon_as_the_user_decides(api: AuthorityApi) -> None:
    approval_id = _ask(api)
    assert api.client.get(f"/v1/approvals/{approval_id}?wait=0", headers=api.auth("admin")).json()[
        "state"
    ] == ("pending")
    seen: dict[str, Any] = {}

    def poll() -> None:
        response = api.client.get(f"/v1/approvals/{approval_id}?wait=20", headers=api.auth("admin"))
        seen.update(response.json())

    waiter = threading.Thread(target=poll)
    waiter.start()
    assert api.services.approvals.signals.wait_for_waiter(approval_id, 10)
    api.client.post(f"/v1/approvals/{approval_id}/refuse", json={"note": "no"}, headers=api.auth("alice"))
    waiter.join(10)
    assert not waiter.is_alive()
    assert seen["state"] == "refused"


def test_event_stream_sends_the_state_then_the_decision(api: AuthorityApi) -> None:
    approval_id = _ask(api)
    events: list[str] = []

    def listen() -> None:
        url = f"/v1/approvals/{approval_id}/events"
        with api.client.stream("GET", url, headers=api.auth("alice")) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events.extend(line for line in response.iter_lines() if line.startswith("data: "))

    listener = threading.Thread(target=listen)
    listener.start()
    assert api.services.approvals.signals.wait_for_waiter(approval_id, 10)
    api.client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=api.auth("alice"))
    listener.join(10)
    assert not listener.is_alive()
    assert [json.loads(e.removeprefix("data: "))["state"] for e in events] == ["pending", "approved"]
    assert api.client.get("/v1/approvals/apr_nothing/events", headers=api.auth("alice")).status_code == 404


def test_webhook_is_told_of_new_approvals_and_a_failing_one_blocks_nothing(
    sqlite_engine: Engine, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "down.example":
            raise httpx.ConnectError("refused", request=request)
        received.append(json.loads(request.content))
        return httpx.Response(204)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    urls = ["https://down.example/hook", "https://hooks.example/approvals"]
    notifier = WebhookNotifier(urls, timeout_s=1.0, max_pending=10, client=client)
    api = AuthorityApi(sqlite_engine, clock, notifier=notifier)
    activate(api.services)
    with caplog.at_level(logging.WARNING, logger="agentgov.approvals"):
        approval_id = _ask(api)
        assert notifier.flush(10)
    notifier.close()
    assert received[0]["type"] == "approval.requested"
    assert received[0]["approval"]["id"] == approval_id
    assert "arguments" not in received[0]["approval"]
    assert "down.example failed: ConnectError" in caplog.text


def test_feed_shows_what_was_done_for_me_and_a_dispute_is_recorded(
    api: AuthorityApi, clock: FixedClock
) -> None:
    api.services.authority.grants.create(
        api.keystore.authenticate(api.keys["alice"]), {"grant": grant_doc(clock)}
    )
    autonomous = _decide(api, clock, "look")
    granted = _decide(api, clock, "pay", to="bob", amount=5)
    _decide(api, clock, "wipe")  # denied: nothing was done, not in the feed
    approval_id = _ask(api, "pay", {"to": "carol", "amount": 7})
    api.client.post(f"/v1/approvals/{approval_id}/approve", json={}, headers=api.auth("alice"))
    _consume(api, approval_id, {"to": "carol", "amount": 7})
    feed = api.client.get("/v1/me/feed", headers=api.auth("alice")).json()
    kinds = {i["id"]: i["kind"] for i in feed["items"]}
    assert kinds == {autonomous["id"]: "decision", granted["id"]: "decision", approval_id: "approved_action"}
    assert feed["next"] is None
    first = api.client.get("/v1/me/feed?limit=2", headers=api.auth("alice")).json()
    rest = api.client.get(f"/v1/me/feed?limit=2&before={first['next']}", headers=api.auth("alice")).json()
    assert {i["id"] for i in first["items"] + rest["items"]} == set(kinds)
    assert api.client.get("/v1/me/feed", headers=api.auth("bob")).json()["items"] == []
    assert api.client.get("/v1/me/feed", headers=api.auth("admin")).status_code == 403

    path = f"/v1/me/feed/{granted['id']}/dispute"
    disputed = api.client.post(path, json={"reason": "I never sent money to bob"}, headers=api.auth("alice"))
    assert disputed.status_code == 201, disputed.text
    assert api.client.post(path, json={"reason": "again"}, headers=api.auth("alice")).status_code == 409
    assert api.client.post(path, json={"reason": "mine?"}, headers=api.auth("bob")).status_code == 404
    assert "authority.dispute" in api.recorder.kinds()
    review = api.client.get("/v1/disputes", headers=api.auth("regulator")).json()
    assert [(d["item_id"], d["status"]) for d in review] == [(granted["id"], "open")]
    assert api.client.get("/v1/disputes", headers=api.auth("alice")).status_code == 403
    assert len(api.client.get("/v1/me/disputes", headers=api.auth("alice")).json()) == 1
    after = api.client.get("/v1/me/feed", headers=api.auth("alice")).json()["items"]
    assert [i["disputed"] for i in after if i["id"] == granted["id"]] == [True]
