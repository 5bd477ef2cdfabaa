"""Run a search plan against the store, one bounded page at a time: FTS5 on SQLite, tsvector on PostgreSQL.

A page is found in rounds over growing windows of the plan's source: 4 x (limit + 1) candidates first,
four times more each following round, ``scan_budget`` in all. A round is two statements. The *walk*
reads the keys of the window's candidates from the source's index alone, in key order, from the
cursor on. The *page* statement reads the agent rows of those candidates by primary key, checks every
other condition on them and keeps the rows still wanted, in key order. A common word or facet fills
the page in the first round from a few dozen candidates; rare conditions take more rounds, and when the
budget runs out the page comes back short with a cursor where the walk stopped. No statement ever walks
more than one window, nor sorts more than one window's rows.

Walks per source, on SQLite (PostgreSQL's planner chooses among the same indexes, with statistics):

=========  ==========================================================================================
TEXT       ``agents_fts`` MATCH with ``rowid > cursor``, lazily in rowid order (FTS5 doclists)
FACET      ``agent_facets`` primary key (facet, value, agent_seq), covering
ORG        ``ix_agents_org_seq`` (org_id, seq), covering
STATUS     ``ix_agents_status_seq`` (status, seq), covering
CHANGES    ``ix_agents_updated`` (updated_at, seq), covering; its page sorts one window by that key
TABLE      none: seqs are dense, so the window is the seq range (cursor, cursor + budget]
=========  ==========================================================================================

On the page, other facets are checked with EXISTS on the facet primary key, a text condition (only
with ``updated_since``) as a semi-join on the full-text index, and status and organisation through a
unary ``+`` so that SQLite never drives from their indexes instead of the candidates' rowids.

On SQLite a prefix term is expanded through ``agents_fts_terms`` (every indexed word, kept by triggers,
see migration 0002) into an OR of exact words, which FTS5 walks lazily: FTS5's own prefix query first
merges the doclists of every matching word, tens of milliseconds for a common word at a million agents.
A prefix that begins more than ``max_expansions`` words falls back to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    column,
    event,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from agentgov.db.tables import agent_facets, agent_versions, agents
from agentgov.errors import InvalidInput
from agentgov.registry.access import PUBLIC_STATUSES
from agentgov.registry.search import (
    DEFAULT_LIMITS,
    SearchLimits,
    SearchPlan,
    SearchQuery,
    Source,
    decode_cursor,
    encode_cursor,
    fts5_expression,
    is_cjk,
    is_prefix_term,
    plan_search,
    query_terms,
    tsquery_text,
)
from agentgov.registry.store import RegistryStore

__all__ = ["SearchPage", "explain_search", "run_search"]

_fts = table("agents_fts", column("rowid"), column("agents_fts"))
_words = table("agents_fts_terms", column("term"))
_LAST_CHAR = "\U0010ffff"


@dataclass(frozen=True)
class SearchPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    terms: list[str]


class _Unindexed(ColumnElement[Any]):
    """A column the SQLite planner may not drive an index from (its documented unary ``+``); elsewhere the
    column itself. Conditions checked on each candidate row use it, so that only the walk's own index
    chooses the order and SQLite never picks, say, the status index and then sorts a million rows."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(_Unindexed)
def _column_itself(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(_Unindexed, "sqlite")
def _unary_plus(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


_status = _Unindexed(agents.c.status)
_org = _Unindexed(agents.c.org_id)


@dataclass(frozen=True)
class _Walk:
    """The source of a page: what it reads, in which key order, under which conditions of its own."""

    keys: tuple[ColumnElement[Any], ...]  # (seq,) or (updated_at, seq), as the source names them
    froms: FromClause
    conditions: tuple[ColumnElement[Any], ...]


# -- text ----------------------------------------------------------------------------------------------


def _fts_match(conn: Connection, terms: Sequence[str], limits: SearchLimits) -> str:
    """The FTS5 expression, each prefix term expanded through the dictionary of indexed words."""
    expansions: dict[str, list[str] | None] = {}
    for term in terms:
        if is_prefix_term(term) and not is_cjk(term):
            words = list(
                conn.execute(
                    select(_words.c.term)
                    .where(_words.c.term > term, _words.c.term < term + _LAST_CHAR)
                    .order_by(_words.c.term)
                    .limit(limits.max_expansions + 1)
                ).scalars()
            )
            expansions[term] = words if len(words) <= limits.max_expansions else None
    return fts5_expression(terms, expansions)


def _matches(match: str) -> ColumnElement[bool]:
    """FTS5's MATCH on the ``agents_fts`` hidden column of the same name."""
    return _fts.c.agents_fts.match(match)


def _text_condition(dialect: str, match: str) -> ColumnElement[bool]:
    """Agents whose text matches, as a condition on the agents row (for sources other than TEXT)."""
    if dialect == "sqlite":
        return agents.c.seq.in_(select(_fts.c.rowid).where(_matches(match)))
    tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), match)
    return literal_column("agents.search_vector").bool_op("@@")(tsquery)


# -- sources -------------------------------------------------------------------------------------------


