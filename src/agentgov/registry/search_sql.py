"""Run a SearchQuery against the store: FTS5 on SQLite, tsvector on PostgreSQL. Keyset pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, column, or_, select, table, text
from sqlalchemy.exc import SQLAlchemyError

from agentgov.db.tables import agent_facets, agent_versions, agents
from agentgov.errors import InvalidInput, Unavailable
from agentgov.registry.access import PUBLIC_STATUSES
from agentgov.registry.search import SearchQuery, decode_cursor, encode_cursor, query_terms
from agentgov.registry.store import RegistryStore

__all__ = ["SearchPage", "run_search"]

_fts = table("agents_fts", column("rowid"))


class SearchPage:
    def __init__(self, rows: list[dict[str, Any]], next_cursor: str | None, terms: list[str]) -> None:
        self.rows = rows
        self.next_cursor = next_cursor
        self.terms = terms


def _text_condition(dialect: str, terms: list[str]) -> Any:
    if dialect == "sqlite":
        # Each term quoted (a phrase of one token) with a prefix star: no FTS syntax from the user.
        match = " AND ".join('"' + t.replace('"', "") + '"*' for t in terms)
        return agents.c.seq.in_(select(_fts.c.rowid).where(text("agents_fts MATCH :m").bindparams(m=match)))
    tsquery = " & ".join(t.replace("'", "") + ":*" for t in terms)
    return text("agents.search_vector @@ to_tsquery('simple', :tsq)").bindparams(tsq=tsquery)


def _build(query: SearchQuery, dialect: str, now: datetime, terms: list[str]) -> Select[Any]:
    stmt = select(agents, agent_versions.c.body).join(
        agent_versions,
        and_(agent_versions.c.agent_seq == agents.c.seq, agent_versions.c.version == agents.c.version),
    )
    if terms:
        stmt = stmt.where(_text_condition(dialect, terms))
    for facet, value in sorted(query.filters.items()):
        stmt = stmt.where(
            agents.c.seq.in_(
                select(agent_facets.c.agent_seq).where(
                    agent_facets.c.facet == facet, agent_facets.c.value == value.lower()
                )
            )
        )
    if query.deployment_mode:
        stmt = stmt.where(agents.c.deployment_mode == query.deployment_mode)
    if query.statuses is not None:
        stmt = stmt.where(agents.c.status.in_(sorted(s.value for s in query.statuses)))
    if query.certified is True:
        stmt = stmt.where(agents.c.certified_until > now)
    elif query.certified is False:
        stmt = stmt.where(or_(agents.c.certified_until.is_(None), agents.c.certified_until <= now))
    if query.public_only:
        public = agents.c.status.in_(sorted(s.value for s in PUBLIC_STATUSES))
        stmt = stmt.where(or_(public, agents.c.org_id == query.own_org) if query.own_org else public)
    if query.org_id:
        stmt = stmt.where(agents.c.org_id == query.org_id)
    if not query.include_deleted:
        stmt = stmt.where(agents.c.deleted.is_(False))
    if query.updated_since is not None:
        stmt = stmt.where(agents.c.updated_at >= query.updated_since)
    return stmt


def _position(cursor: str) -> dict[str, Any]:
    value = decode_cursor(cursor)
    try:
        position: dict[str, Any] = {"s": int(value["s"])}
        if "t" in value:
            position["t"] = datetime.fromisoformat(str(value["t"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("cursor is not one this registry issued", field="cursor") from exc
    return position


def run_search(store: RegistryStore, query: SearchQuery, now: datetime) -> SearchPage:
    terms = query_terms(query.q) if query.q else []
    dialect = store.engine.dialect.name
    stmt = _build(query, dialect, now, terms)
    sync = query.updated_since is not None
    position = _position(query.cursor) if query.cursor else None
    if sync:
        # Synchronisation order: by change time, then seq; a follower resumes where it stopped.
        if position is not None:
            after_time, after_seq = position.get("t"), position["s"]
            stmt = stmt.where(
                or_(
                    agents.c.updated_at > after_time,
                    and_(agents.c.updated_at == after_time, agents.c.seq > after_seq),
                )
            )
        stmt = stmt.order_by(agents.c.updated_at, agents.c.seq)
    else:
        if position is not None:
            stmt = stmt.where(agents.c.seq > position["s"])
        stmt = stmt.order_by(agents.c.seq)
    stmt = stmt.limit(query.limit + 1)
    try:
        with store.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
    except SQLAlchemyError as exc:
        raise Unavailable(f"search failed: {exc.__class__.__name__}") from exc
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        last = rows[-1]
        mark: dict[str, Any] = {"s": int(last["seq"])}
        if sync:
            mark["t"] = last["updated_at"].isoformat()
        next_cursor = encode_cursor(mark)
    return SearchPage(rows, next_cursor, terms)
