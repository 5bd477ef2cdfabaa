"""Fences in Cedar: refusing bad policies with their position, digests, and properties of evaluation."""

from __future__ import annotations

import random

import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentgov.errors import InvalidInput
from agentgov.policy import Effect, InvalidPack, InvalidPolicy, PolicySet, ToolKind, load_packs
from agentgov.policy.cedar_text import error_offset, line_column
from tests.policy.helpers import decide, pack, policy_set, request

GOOD = """// demo
@id("read") @decision_class("autonomous")
permit (principal, action in Action::"demo:read", resource);

@id("big")
forbid (principal, action == Action::"act", resource)
when { context.args has amount && context.args.amount > 100 };
"""


def refused(text: str) -> InvalidPolicy:
    with pytest.raises(InvalidPolicy) as caught:
        policy_set(text)
    return caught.value


def test_syntax_error_is_refused_with_its_line_and_column() -> None:
    text = GOOD + '\n@id("broken")\nforbid (principal, action, resource)\n  when { context.venue == };\n'
    error = refused(text)
    assert (error.code, error.source, error.line, error.column) == ("invalid_policy", "demo.cedar", 11, 27)
    assert error.detail.startswith("demo.cedar:11:27: unexpected token `}`")
    problem = error.to_problem()
    assert (problem["status"], problem["line"], problem["column"]) == (422, 11, 27)


def test_unterminated_policy_points_at_its_end() -> None:
    error = refused('@id("a")\npermit (principal, action, resource)')
    assert (error.line, error.column) == (2, 37)


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("\n\npermit (principal, action, resource) when { context.args.amout > 1 };", 3, 53, "amout"),
        ('permit (principal, action == Action::"nope", resource);', 1, 30, "unrecognized action"),
        (
            '\npermit (principal, action, resource) when { context.venue == Venue::"privte" };',
            2,
            62,
            "privte",
        ),
    ],
)
def test_policy_that_does_not_validate_against_the_schema_is_refused_where_it_fails(
    text: str, line: int, column: int, words: str
) -> None:
    error = refused(text)
    assert "does not validate against the schema" in error.message
    assert words in error.message
    assert (error.line, error.column) == (line, column)


@pytest.mark.parametrize(
    ("annotations", "words"),
    [
        ('@decison_class("user_only")', "unknown annotation @decison_class"),
        ('@decision_class("sometimes")', "@decision_class('sometimes')"),
        ('@outcome("maybe")', "@outcome('maybe')"),
        ('@redact("body")', "not a list of valid names"),
        ('@outcome("redact")', "go together"),
        ('@id("has space")', "not a valid id"),
    ],
)
def test_bad_annotation_is_refused_at_the_annotation(annotations: str, words: str) -> None:
    error = refused(GOOD + f"\n{annotations}\npermit (principal, action, resource);")
    assert words in error.message
    assert (error.line, error.column) == (9, 1)


def test_forbid_cannot_carry_a_class_or_redaction() -> None:
    assert (
        "belongs on a permit"
        in refused('@decision_class("autonomous") forbid (principal, action, resource);').message
    )
    assert (
        "@outcome('allow') on forbid"
        in refused('@outcome("allow") forbid (principal, action, resource);').message
    )


def test_duplicate_policy_id_is_refused() -> None:
    error = refused(GOOD + '\n@id("read") permit (principal, action, resource);')
    assert "used twice" in error.message
    assert error.policy_id == "read"


def test_templates_are_refused() -> None:
    assert "templates" in refused("permit (principal == ?principal, action, resource);").message


def test_error_offset_finds_the_first_bad_token() -> None:
    text = (
        "permit (principal, action, resource);\nforbid (principal, action, resource)\n  when { 1 + 2 ) };\n"
    )
    assert line_column(text, error_offset(text)) == (3, 16)


def test_pack_with_conflicting_tool_declarations_is_refused() -> None:
    one = pack("", {"t": {"kind": "read_only"}}, name="one")
    two = pack("", {"t": {"kind": "side_effect"}}, name="two")
    with pytest.raises(InvalidPack):
        PolicySet.build([one, two])


def test_unknown_or_mistyped_setting_is_refused() -> None:
    with pytest.raises(InvalidPack) as caught:
        load_packs(["payments"], settings={"known_payee": ["x"]})
    assert caught.value.field == "settings"
    with pytest.raises(InvalidPack):
        load_packs(["payments"], settings={"ask_amount_over": "lots"})
    with pytest.raises(InvalidInput):
        pack("", settings={"limit": {"type": "Long", "default": "ten"}})