def _walk(plan: SearchPlan, query: SearchQuery, dialect: str, match: str) -> _Walk:
    seq = (agents.c.seq,)
    own: ColumnElement[bool] | None = None
    if plan.source is Source.TEXT and dialect == "sqlite":
        return _Walk((_fts.c.rowid,), _fts, (_matches(match),))
    if plan.source is Source.FACET and plan.facet is not None:
        walked = agent_facets.alias("walked")
        facet, value = plan.facet
        return _Walk((walked.c.agent_seq,), walked, (walked.c.facet == facet, walked.c.value == value))
    if plan.source is Source.CHANGES and query.updated_since is not None:
        since = agents.c.updated_at >= query.updated_since
        return _Walk((agents.c.updated_at, agents.c.seq), agents, (since,))
    if plan.source is Source.TEXT:
        own = _text_condition(dialect, match)
    elif plan.source is Source.ORG:
        own = agents.c.org_id == query.org_id
    elif plan.source is Source.STATUS and plan.status is not None:
        own = agents.c.status == plan.status.value
    return _Walk(seq, agents, () if own is None else (own,))


def _after(keys: Sequence[ColumnElement[Any]], position: Sequence[Any]) -> ColumnElement[bool]:
    if len(keys) == 1:
        after: ColumnElement[bool] = keys[0] > position[0]
        return after
    (time_key, seq_key), (at, seq) = keys, position
    # Written so that the first conjunct is an index range on (updated_at, seq).
    return and_(time_key >= at, or_(time_key > at, seq_key > seq))


# -- conditions on the agent row -----------------------------------------------------------------------


