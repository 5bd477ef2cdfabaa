"""The packs shipped with the product: each states classes, argument fences and venue rules."""

from __future__ import annotations

from typing import Any

import pytest

from agentgov.errors import NotFound
from agentgov.policy import (
    ActionRef,
    DecisionClass,
    Effect,
    GrantCoversUserOnly,
    GrantUsage,
    ObligationKind,
    PolicySet,
    RequestContext,
    ToolKind,
    Venue,
    available_packs,
    check_grant,
    load_pack,
    load_packs,
    visible_tools,
)
from tests.policy.helpers import AGENT, NOW, USER, decide, grant, request

ORG = {"org_domains": ["acme.example"]}
IBAN = "DE89370400440532013000"
STRANGER = "FR1420041010050500013M02606"


def effect(ps: PolicySet, tool: str, server: str = "srv", grants: Any = (), **kw: Any) -> Effect:
    return decide(request(tool, server, **kw), ps, grants).effect


def test_every_pack_loads_alone_and_all_load_together() -> None:
    names = available_packs()
    assert set(names) == {"baseline", "calendar", "email", "files", "payments", "sensors", "travel", "web"}
    for name in names:
        assert load_packs([name]).metas
    together = load_packs(names, settings={**ORG, "known_payees": [IBAN]})
    assert together.user_only_tools() == {"update_password", "share_contact", "export_contacts"}
    with pytest.raises(NotFound):
        load_pack("casino")


def test_every_pack_policy_has_a_stable_id_and_a_declared_tool() -> None:
    for name in available_packs():
        ps = load_packs([name])
        assert all(".anon-" not in pid for pid in ps.metas)
        for spec in load_pack(name).tools.values():
            assert spec.kind in (ToolKind.READ_ONLY, ToolKind.SIDE_EFFECT)


class TestPayments:
    ps = load_packs(["payments"], settings={"known_payees": [IBAN], "ask_amount_over": "1000"})
    pay = grant("send_money", "bank", constraints=[{"op": "range", "argument": "amount", "max": 5000}])

    def test_reading_the_account_is_autonomous(self) -> None:
        d = decide(request("get_balance", "bank"), self.ps)
        assert (d.effect, d.decision_class) == (Effect.ALLOW, DecisionClass.AUTONOMOUS)

    def test_money_to_a_known_payee_under_a_grant_is_allowed(self) -> None:
        assert effect(self.ps, "send_money", "bank", [self.pay], recipient=IBAN, amount=200.0) is Effect.ALLOW

    def test_money_to_an_unknown_payee_asks_unless_the_grant_names_the_payee(self) -> None:
        assert effect(self.ps, "send_money", "bank", [self.pay], recipient=STRANGER, amount=20) is Effect.ASK
        named = grant(
            "send_money", "bank", constraints=[{"op": "equals", "argument": "recipient", "value": STRANGER}]
        )
        assert effect(self.ps, "send_money", "bank", [named], recipient=STRANGER, amount=20) is Effect.ALLOW

    def test_amount_over_the_threshold_asks_even_under_a_grant(self) -> None:
        assert effect(self.ps, "send_money", "bank", [self.pay], recipient=IBAN, amount=1000.01) is Effect.ASK
        changed = load_packs(["payments"], settings={"known_payees": [IBAN], "ask_amount_over": "5000"})
        assert (
            effect(changed, "send_money", "bank", [self.pay], recipient=IBAN, amount=1000.01) is Effect.ALLOW
        )

    def test_negative_amount_is_denied(self) -> None:
        assert (
            effect(self.ps, "schedule_transaction", "bank", [grant()], recipient=IBAN, amount=-1)
            is Effect.DENY
        )

    def test_recipient_read_from_a_file_asks(self) -> None:
        d = decide(
            request(
                "send_money", "bank", untrusted={"recipient": ["tool:read_file"]}, recipient=IBAN, amount=5
            ),
            self.ps,
            [self.pay],
        )
        assert d.effect is Effect.ASK

    def test_password_change_is_the_users_alone(self) -> None:
        d = decide(request("update_password", "bank", password="x"), self.ps, [grant("*", "bank")])
        assert (d.effect, d.decision_class) == (Effect.ASK, DecisionClass.USER_ONLY)
        assert ObligationKind.USER_APPROVAL in {o.kind for o in d.obligations}
        with pytest.raises(GrantCoversUserOnly):
            check_grant(grant("update_password", "bank"), user_only_tools=self.ps.user_only_tools())