def test_digest_ignores_layout_comments_and_order() -> None:
    policies = [p.strip() + ";" for p in GOOD.split(";") if p.strip()]
    shuffled = policies[::-1]
    relaid = "\n\n   // moved around\n".join(p.replace(" (", "(").replace(", ", ",\n  ") for p in shuffled)
    assert policy_set(relaid).digest == policy_set(GOOD).digest


def test_digest_changes_with_meaning_settings_and_tools() -> None:
    base = policy_set(GOOD).digest
    assert policy_set(GOOD.replace("> 100", "> 101")).digest != base
    assert policy_set(GOOD.replace('"autonomous"', '"user_authorized"')).digest != base
    payments = load_packs(["payments"]).digest
    assert load_packs(["payments"], settings={"known_payees": ["DE89"]}).digest != payments


def test_reparsing_each_decision_decides_the_same() -> None:
    ps = load_packs(["baseline", "payments", "email", "files"], settings={"org_domains": ["acme.example"]})
    slow = ps.reparsing()
    cases = [
        request("get_balance", "bank"),
        request("send_money", "bank", recipient="DE1", amount=5000.5),
        request("send_money", "bank", recipient="DE1", amount=-1),
        request("send_email", "mail", recipients=["a@acme.example"], cc=["b@else.example"]),
        request("delete_file", "fs", file_id="1"),
        request("unknown", "x", categories=["health"]),
    ]
    for case in cases:
        assert decide(case, ps) == decide(case, slow)


# -- properties ----------------------------------------------------------------------------------------

TOOLS = {
    "t1": {"kind": "side_effect", "groups": ["g:x"], "arguments": {"amount": "Long"}},
    "t2": {"kind": "side_effect", "groups": ["g:x"], "arguments": {"amount": "Long"}},
    "t3": {"kind": "read_only", "arguments": {"amount": "Long"}},
}
scopes = st.sampled_from(
    ["action", 'action == Action::"t1"', 'action == Action::"t3"', 'action in Action::"g:x"']
)
conditions = st.sampled_from(
    [
        "",
        ' when { context.venue == Venue::"private" }',
        " when { context.args has amount && context.args.amount > 10 }",
        " unless { context.args has amount && context.args.amount > 10 }",
    ]
)
plain = st.tuples(st.sampled_from(["permit", "forbid"]), scopes, conditions)
requests = st.tuples(
    st.sampled_from(["t1", "t2", "t3", "t4"]), st.sampled_from(["public", "private"]), st.integers(0, 20)
)
RANK = {Effect.DENY: 0, Effect.ASK: 1, Effect.ALLOW: 2, Effect.REDACT: 2}
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def text_of(policies: list[tuple[str, str, str]]) -> str:
    return "\n".join(f"{effect} (principal, {scope}, resource){cond};" for effect, scope, cond in policies)


@PROPERTY
@given(st.lists(plain, max_size=6), requests)
def test_plain_policies_decide_as_cedar_does(
    policies: list[tuple[str, str, str]], req: tuple[str, str, int]
) -> None:
    tool, venue, amount = req
    text = text_of(policies)
    ps = policy_set(text, TOOLS)
    everything_read_only = dict.fromkeys(["t1", "t2", "t3", "t4"], ToolKind.READ_ONLY)
    ours = decide(request(tool, venue=venue, amount=amount), ps, kinds=everything_read_only)
    venue_entity = {"__entity": {"type": "Venue", "id": venue}}
    context = {"venue": venue_entity, "args": {"amount": amount} if tool in TOOLS else {}}
    cedar_request = {
        "principal": {"type": "Agent", "id": "agent-1"},
        "action": {"type": "Action", "id": tool},
        "resource": {"type": "Server", "id": "srv"},
        "context": context,
    }
    entities = [
        {"uid": {"type": "Action", "id": t}, "attrs": {}, "parents": [{"type": "Action", "id": "g:x"}]}
        for t in ("t1", "t2")
    ]
    theirs = cedarpy.is_authorized(cedar_request, text, entities)
    assert (ours.effect is Effect.ALLOW) == theirs.allowed


@PROPERTY
@given(st.lists(plain, max_size=5), st.tuples(scopes, conditions), requests)
def test_adding_a_forbid_never_makes_a_decision_more_permissive(
    policies: list[tuple[str, str, str]], extra: tuple[str, str], req: tuple[str, str, int]
) -> None:
    tool, venue, amount = req
    base = '@id("all") @outcome("ask") permit (principal, action, resource);\n' + text_of(policies)
    before = decide(request(tool, venue=venue, amount=amount), policy_set(base, TOOLS))
    after = decide(
        request(tool, venue=venue, amount=amount),
        policy_set(base + "\n" + text_of([("forbid", *extra)]), TOOLS),
    )
    assert RANK[after.effect] <= RANK[before.effect]
    if before.effect is Effect.DENY:
        assert after.effect is Effect.DENY


