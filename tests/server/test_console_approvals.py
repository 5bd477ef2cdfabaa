"""The console keeps the user's final say and right to know in the browser (Art. 6): sign-in with the
user's key in a strict cookie, approvals decided with a form token bound to the session, the feed of
what was done on the user's behalf, disputes, and the services' refusals shown as pages."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from agentgov.core.clock import FixedClock
from agentgov.identity.apikeys import parse_key
from tests.policy.authority_helpers import (
    AGENT,
    AuthorityApi,
    activate,
    ask_via_api,
    decide_via_api,
    grant_doc,
)

PAY = {"to": "<b>mallory</b>", "amount": 50}
_TOKEN = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@pytest.fixture
def api(sqlite_engine: Engine, clock: FixedClock) -> AuthorityApi:
    made = AuthorityApi(sqlite_engine, clock)
    activate(made.services)
    return made


def _browser(api: AuthorityApi) -> TestClient:
    """A browser of its own: its own cookie jar."""
    return TestClient(api.client.app, raise_server_exceptions=False)


def _sign_in(api: AuthorityApi, who: str) -> TestClient:
    browser = _browser(api)
    response = browser.post(
        "/console/sign-in", data={"key": api.keys[who], "lang": "en"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return browser


def _token(browser: TestClient, page: str = "/console/approvals") -> str:
    found = _TOKEN.search(browser.get(page, params={"lang": "en"}).text)
    assert found is not None
    return found.group(1)


def _decide(api: AuthorityApi, clock: FixedClock, tool: str, **arguments: Any) -> dict[str, Any]:
    return decide_via_api(api, clock, tool, **arguments)


def _ask(api: AuthorityApi, tool: str = "pay", arguments: dict[str, Any] | None = None, **fields: Any) -> str:
    return ask_via_api(api, PAY if arguments is None else arguments, tool, **fields)


def _state(api: AuthorityApi, approval_id: str) -> str:
    view = api.client.get(f"/v1/approvals/{approval_id}", headers=api.auth("alice")).json()
    state: str = view["state"]
    return state


def _post(browser: TestClient, path: str, **form: str) -> Any:
    return browser.post(path, data={"lang": "en", **form}, follow_redirects=False)


# signing in ------------------------------------------------------------------------------------------


def test_sign_in_keeps_the_key_in_a_strict_cookie_and_never_shows_it(
    api: AuthorityApi, caplog: pytest.LogCaptureFixture
) -> None:
    key = api.keys["alice"]
    browser = _browser(api)
    with caplog.at_level(logging.DEBUG):
        away = browser.get("/console/approvals", params={"lang": "en"}, follow_redirects=False)
        assert away.status_code == 303
        assert away.headers["location"].startswith("/console/sign-in?")
        form = browser.get(away.headers["location"])
        assert form.status_code == 200
        assert 'type="password"' in form.text

        done = _post(browser, "/console/sign-in", key=key, next="/console/feed")
        assert (done.status_code, done.headers["location"]) == (303, "/console/feed?lang=en")
        cookie = done.headers["set-cookie"]
        assert cookie.startswith(f"agentgov_console={key};")
        assert "HttpOnly" in cookie
        assert "path=/console" in cookie.lower()
        assert "samesite=strict" in cookie.lower()
        assert "secure" not in cookie.lower()  # plain http here; set over https

        page = browser.get("/console/approvals", params={"lang": "en"})
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "Signed in as alice" in page.text
        assert key not in page.text
        _, secret = parse_key(key)
        assert secret not in page.text
    assert secret not in caplog.text


def test_a_wrong_key_gets_the_form_again_with_a_bilingual_error(api: AuthorityApi) -> None:
    browser = _browser(api)
    wrong = api.keys["alice"][:-4] + "AAAA"
    for presented in (wrong, "not a key", ""):
        response = _post(browser, "/console/sign-in", key=presented)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/html")
        assert "Unknown or revoked API key" in response.text
        assert "API 密钥无效或已撤销" in response.text
        assert 'id="sign-in"' in response.text
        if presented:
            assert presented not in response.text
        assert "set-cookie" not in response.headers
    assert browser.get("/console/approvals", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_and_a_revoked_key_ends_it_too(api: AuthorityApi) -> None:
    browser = _sign_in(api, "alice")
    out = _post(browser, "/console/sign-out", csrf=_token(browser))
    assert out.status_code == 303
    assert 'agentgov_console=""' in out.headers["set-cookie"]
    assert browser.get("/console/approvals", follow_redirects=False).status_code == 303

    bob = _sign_in(api, "bob")
    assert bob.get("/console/approvals").status_code == 200
    api.keystore.revoke(parse_key(api.keys["bob"])[0])
    assert bob.get("/console/approvals", follow_redirects=False).status_code == 303


# deciding --------------------------------------------------------------------------------------------


def test_user_sees_the_pending_request_and_approves_it(api: AuthorityApi, clock: FixedClock) -> None:
    made = _decide(api, clock, "pay", **PAY)
    assert made["decision"]["applied_effect"] == "ask"
    approval_id = _ask(api, decision_id=made["id"], reasons=made["decision"]["reasons"])
    alice = _sign_in(api, "alice")
    page = alice.get("/console/approvals", params={"lang": "en"})
    assert f'id="approval-{approval_id}"' in page.text
    assert AGENT in page.text
    assert "srv:pay" in page.text
    for reason in made["decision"]["reasons"]:
        assert html.escape(reason) in page.text
    assert "2026-11-21T09:15:00Z" in page.text  # the default 15-minute expiry
    assert "<b>mallory</b>" not in page.text
    assert "&#34;&lt;b&gt;mallory&lt;/b&gt;&#34;" in page.text  # pretty JSON, escaped

    decided = _post(alice, f"/console/approvals/{approval_id}/approve", csrf=_token(alice), note="fine")
    assert decided.status_code == 303
    assert decided.headers["location"] == f"/console/approvals?lang=en&decided={approval_id}"
    after = alice.get(decided.headers["location"])
    assert "is now <strong>approved</strong>" in after.text
    assert f'id="decided-{approval_id}"' in after.text
    assert f'id="approval-{approval_id}"' not in after.text
    assert _state(api, approval_id) == "approved"
    assert "approval.approved" in api.recorder.kinds()


def test_user_refuses_a_request(api: AuthorityApi) -> None:
    approval_id = _ask(api)
    alice = _sign_in(api, "alice")
    refused = alice.post(
        f"/console/approvals/{approval_id}/refuse",
        data={"csrf": _token(alice), "lang": "en"},
        headers={"Origin": "http://testserver"},  # a browser's same-origin form
        follow_redirects=False,
    )
    assert refused.status_code == 303
    assert "is now <strong>refused</strong>" in alice.get(refused.headers["location"]).text
    assert _state(api, approval_id) == "refused"
    assert "approval.refused" in api.recorder.kinds()


def test_a_form_without_the_sessions_token_changes_nothing(api: AuthorityApi) -> None:
    approval_id = _ask(api)
    alice = _sign_in(api, "alice")
    bobs = _token(_sign_in(api, "bob"))
    path = f"/console/approvals/{approval_id}/approve"
    for token in (None, "", "0" * 64, bobs, "é"):
        form = {} if token is None else {"csrf": token}
        response = _post(alice, path, **form)
        assert response.status_code == 403, token
        assert response.headers["content-type"].startswith("text/html")
        assert "did not come from your console session" in response.text
    cross = alice.post(
        path,
        data={"csrf": _token(alice), "lang": "en"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert (cross.status_code, "sent from another site" in cross.text) == (403, True)
    signed_out = _post(_browser(api), path, csrf=_token(alice))
    assert signed_out.status_code == 401
    assert _state(api, approval_id) == "pending"
    assert "approval.approved" not in api.recorder.kinds()


def test_a_user_never_sees_nor_decides_another_users_approval(api: AuthorityApi) -> None:
    approval_id = _ask(api)
    bob = _sign_in(api, "bob")
    page = bob.get("/console/approvals", params={"lang": "en", "decided": approval_id})
    assert approval_id not in page.text
    assert "mallory" not in page.text
    assert 'id="flash"' not in page.text
    refused = _post(bob, f"/console/approvals/{approval_id}/approve", csrf=_token(bob))
    assert refused.status_code == 403
    assert "only 'alice', or a delegate they named, decides this approval" in html.unescape(refused.text)
    assert _state(api, approval_id) == "pending"


def test_a_delegate_is_told_why_a_user_only_request_is_not_theirs(api: AuthorityApi) -> None:
    api.client.put("/v1/me/delegates", json={"delegates": ["bob"]}, headers=api.auth("alice"))
    user_only = _ask(api, "set_password", {"password": "hunter2"})
    delegable = _ask(api)
    bob = _sign_in(api, "bob")
    page = bob.get("/console/approvals", params={"lang": "en"})
    assert f'id="approval-{delegable}"' in page.text
    assert "On behalf of" in page.text
    assert user_only not in page.text

    refused = _post(bob, f"/console/approvals/{user_only}/approve", csrf=_token(bob))
    assert refused.status_code == 403
    text = html.unescape(refused.text)
    assert "Only the user decides this action" in text
    assert "srv:set_password is a user-only action: only 'alice' decides it" in text
    assert f'id="approval-{delegable}"' in refused.text  # the page, with the message on top
    assert _state(api, user_only) == "pending"

    approved = _post(bob, f"/console/approvals/{delegable}/approve", csrf=_token(bob))
    assert approved.status_code == 303
    view = api.client.get(f"/v1/approvals/{delegable}", headers=api.auth("alice")).json()
    assert (view["state"], view["decided_by"]) == ("approved", "bob")


def test_service_errors_are_readable_pages_with_their_status(api: AuthorityApi) -> None:
    approval_id = _ask(api)
    alice = _sign_in(api, "alice")
    token = _token(alice)
    missing = _post(alice, "/console/approvals/apr_nothing/approve", csrf=token)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "no approval" in html.unescape(missing.text)
    assert _post(alice, f"/console/approvals/{approval_id}/approve", csrf=token).status_code == 303
    twice = alice.post(
        f"/console/approvals/{approval_id}/refuse", data={"csrf": token, "lang": "zh"}, follow_redirects=False
    )
    assert twice.status_code == 409
    assert "此请求已被决定" in twice.text
    assert f"approval {approval_id} is already approved" in twice.text

    admin = _sign_in(api, "admin")
    feed = admin.get("/console/feed", params={"lang": "en"})
    assert feed.status_code == 403
    assert "the feed is the user&#39;s own" in feed.text
    listing = admin.get("/console/approvals", params={"lang": "en"})
    assert listing.status_code == 200
    assert "may read approvals but not decide them" in listing.text
    assert 'class="decide"' not in listing.text


# the right to know -----------------------------------------------------------------------------------


def test_feed_lists_what_was_done_and_a_dispute_is_recorded(api: AuthorityApi, clock: FixedClock) -> None:
    api.services.authority.grants.create(
        api.keystore.authenticate(api.keys["alice"]), {"grant": grant_doc(clock)}
    )
    autonomous = _decide(api, clock, "look")
    clock.advance(timedelta(seconds=1))  # "newest first" needs two different times
    granted = _decide(api, clock, "pay", to="bob", amount=5)
    alice = _sign_in(api, "alice")
    page = alice.get("/console/feed", params={"lang": "en"})
    assert page.status_code == 200
    for made in (autonomous, granted):
        assert f'id="item-{made["id"]}"' in page.text
    assert "srv:look" in page.text
    assert "autonomous" in page.text
    assert page.text.index(granted["id"]) < page.text.index(autonomous["id"])  # newest first
    bad_cursor = alice.get("/console/feed", params={"lang": "en", "before": "yesterday"})
    assert (bad_cursor.status_code, "not a cursor from this feed" in bad_cursor.text) == (422, True)

    token = _token(alice, "/console/feed")
    disputed = _post(alice, f"/console/feed/{granted['id']}/dispute", csrf=token, reason="")
    assert disputed.status_code == 303
    after = alice.get(disputed.headers["location"])
    assert "Your dispute is recorded" in after.text
    assert f'action="/console/feed/{granted["id"]}/dispute"' not in after.text
    assert "authority.dispute" in api.recorder.kinds()
    mine = api.client.get("/v1/me/disputes", headers=api.auth("alice")).json()
    assert [(d["item_id"], d["status"]) for d in mine] == [(granted["id"], "open")]
    assert mine[0]["reason"].startswith("disputed in the console")

    again = _post(alice, f"/console/feed/{granted['id']}/dispute", csrf=token, reason="again")
    assert again.status_code == 409
    assert "is already disputed" in again.text
    forged = _post(alice, f"/console/feed/{autonomous['id']}/dispute", csrf="0" * 64)
    assert forged.status_code == 403
    assert len(api.client.get("/v1/me/disputes", headers=api.auth("alice")).json()) == 1

    bob = _sign_in(api, "bob")
    assert autonomous["id"] not in bob.get("/console/feed", params={"lang": "en"}).text
    stolen = _post(bob, f"/console/feed/{autonomous['id']}/dispute", csrf=_token(bob), reason="mine?")
    assert stolen.status_code == 404


def test_console_pages_speak_both_languages_and_are_linked_from_the_registry(api: AuthorityApi) -> None:
    home = api.client.get("/")
    assert 'href="/console/approvals?lang=zh"' in home.text
    assert 'href="/console/feed?lang=zh"' in home.text
    _ask(api)
    alice = _sign_in(api, "alice")
    zh = alice.get("/console/approvals", params={"lang": "zh"}).text
    assert "待我审批" in zh
    assert "批准" in zh
    assert "拒绝" in zh
    assert 'href="/console/approvals?lang=en" id="lang"' in zh
    en = alice.get("/console/approvals", params={"lang": "en"}).text
    assert "Waiting for your decision" in en
    assert "Approve" in en
    assert "代我执行的操作" in alice.get("/console/feed").text
    assert "登录" in alice.get("/console/sign-in").text