def _row_conditions(
    plan: SearchPlan, query: SearchQuery, dialect: str, match: str, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if plan.terms and plan.source is not Source.TEXT:
        conditions.append(_text_condition(dialect, match))
    for facet, value in plan.checked_facets:
        conditions.append(
            exists().where(
                agent_facets.c.facet == facet,
                agent_facets.c.value == value,
                agent_facets.c.agent_seq == agents.c.seq,
            )
        )
    if query.deployment_mode:
        conditions.append(agents.c.deployment_mode == query.deployment_mode)
    if query.statuses is not None and plan.source is not Source.STATUS:
        conditions.append(_status.in_(sorted(s.value for s in query.statuses)))
    if query.certified is True:
        conditions.append(agents.c.certified_until > now)
    elif query.certified is False:
        conditions.append(or_(agents.c.certified_until.is_(None), agents.c.certified_until <= now))
    if query.public_only:
        public = _status.in_(sorted(s.value for s in PUBLIC_STATUSES))
        conditions.append(or_(public, _org == query.own_org) if query.own_org else public)
    if query.org_id is not None and plan.source is not Source.ORG:
        conditions.append(_org == query.org_id)
    if not query.include_deleted:
        conditions.append(agents.c.deleted.is_(False))
    return conditions


# -- statements ----------------------------------------------------------------------------------------


def _walk_statement(walk: _Walk, after: Sequence[Any] | None, size: int) -> Select[Any]:
    """The keys of the next ``size`` candidates, read from the source's index alone."""
    stmt = select(*walk.keys).select_from(walk.froms).where(*walk.conditions)
    if after is not None:
        stmt = stmt.where(_after(walk.keys, after))
    return stmt.order_by(*walk.keys).limit(size)


def _page_statement(
    candidates: ColumnElement[bool], conditions: Sequence[ColumnElement[bool]], changes: bool, rows: int
) -> Select[Any]:
    """The agent rows (with their current declaration) among ``candidates`` that meet ``conditions``."""
    head = agents.join(
        agent_versions,
        and_(agent_versions.c.agent_seq == agents.c.seq, agent_versions.c.version == agents.c.version),
    )
    order = (_Unindexed(agents.c.updated_at), agents.c.seq) if changes else (agents.c.seq,)
    stmt = select(agents, agent_versions.c.body).select_from(head).where(candidates, *conditions)
    return stmt.order_by(*order).limit(rows)


def _position(cursor: str, plan: SearchPlan) -> tuple[Any, ...]:
    value = decode_cursor(cursor)
    try:
        seq = int(value["s"])
        if plan.source is Source.CHANGES:
            at = datetime.fromisoformat(str(value["t"]))
            if at.tzinfo is None:
                raise ValueError("naive time in cursor")
            return (at, seq)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("cursor is not one this registry issued", field="cursor") from exc
    return (seq,)


def _mark(position: Sequence[Any]) -> str:
    if len(position) == 1:
        return encode_cursor({"s": int(position[0])})
    return encode_cursor({"s": int(position[1]), "t": position[0].isoformat()})


class _Prepared:
    """One page's plan and statements, ready to run on a connection."""

    def __init__(self, conn: Connection, query: SearchQuery, now: datetime, limits: SearchLimits) -> None:
        self.dialect = conn.dialect.name
        self.terms = query_terms(query.q, limits) if query.q else []
        self.plan = plan_search(query, self.terms)
        self.position = _position(query.cursor, self.plan) if query.cursor else None
        if not self.terms:
            match = ""
        elif self.dialect == "sqlite":
            match = _fts_match(conn, self.terms, limits)
        else:
            match = tsquery_text(self.terms)
        self.walk = _walk(self.plan, query, self.dialect, match)
        self.conditions = _row_conditions(self.plan, query, self.dialect, match, now)
        self.limit = query.limit
        self.changes = self.plan.source is Source.CHANGES

    def candidates(
        self, conn: Connection, after: tuple[Any, ...] | None, size: int
    ) -> tuple[ColumnElement[bool], tuple[Any, ...] | None]:
        """The next ``size`` candidates, as a condition on agents, and the key of the last of them (None
        when fewer remain: the source ends here)."""
        start = after[-1] if after else 0
        if self.plan.source is Source.TABLE:
            # seqs are dense (agents are never deleted, only tombstoned): the window is a seq range.
            return and_(agents.c.seq > start, agents.c.seq <= start + size), (start + size,)
        keys = [tuple(k) for k in conn.execute(_walk_statement(self.walk, after, size))]
        last = keys[-1] if len(keys) == size else None
        return agents.c.seq.in_([k[-1] for k in keys]), last

    def page(self, candidates: ColumnElement[bool], need: int) -> Select[Any]:
        return _page_statement(candidates, self.conditions, self.changes, need)

    def more_after(self, conn: Connection, last: tuple[Any, ...]) -> bool:
        if self.plan.source is not Source.TABLE:
            return True  # the walk stopped on a real candidate, not at the end of the source
        return conn.execute(select(literal(1)).where(agents.c.seq > last[0]).limit(1)).first() is not None

    def windows(self, budget: int) -> list[int]:
        """Candidates examined per round: a first window that fills most pages at once, growing fourfold
        while the page is not full, together at most ``budget``. The table needs no walk: one round."""
        if self.plan.source is Source.TABLE:
            return [budget]
        sizes: list[int] = []
        size = _FIRST_WINDOW * (self.limit + 1)
        while sum(sizes) < budget:
            sizes.append(min(size, budget - sum(sizes)))
            size *= _GROWTH
        return sizes


_FIRST_WINDOW = 4  # candidates per wanted row in the first round: enough when a quarter of them pass
_GROWTH = 4


def _key(row: dict[str, Any], source: Source) -> tuple[Any, ...]:
    return (row["updated_at"], row["seq"]) if source is Source.CHANGES else (row["seq"],)


def run_search(
    store: RegistryStore, query: SearchQuery, now: datetime, limits: SearchLimits = DEFAULT_LIMITS
) -> SearchPage:
    """One page of ``query``: rounds of (walk, page) over growing windows of the source, until the page
    is full, the source ends or ``scan_budget`` candidates were examined (then the page may be short)."""
    rows: list[dict[str, Any]] = []
    with store.reading() as conn:
        prepared = _Prepared(conn, query, now, limits)
        after = prepared.position
        last: tuple[Any, ...] | None = None
        for size in prepared.windows(limits.scan_budget):
            candidates, last = prepared.candidates(conn, after, size)
            need = query.limit + 1 - len(rows)
            rows += [dict(r) for r in conn.execute(prepared.page(candidates, need)).mappings()]
            if len(rows) > query.limit or last is None:
                break
            after = last
        more = last is not None and len(rows) <= query.limit and prepared.more_after(conn, last)
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        next_cursor = _mark(_key(rows[-1], prepared.plan.source))
    elif more and last is not None:
        next_cursor = _mark(last)
    return SearchPage(rows, next_cursor, prepared.terms)


def explain_search(
    store: RegistryStore,
    query: SearchQuery,
    now: datetime,
    limits: SearchLimits = DEFAULT_LIMITS,
    analyze: bool = False,
) -> list[str]:
    """The backend's plans for the first round of ``query``: the walk statement's lines prefixed
    ``walk:``, then the page statement's prefixed ``page:``. EXPLAIN QUERY PLAN on SQLite, EXPLAIN
    (ANALYZE when asked) on PostgreSQL. For tuning, and for tests that defend the plans' shape."""
    captured: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    lines: list[str] = []
    with store.reading() as conn:
        prepared = _Prepared(conn, query, now, limits)
        size = prepared.windows(limits.scan_budget)[0]
        event.listen(conn, "before_cursor_execute", capture)
        try:
            candidates, _last = prepared.candidates(conn, prepared.position, size)
            conn.execute(prepared.page(candidates, query.limit + 1)).all()
        finally:
            event.remove(conn, "before_cursor_execute", capture)
        if prepared.dialect == "sqlite":
            prefix = "EXPLAIN QUERY PLAN "
        else:
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
        labels = ("page",) if prepared.plan.source is Source.TABLE else ("walk", "page")
        for label, (statement, parameters) in zip(labels, captured[-len(labels) :], strict=True):
            result = conn.exec_driver_sql(prefix + statement, parameters)
            lines += [f"{label}: {row[-1]}" for row in result]  # SQLite: (id, parent, _, detail)
    return lines