@PROPERTY
@given(st.lists(plain, min_size=1, max_size=6, unique=True), st.randoms(use_true_random=False))
def test_digest_is_stable_under_reordering_and_whitespace(
    policies: list[tuple[str, str, str]], rnd: random.Random
) -> None:
    shuffled = list(policies)
    rnd.shuffle(shuffled)
    spaced = text_of(shuffled).replace(" (", "\n  (\t").replace(";", " ;\n// note\n")
    assert policy_set(spaced, TOOLS).digest == policy_set(text_of(policies), TOOLS).digest


@PROPERTY
@given(st.lists(plain, max_size=5), requests)
def test_decision_is_deterministic(policies: list[tuple[str, str, str]], req: tuple[str, str, int]) -> None:
    tool, venue, amount = req
    text = '@id("all") permit (principal, action, resource);\n' + text_of(policies)
    first = decide(request(tool, venue=venue, amount=amount), policy_set(text, TOOLS))
    again = decide(request(tool, venue=venue, amount=amount), policy_set(text, TOOLS))
    assert first == again


@pytest.mark.parametrize("source", ["injection", "unread", "sources:many"])
def test_no_policy_or_pack_may_trust_what_was_planted_unread_or_not_told_apart(source: str) -> None:
    error = refused(
        f'@id("t") @trusted_sources("tool:look, {source}")\npermit (principal, action, resource);'
    )
    assert source in error.detail
    with pytest.raises(InvalidInput, match="never trusted"):
        pack("", trusted_sources=[source])


# -- the memo of Cedar's answers -----------------------------------------------------------------------


def counting_cedar(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each request Cedar is asked, by its context."""
    asked: list[str] = []
    real = cedarpy.is_authorized

    def spy(request: dict[str, object], *args: object) -> cedarpy.AuthzResult:
        asked.append(str(request["context"]))
        return real(request, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(cedarpy, "is_authorized", spy)
    return asked


def test_a_request_of_the_same_shape_is_answered_from_the_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    ps = policy_set(GOOD)
    asked = counting_cedar(monkeypatch)
    first = decide(request("act", amount=500), ps)
    again = decide(request("act", amount=500), ps)
    assert first == again
    assert "big" in first.policies
    assert len(asked) == 1
    # Another value the fence reads, another agent, another server: each is Cedar's to answer.
    assert "big" not in decide(request("act", amount=5), ps).policies
    decide(request("act", amount=500, agent_id="agent-2"), ps)
    decide(request("act", "other-srv", amount=500), ps)
    assert len(asked) == 4


def test_the_memo_is_bounded_and_forgets_the_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    ps = policy_set(GOOD).remembering(2)
    asked = counting_cedar(monkeypatch)
    for amount in (1, 2, 3):
        decide(request("act", amount=amount), ps)
    decide(request("act", amount=3), ps)  # kept
    decide(request("act", amount=1), ps)  # forgotten: asked again
    assert [c.count('"amount":') for c in asked] == [1, 1, 1, 1]
    assert len(asked) == 4
    assert '"amount":1' in asked[-1]


def test_a_memo_of_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        policy_set(GOOD).remembering(-1)


def test_a_long_context_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    ps = policy_set(
        'permit (principal, action == Action::"act", resource)\n'
        'when { context.args has to && context.args.to like "x*" };'
    )
    asked = counting_cedar(monkeypatch)
    for _ in range(2):
        decide(request("act", to="x" * 5000), ps)
        decide(request("act", to="x" * 50), ps)
    assert [len(c) > 5000 for c in asked] == [True, False, True]


def test_an_answer_with_an_engine_error_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    ps = policy_set(GOOD)
    real = cedarpy.is_authorized
    calls = 0

    def failing(request: dict[str, object], *args: object) -> object:
        nonlocal calls
        calls += 1
        answer = real(request, *args)  # type: ignore[arg-type]
        answer.diagnostics._diagnostics["errors"] = ["the evaluator is out of memory"]
        return answer

    monkeypatch.setattr(cedarpy, "is_authorized", failing)
    first = decide(request("act", amount=500), ps)
    decide(request("act", amount=500), ps)
    assert calls == 2
    assert first.effect is Effect.DENY


@PROPERTY
@given(st.lists(plain, max_size=6), st.lists(requests, min_size=1, max_size=30))
def test_remembering_never_changes_a_decision(
    policies: list[tuple[str, str, str]], reqs: list[tuple[str, str, int]]
) -> None:
    remembering = policy_set(text_of(policies), TOOLS).remembering(3)
    asking = remembering.remembering(0)
    for tool, venue, amount in reqs + reqs:  # every request at least twice
        case = request(tool, venue=venue, amount=amount)
        assert decide(case, remembering) == decide(case, asking)
