"""Search and discovery (Art. 4) over the real store, on SQLite and on PostgreSQL.

The catalogue: acme.example files a clinic booker, an invoice reconciler (certified), a maths tutor
(deprecated), a retired agent and an unpublished draft; other.example files a contract translator and
an unpublished filing of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from agentgov.core.clock import FixedClock
from agentgov.db import downgrade, make_engine, upgrade
from agentgov.errors import InvalidInput
from agentgov.identity.apikeys import Principal, Role
from agentgov.registry.declaration import Declaration
from agentgov.registry.lifecycle import AgentStatus
from agentgov.registry.search import (
    SearchLimits,
    SearchQuery,
    encode_cursor,
    fts5_expression,
    index_text,
    query_terms,
    tsquery_text,
)
from agentgov.registry.search_sql import explain_search, run_search
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from tests.conftest import ADMIN, REGISTRAR, declaration, org_doc

ACME = "urn:agent:acme.example:"


@dataclass(frozen=True)
class Catalogue:
    service: RegistryService
    clock: FixedClock
    acme: str
    other: str


def _publish(service: RegistryService, domain: str, name: str, **fields: object) -> str:
    record = service.register_agent(ADMIN, domain, name, declaration(**fields))
    service.move(ADMIN, record.id, "submit")
    service.move(REGISTRAR, record.id, "approve")
    return record.id


def _interface(protocol: str, domain: str = "acme.example") -> dict[str, str]:
    return {"protocol": protocol, "url": f"https://agents.{domain}/{protocol}"}


@pytest.fixture
def catalogue(service: RegistryService, clock: FixedClock) -> Catalogue:
    acme = service.create_org(REGISTRAR, org_doc()).id
    other = service.create_org(
        REGISTRAR, {**org_doc("other.example", name="Other Org"), "country": "US", "legal_id": None}
    ).id
    step = timedelta(minutes=5)
    _publish(service, "acme.example", "clinic")  # "Books clinic appointments. 智能医疗助手", a2a, medical
    clock.advance(step)
    _publish(
        service,
        "acme.example",
        "ledger-bot",
        display_name="Ledger bot",
        description="Reconciles invoices for finance teams. 财务对账机器人",
        skills=[{"id": "reconcile", "name": "Reconcile accounts", "tags": ["accounting"]}],
        interfaces=[_interface("mcp")],
        deployment={"mode": "container"},
        application_domains=["finance"],
        data_categories=["financial"],
        certifications=[
            {
                "issuer": "Lab",
                "scope": "safety",
                "valid_from": "2026-01-01T00:00:00Z",
                "valid_until": "2027-01-01T00:00:00Z",
            }
        ],
    )
    clock.advance(step)
    tutor = _publish(
        service,
        "acme.example",
        "tutor",
        display_name="Maths tutor",
        description="Math tutoring for students. 数学辅导",
        skills=[{"id": "tutor-math", "name": "Tutor mathematics", "tags": ["education"]}],
        interfaces=[_interface("openapi"), _interface("mcp")],
        deployment={"mode": "on-device"},
        application_domains=["education"],
        data_categories=["minors"],
    )
    service.move(ADMIN, tutor, "deprecate")
    clock.advance(step)
    old = _publish(
        service, "acme.example", "old", description="Books dental appointments, retired.", skills=[]
    )
    service.move(ADMIN, old, "retire")
    clock.advance(step)
    service.register_agent(
        ADMIN, "acme.example", "draft", declaration(description="Unpublished draft 草稿", skills=[])
    )
    clock.advance(step)
    _publish(
        service,
        "other.example",
        "translator",
        display_name="Contract translator",
        description="Translates contracts with AI. 合同翻译",
        skills=[{"id": "translate", "name": "Translate", "tags": ["legal"]}],
        interfaces=[_interface("mcp", "other.example")],
        deployment={"mode": "hybrid"},
        application_domains=["office"],
        data_categories=["business"],
    )
    clock.advance(step)
    service.register_agent(
        ADMIN, "other.example", "secret", declaration(description="Secret filing 医疗", skills=[])
    )
    clock.advance(step)
    return Catalogue(service, clock, acme, other)


def _ids(catalogue: Catalogue, who: Principal | None = ADMIN, **fields: object) -> list[str]:
    return [item["id"] for item in catalogue.service.search(who, SearchQuery(**fields)).items]  # type: ignore[arg-type]


def _names(catalogue: Catalogue, who: Principal | None = ADMIN, **fields: object) -> list[str]:
    return [i.rsplit(":", 1)[1] for i in _ids(catalogue, who, **fields)]


# -- full text ---------------------------------------------------------------------------------------


def test_english_word_prefix_finds_longer_words(catalogue: Catalogue) -> None:
    assert _names(catalogue, q="appoint") == ["clinic"]
    assert _names(catalogue, q="APPOINTMENTS") == ["clinic"]
    assert _names(catalogue, q="reconcil") == ["ledger-bot"]


def test_short_words_match_whole_words_only(catalogue: Catalogue) -> None:
    assert _names(catalogue, q="ai") == ["translator"]  # not "Maths" or "draft" or "retired"
    assert _names(catalogue, q="ma") == []


def test_chinese_two_character_word_matches_inside_a_longer_run(catalogue: Catalogue) -> None:
    assert _names(catalogue, q="医疗") == ["clinic", "secret"]
    assert _names(catalogue, q="医疗助手") == ["clinic"]
    assert _names(catalogue, q="对账") == ["ledger-bot"]
    assert _names(catalogue, q="医生") == []


def test_single_chinese_character_matches_anywhere_in_a_run(catalogue: Catalogue) -> None:
    assert _names(catalogue, q="手") == ["clinic"]  # last character of 智能医疗助手
    assert _names(catalogue, q="翻") == ["translator"]  # first character of 翻译
    assert _names(catalogue, q="账") == ["ledger-bot"]  # inside 财务对账机器人


def test_every_term_must_match(catalogue: Catalogue) -> None:
    assert _names(catalogue, q="books clinic") == ["clinic"]
    assert _names(catalogue, q="books dental", include_deleted=True) == ["old"]
    assert _names(catalogue, q="books 合同") == []


def test_mixed_script_query_splits_cjk_from_latin(catalogue: Catalogue) -> None:
    assert _names(catalogue, q="合同AI") == ["translator"]


@pytest.mark.parametrize(
    "q",
    ['"books" OR translates', "NEAR(books clinic)", "books*", "-books", "books:*", "o'brien & !x | (y)"],
)
def test_query_syntax_of_the_backends_is_never_interpreted(catalogue: Catalogue, q: str) -> None:
    words = query_terms(q)
    found = _names(catalogue, q=q)
    assert all(t.isalnum() for t in words)
    assert set(found) <= {"clinic", "old", "translator"}


def test_backend_expressions_quote_every_term() -> None:
    terms = query_terms("books\" OR x* NEAR* 医疗 医 o'brien:*")
    assert terms == ["books", "or", "x", "near", "医疗", "医", "o", "brien"]
    expansions = {"books": ["bookshop"], "near": None, "brien": []}
    expected = (
        '("books" OR "bookshop") AND "or" AND "x" AND "near"* AND "医疗" AND "医"* AND "o" AND ("brien")'
    )
    assert fts5_expression(terms, expansions) == expected
    assert tsquery_text(terms) == "'books':* & 'or' & 'x' & 'near':* & '医疗' & '医':* & 'o' & 'brien':*"


def test_prefix_with_more_completions_than_expanded_still_finds_all(catalogue: Catalogue) -> None:
    store = catalogue.service.store
    narrow = SearchLimits(max_expansions=1)
    query = SearchQuery(q="boo", public_only=False, include_deleted=True)
    page = run_search(store, query, catalogue.clock.now(), narrow)
    assert [r["name"] for r in page.rows] == ["clinic", "old"]  # book, booking, books


def test_too_many_terms_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        query_terms("one two three four five six seven eight nine")


def test_long_chinese_query_is_covered_by_fewer_bigrams() -> None:
    assert query_terms("智能医疗影像辅助诊断系统") == ["智能", "医疗", "影像", "辅助", "诊断", "系统"]
    assert query_terms("智能医疗助手") == ["智能", "能医", "医疗", "疗助", "助手"]


def test_index_text_is_folded_words_and_cjk_bigrams() -> None:
    decl = Declaration.model_validate(
        declaration(display_name="Café \uff21\uff29", description="智能医疗助手\uff0cBooks")  # full-width
    )
    tokens = index_text("clinic-2", decl).split(" ")
    assert tokens[:5] == ["clinic", "2", "cafe", "ai", "智能"]
    assert tokens[5:11] == ["能医", "医疗", "疗助", "助手", "手", "books"]
    assert all(t.isalnum() for t in tokens)


# -- filters -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"skill": "book"}, ["clinic"]),
        ({"skill": "BOOK"}, ["clinic"]),
        ({"tag": "accounting"}, ["ledger-bot"]),
        ({"protocol": "mcp"}, ["ledger-bot", "tutor", "translator"]),
        ({"domain": "education"}, ["tutor"]),
        ({"data": "business"}, ["translator"]),
        ({"protocol": "mcp", "domain": "finance"}, ["ledger-bot"]),
        ({"protocol": "a2a", "domain": "finance"}, []),
    ],
)
def test_facet_filters(catalogue: Catalogue, filters: dict[str, str], expected: list[str]) -> None:
    assert _names(catalogue, filters=filters) == expected


def test_deployment_mode_status_org_and_certified_filters(catalogue: Catalogue) -> None:
    assert _names(catalogue, deployment_mode="hybrid") == ["translator"]
    assert _names(catalogue, statuses=frozenset({AgentStatus.DEPRECATED})) == ["tutor"]
    filed = frozenset({AgentStatus.FILED})
    assert _names(catalogue, statuses=filed) == ["draft", "secret"]
    assert _names(catalogue, statuses=filed | {AgentStatus.DEPRECATED}) == ["tutor", "draft", "secret"]
    assert _names(catalogue, org_id=catalogue.other) == ["translator", "secret"]
    assert _names(catalogue, certified=True) == ["ledger-bot"]
    assert "ledger-bot" not in _names(catalogue, certified=False)
    assert _names(catalogue, org_id="no-such-org") == []


def test_filters_combine_with_text(catalogue: Catalogue) -> None:
    assert _names(catalogue, q="book", filters={"domain": "medical"}) == ["clinic"]
    assert _names(catalogue, q="secret", filters={"domain": "medical"}) == ["secret"]
    assert _names(catalogue, q="医疗", org_id=catalogue.acme) == ["clinic"]
    assert _names(catalogue, q="books", statuses=frozenset({AgentStatus.REGISTERED})) == ["clinic"]
    assert _names(catalogue, q="contracts", certified=True) == []
    assert _names(catalogue, q="invoices", certified=True, deployment_mode="container") == ["ledger-bot"]


def test_unknown_filter_is_invalid_input(catalogue: Catalogue) -> None:
    with pytest.raises(InvalidInput):
        _names(catalogue, filters={"colour": "blue"})


def test_deleted_agents_only_on_request(catalogue: Catalogue) -> None:
    assert "old" not in _names(catalogue, q="books")
    assert _names(catalogue, q="books", include_deleted=True) == ["clinic", "old"]


def test_matched_fields_say_why_an_agent_matched(catalogue: Catalogue) -> None:
    query = SearchQuery(q="reconcil 对账", filters={"domain": "finance"})
    (item,) = catalogue.service.search(ADMIN, query).items
    assert item["matched"] == ["description", "skills", "filter:domain"]
    (item,) = catalogue.service.search(ADMIN, SearchQuery(q="accounting")).items
    assert item["matched"] == ["tags"]
    (item,) = catalogue.service.search(ADMIN, SearchQuery(q="ledger")).items
    assert item["matched"] == ["name", "display_name"]


# -- visibility --------------------------------------------------------------------------------------


def test_unpublished_filings_are_seen_only_by_their_developer_and_overseers(catalogue: Catalogue) -> None:
    anyone = set(_names(catalogue, None, q="医疗"))
    own = Principal(key_id="dev-acme", role=Role.DEVELOPER, org_id=catalogue.acme)
    other = Principal(key_id="dev-other", role=Role.DEVELOPER, org_id=catalogue.other)
    assert anyone == {"clinic"}
    assert set(_names(catalogue, other, q="医疗")) == {"clinic", "secret"}  # its own filing, not acme's
    assert set(_names(catalogue, own, q="草稿")) == {"draft"}
    assert _names(catalogue, other, q="草稿") == []
    assert _names(catalogue, None, statuses=frozenset({AgentStatus.FILED})) == []
    for overseer in (ADMIN, REGISTRAR, Principal(key_id="reg", role=Role.REGULATOR)):
        assert set(_names(catalogue, overseer, q="草稿")) == {"draft"}
        assert set(_names(catalogue, overseer, q="医疗")) == {"clinic", "secret"}


# -- pagination and synchronisation -------------------------------------------------------------------


def _all_pages(service: RegistryService, who: Principal | None, query: SearchQuery) -> list[list[str]]:
    pages: list[list[str]] = []
    while True:
        result = service.search(who, query)
        pages.append([item["id"] for item in result.items])
        if result.next_cursor is None:
            return pages
        query = replace(query, cursor=result.next_cursor)


@pytest.fixture
def many(service: RegistryService, clock: FixedClock) -> RegistryService:
    service.create_org(REGISTRAR, org_doc())
    for i in range(23):
        domain = "medical" if i % 2 else "finance"
        _publish(service, "acme.example", f"agent-{i:02d}", application_domains=[domain])
        clock.advance(timedelta(seconds=1 + i % 3))
    return service


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"q": "books"},
        {"q": "医疗"},
        {"filters": {"domain": "medical"}},
        {"statuses": frozenset({AgentStatus.REGISTERED})},
        {"certified": False},
        {"updated_since": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
)
def test_pagination_returns_every_item_exactly_once(many: RegistryService, fields: dict[str, object]) -> None:
    everything = many.search(None, SearchQuery(limit=100, **fields)).items  # type: ignore[arg-type]
    pages = _all_pages(many, None, SearchQuery(limit=4, **fields))  # type: ignore[arg-type]
    seen = [i for page in pages for i in page]
    assert seen == [item["id"] for item in everything]
    assert len(seen) == len(set(seen)) > 4
    assert all(len(page) == 4 for page in pages[:-1])


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"q": "books"},
        {"filters": {"domain": "medical"}},
        {"q": "医疗", "filters": {"domain": "medical"}},
        {"updated_since": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
)
def test_scan_budget_gives_short_pages_that_still_cover_everything(
    many: RegistryService, fields: dict[str, object]
) -> None:
    now = many.clock.now()
    tight = SearchLimits(scan_budget=3)
    query = SearchQuery(limit=5, **fields)  # type: ignore[arg-type]
    expected = [r["id"] for r in run_search(many.store, replace(query, limit=100), now).rows]
    seen: list[str] = []
    while True:
        page = run_search(many.store, query, now, tight)
        assert len(page.rows) <= 3
        seen += [r["id"] for r in page.rows]
        if page.next_cursor is None:
            break
        query = replace(query, cursor=page.next_cursor)
    assert seen == expected
    assert len(expected) > 5


def test_updated_since_lists_changes_in_change_order_for_followers(catalogue: Catalogue) -> None:
    service, clock = catalogue.service, catalogue.clock
    start = datetime(2026, 1, 1, tzinfo=UTC)
    everything = SearchQuery(updated_since=start, limit=2, include_deleted=True)
    order = [i for page in _all_pages(service, ADMIN, everything) for i in page]
    times = [service.get_agent(ADMIN, i).updated_at for i in order]
    assert times == sorted(times)
    assert len(order) == 7
    assert order[0] == ACME + "clinic"
    clock.advance(timedelta(minutes=1))
    service.move(REGISTRAR, ACME + "clinic", "suspend", "complaint under review")  # an old agent changes
    again = [i for page in _all_pages(service, ADMIN, everything) for i in page]
    assert again == [*order[1:], ACME + "clinic"]  # it moves to the end of the change order
    polled = service.search(ADMIN, SearchQuery(updated_since=times[-1], include_deleted=True))
    assert [item["id"] for item in polled.items] == [order[-1], ACME + "clinic"]  # from the last time seen


@pytest.mark.parametrize(
    "cursor",
    ["not base64!", "bm90IGpzb24", encode_cursor({"x": 1}), "WzEsMl0", encode_cursor({"s": "seven"})],
)
def test_bad_cursor_is_invalid_input(catalogue: Catalogue, cursor: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        catalogue.service.search(None, SearchQuery(cursor=cursor))
    assert caught.value.field == "cursor"


def test_sync_cursor_needs_its_time(catalogue: Catalogue) -> None:
    with pytest.raises(InvalidInput):
        catalogue.service.search(
            None, SearchQuery(updated_since=datetime(2026, 1, 1, tzinfo=UTC), cursor=encode_cursor({"s": 1}))
        )


# -- plans (SQLite): each source walks its own index in key order; the page reads agents by rowid ----


@pytest.mark.parametrize(
    ("fields", "walks"),
    [
        ({"q": "books"}, "walk: SCAN agents_fts VIRTUAL TABLE"),
        ({"q": "医疗", "filters": {"domain": "medical"}}, "walk: SCAN agents_fts VIRTUAL TABLE"),
        (
            {"filters": {"protocol": "mcp", "domain": "finance"}},
            "COVERING INDEX sqlite_autoindex_agent_facets_1",
        ),
        ({"org_id": "x"}, "walk: SEARCH agents USING COVERING INDEX ix_agents_org_seq (org_id=?)"),
        ({"statuses": frozenset({AgentStatus.SUSPENDED})}, "COVERING INDEX ix_agents_status_seq (status=?)"),
        (
            {"updated_since": datetime(2026, 1, 1, tzinfo=UTC)},
            "COVERING INDEX ix_agents_updated (updated_at>?)",
        ),
        ({"certified": True}, "page: SEARCH agents USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
        (
            {"deployment_mode": "cloud", "cursor": encode_cursor({"s": 3})},
            "PRIMARY KEY (rowid>? AND rowid<?)",
        ),
    ],
)
def test_sqlite_plan_walks_one_index_in_order(
    sqlite_engine: Engine, fields: dict[str, object], walks: str
) -> None:
    store = RegistryStore(sqlite_engine)
    plan = explain_search(store, SearchQuery(**fields), datetime(2026, 11, 21, tzinfo=UTC))  # type: ignore[arg-type]
    assert walks in plan[0]
    walk = [line for line in plan if line.startswith("walk:")]
    page = [line for line in plan if line.startswith("page:")]
    full_scan = [line for line in walk if "SCAN agents" in line and "VIRTUAL TABLE" not in line]
    assert not full_scan, plan
    assert not any("TEMP B-TREE" in line for line in walk), plan
    assert "SEARCH agents USING INTEGER PRIMARY KEY" in page[0], plan
    sorted_page = "updated_since" in fields  # change order: the few rows of one window are sorted
    assert any("TEMP B-TREE" in line for line in page) == sorted_page, plan


# -- migration ---------------------------------------------------------------------------------------


def test_migration_reindexes_existing_agents_and_fills_the_word_dictionary(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine)
    service = RegistryService(RegistryStore(engine), FixedClock(datetime(2026, 11, 21, tzinfo=UTC)))
    service.create_org(REGISTRAR, org_doc())
    _publish(service, "acme.example", "clinic")
    downgrade(engine, "0001")
    with engine.begin() as conn:  # the search text as revision 0001 wrote it
        conn.execute(text("UPDATE agents SET search_text = 'Books clinic appointments. 智能医疗助手'"))
    upgrade(engine)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT search_text FROM agents")).scalar_one()
        words = set(conn.execute(text("SELECT term FROM agents_fts_terms")).scalars())
    assert "医疗 疗助" in stored
    assert {"appointments", "clinic", "books", "booking", "helper"} <= words
    assert _plain_names(service, "appoint") == ["clinic"]
    engine.dispose()


def _plain_names(service: RegistryService, q: str) -> list[str]:
    return [item["name"] for item in service.search(None, SearchQuery(q=q)).items]


def test_rare_condition_is_found_in_a_later_round(many: RegistryService) -> None:
    last = ACME + "agent-22"
    many.move(REGISTRAR, last, "suspend", "under review")
    suspended = frozenset({AgentStatus.SUSPENDED})
    for fields in ({"q": "books"}, {"filters": {"domain": "finance"}}, {}):
        query = SearchQuery(limit=1, statuses=suspended, **fields)
        page = run_search(many.store, query, many.clock.now())
        assert [r["id"] for r in page.rows] == [last]
        assert page.next_cursor is None