class TestEmail:
    ps = load_packs(["email"], settings=ORG)
    mail = grant("send_email", "mail")

    def test_reading_mail_and_messages_is_autonomous(self) -> None:
        assert effect(self.ps, "get_unread_emails") is Effect.ALLOW
        assert effect(self.ps, "read_channel_messages", channel="general") is Effect.ALLOW

    def test_mail_inside_the_organisation_is_allowed_under_a_grant(self) -> None:
        sent = effect(
            self.ps,
            "send_email",
            "mail",
            [self.mail],
            recipients=["Bob <bob@ACME.example>"],
            subject="s",
            body="b",
        )
        assert sent is Effect.ALLOW

    @pytest.mark.parametrize("field", ["recipients", "cc", "bcc"])
    def test_mail_leaving_the_organisation_asks(self, field: str) -> None:
        args = {"recipients": ["bob@acme.example"], field: ["eve@evil.example"]}
        assert effect(self.ps, "send_email", "mail", [self.mail], **args) is Effect.ASK

    def test_address_without_a_domain_counts_as_outside(self) -> None:
        assert effect(self.ps, "send_email", "mail", [self.mail], recipients=["bob"]) is Effect.ASK

    def test_deleting_mail_and_removing_members_ask(self) -> None:
        assert effect(self.ps, "delete_email", "mail", [grant()], email_id="9") is Effect.ASK
        assert effect(self.ps, "remove_user_from_slack", "chat", [grant()], user="bob") is Effect.ASK

    def test_inviting_an_outsider_asks(self) -> None:
        invite = grant("invite_user_to_slack", "chat")
        assert (
            effect(self.ps, "invite_user_to_slack", "chat", [invite], user="c", user_email="c@acme.example")
            is Effect.ALLOW
        )
        assert (
            effect(self.ps, "invite_user_to_slack", "chat", [invite], user="e", user_email="e@evil.example")
            is Effect.ASK
        )


class TestFiles:
    ps = load_packs(["files"], settings=ORG)

    def test_reading_is_autonomous_and_writing_needs_a_grant(self) -> None:
        assert effect(self.ps, "read_file", file_path="a.txt") is Effect.ALLOW
        assert effect(self.ps, "create_file", filename="a", content="b") is Effect.ASK
        assert (
            effect(self.ps, "create_file", "srv", [grant("create_file")], filename="a", content="b")
            is Effect.ALLOW
        )

    def test_deleting_asks_even_under_a_grant(self) -> None:
        assert effect(self.ps, "delete_file", "srv", [grant("delete_file")], file_id="3") is Effect.ASK

    def test_sharing_outside_the_organisation_asks(self) -> None:
        share = [grant("share_file")]
        assert (
            effect(self.ps, "share_file", "srv", share, file_id="3", email="bob@acme.example", permission="r")
            is Effect.ALLOW
        )
        assert (
            effect(self.ps, "share_file", "srv", share, file_id="3", email="eve@evil.example", permission="r")
            is Effect.ASK
        )


class TestWeb:
    ps = load_packs(["web"], settings={"blocked_hosts": ["evil.example"]})

    def test_fetching_is_autonomous_and_posting_asks(self) -> None:
        assert effect(self.ps, "get_webpage", url="https://news.example/today") is Effect.ALLOW
        assert (
            effect(self.ps, "post_webpage", "srv", [grant()], url="https://forms.example", content="x")
            is Effect.ASK
        )

    def test_blocked_host_is_denied(self) -> None:
        assert effect(self.ps, "get_webpage", url="https://EVIL.example./x") is Effect.DENY


class TestTravel:
    ps = load_packs(["travel"])

    def test_searching_is_autonomous(self) -> None:
        assert effect(self.ps, "get_all_hotels_in_city", city="Paris") is Effect.ALLOW

    def test_booking_is_user_authorized(self) -> None:
        d = decide(
            request("reserve_hotel", "travel", hotel="H", start_day="2026-12-01", end_day="2026-12-03"),
            self.ps,
        )
        assert (d.effect, d.decision_class) == (Effect.ASK, DecisionClass.USER_AUTHORIZED)
        budget = grant("reserve_hotel", "travel", max_calls_per_day=2)
        d = decide(
            request("reserve_hotel", "travel", hotel="H"), self.ps, [budget], {"g-1": GrantUsage(count=1)}
        )
        assert d.effect is Effect.ALLOW

    def test_cancelling_asks(self) -> None:
        assert effect(self.ps, "cancel_reservation", "travel", [grant()], reservation_id="r1") is Effect.ASK


class TestCalendar:
    ps = load_packs(["calendar"], settings=ORG)

    def test_reading_is_autonomous(self) -> None:
        assert effect(self.ps, "get_day_calendar_events", day="2026-11-21") is Effect.ALLOW
        assert effect(self.ps, "search_contacts_by_name", query="Bob") is Effect.ALLOW

    def test_inviting_outsiders_asks(self) -> None:
        inside = effect(
            self.ps, "create_calendar_event", "cal", [grant()], title="t", participants=["a@acme.example"]
        )
        outside = effect(
            self.ps, "create_calendar_event", "cal", [grant()], title="t", participants=["e@evil.example"]
        )
        assert (inside, outside) == (Effect.ALLOW, Effect.ASK)

    def test_sharing_contacts_is_the_users_alone(self) -> None:
        d = decide(
            request("share_contact", "cal", contact_id="1", recipient="e@evil.example"), self.ps, [grant()]
        )
        assert (d.effect, d.decision_class) == (Effect.ASK, DecisionClass.USER_ONLY)
        with pytest.raises(GrantCoversUserOnly):
            check_grant(grant("share_contact", "cal"), user_only_tools=self.ps.user_only_tools())


class TestSensors:
    ps = load_packs(["sensors"])
    tools = (
        ActionRef(tool="capture_photo", server="device"),
        ActionRef(tool="record_audio", server="device"),
    )

    def test_capture_in_public_under_a_grant_is_allowed(self) -> None:
        assert effect(self.ps, "capture_photo", "device", [grant()], venue="public") is Effect.ALLOW

    def test_no_capture_in_a_private_venue_without_approval(self) -> None:
        assert effect(self.ps, "record_audio", "device", [grant()], venue="private", seconds=30) is Effect.ASK

    def test_no_capture_in_a_special_venue_and_the_tools_are_hidden(self) -> None:
        assert effect(self.ps, "capture_photo", "device", [grant()], venue="special") is Effect.DENY
        special = RequestContext(venue=Venue.SPECIAL, time=NOW)
        private = RequestContext(venue=Venue.PRIVATE, time=NOW)
        assert visible_tools(self.ps, AGENT, USER, special, self.tools) == ()
        assert visible_tools(self.ps, AGENT, USER, private, self.tools) == self.tools


class TestBaseline:
    ps = load_packs(["baseline"])

    def test_undeclared_tool_follows_its_kind(self) -> None:
        assert effect(self.ps, "summarise") is Effect.ASK
        d = decide(request("summarise"), self.ps, kinds={"summarise": ToolKind.READ_ONLY})
        assert (d.effect, d.decision_class) == (Effect.ALLOW, DecisionClass.AUTONOMOUS)

    def test_sensitive_personal_information_asks(self) -> None:
        d = decide(
            request("summarise", categories=["health"]), self.ps, kinds={"summarise": ToolKind.READ_ONLY}
        )
        assert d.effect is Effect.ASK
