"""The registry's SQL adapter: the only code in ``registry/`` that speaks SQLAlchemy.

Database exceptions are translated here (STYLE 3): a unique-constraint violation is a Conflict, any
other database failure is Unavailable. Every public method runs in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from agentgov.db.store import SqlStore
from agentgov.db.tables import (
    agent_aliases,
    agent_facets,
    agent_versions,
    agents,
    lifecycle_events,
    organisations,
)
from agentgov.errors import NotFound
from agentgov.registry.aliases import AGENT_ID_PREFIX

# PostgreSQL NOTIFY channel of lifecycle moves: the payload is the agent id (guard/status.py listens).
STATUS_CHANNEL = "agentgov_registry"

__all__ = ["RegistryStore"]


class RegistryStore(SqlStore):
    store_name = "registry"

    def conflict_detail(self, exc: IntegrityError) -> str:
        return _conflict_detail(exc)

    # organisations -------------------------------------------------------------------------------

    def insert_org(self, row: Mapping[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(insert(organisations).values(**row))

    def get_org(self, key: str) -> RowMapping:
        """By id or by domain."""
        with self.reading() as conn:
            row = (
                conn.execute(
                    select(organisations).where((organisations.c.id == key) | (organisations.c.domain == key))
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"no organisation {key!r}")
        return row

    def list_orgs(self, limit: int, after: str | None) -> list[RowMapping]:
        query = select(organisations).order_by(organisations.c.id).limit(limit)
        if after:
            query = query.where(organisations.c.id > after)
        with self.reading() as conn:
            return list(conn.execute(query).mappings())

    def set_domain_proof(self, org_id: str, proof: dict[str, Any], at: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                update(organisations)
                .where(organisations.c.id == org_id)
                .values(domain_proof=proof, domain_verified_at=at, updated_at=at)
            )

    # agents --------------------------------------------------------------------------------------

    def insert_agent(
        self,
        conn: Connection,
        row: Mapping[str, Any],
        version: Mapping[str, Any],
        facets: Sequence[tuple[str, str]],
        aliases: Sequence[tuple[str, str]],
    ) -> int:
        seq = conn.execute(insert(agents).values(**row).returning(agents.c.seq)).scalar_one()
        conn.execute(insert(agent_versions).values(agent_seq=seq, **version))
        self._write_facets(conn, seq, facets)
        for alias, scheme in aliases:
            conn.execute(insert(agent_aliases).values(alias=alias, scheme=scheme, agent_seq=seq))
        return int(seq)

    def add_version(
        self,
        conn: Connection,
        seq: int,
        head: Mapping[str, Any],
        version: Mapping[str, Any],
        facets: Sequence[tuple[str, str]],
    ) -> None:
        conn.execute(update(agents).where(agents.c.seq == seq).values(**head))
        conn.execute(insert(agent_versions).values(agent_seq=seq, **version))
        conn.execute(delete(agent_facets).where(agent_facets.c.agent_seq == seq))
        self._write_facets(conn, seq, facets)

    @staticmethod
    def _write_facets(conn: Connection, seq: int, facets: Sequence[tuple[str, str]]) -> None:
        rows = [{"facet": f, "value": v, "agent_seq": seq} for f, v in sorted(set(facets))]
        if rows:
            conn.execute(insert(agent_facets), rows)

    def add_alias(self, conn: Connection, seq: int, alias: str, scheme: str, at: datetime) -> None:
        conn.execute(insert(agent_aliases).values(alias=alias, scheme=scheme, agent_seq=seq))
        conn.execute(update(agents).where(agents.c.seq == seq).values(updated_at=at))

    def set_agent_fields(self, conn: Connection, seq: int, **values: Any) -> None:
        conn.execute(update(agents).where(agents.c.seq == seq).values(**values))

    def add_event(self, conn: Connection, seq: int, event: Mapping[str, Any]) -> None:
        conn.execute(insert(lifecycle_events).values(agent_seq=seq, **event))

    @staticmethod
    def announce(conn: Connection, agent_id: str) -> None:
        """On PostgreSQL, tell every listening guard that this agent's status changed (on commit)."""
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_notify(:channel, :agent)"), {"channel": STATUS_CHANNEL, "agent": agent_id}
            )

    def lock_agent(self, conn: Connection, agent_id: str) -> RowMapping:
        """The head row of an agent, locked for update where the backend supports it."""
        query = select(agents).where(agents.c.id == agent_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"no agent {agent_id!r}")
        return row

    def find_agent(self, key: str) -> RowMapping:
        """Head row and current declaration, by id or by alias."""
        with self.reading() as conn:
            return self._find(conn, key)

    def find_agent_with_aliases(self, key: str) -> tuple[RowMapping, list[RowMapping]]:
        """Head row, current declaration and aliases in one read (the hot path of a GET)."""
        with self.reading() as conn:
            row = self._find(conn, key)
            return row, list(conn.execute(_aliases_query(row["seq"])).mappings())

    @staticmethod
    def _find(conn: Connection, key: str) -> RowMapping:
        head = select(agents, agent_versions.c.body).join(
            agent_versions,
            (agent_versions.c.agent_seq == agents.c.seq) & (agent_versions.c.version == agents.c.version),
        )
        # Ids read urn:agent:...; aliases never do (``aliases.check_alias``), so one query decides.
        if key.startswith(AGENT_ID_PREFIX):
            row = conn.execute(head.where(agents.c.id == key)).mappings().first()
        else:
            by_alias = select(agent_aliases.c.agent_seq).where(agent_aliases.c.alias == key)
            row = conn.execute(head.where(agents.c.seq == by_alias.scalar_subquery())).mappings().first()
        if row is None:
            raise NotFound(f"no agent {key!r}")
        return row

    def aliases_of(self, seq: int) -> list[RowMapping]:
        with self.reading() as conn:
            return list(conn.execute(_aliases_query(seq)).mappings())

    def versions_of(self, seq: int) -> list[RowMapping]:
        with self.reading() as conn:
            return list(
                conn.execute(
                    select(agent_versions)
                    .where(agent_versions.c.agent_seq == seq)
                    .order_by(agent_versions.c.version)
                ).mappings()
            )

    def version_of(self, seq: int, version: int) -> RowMapping | None:
        with self.reading() as conn:
            return (
                conn.execute(
                    select(agent_versions).where(
                        agent_versions.c.agent_seq == seq, agent_versions.c.version == version
                    )
                )
                .mappings()
                .first()
            )

    def events_of(self, seq: int) -> list[RowMapping]:
        with self.reading() as conn:
            return list(
                conn.execute(
                    select(lifecycle_events)
                    .where(lifecycle_events.c.agent_seq == seq)
                    .order_by(lifecycle_events.c.id)
                ).mappings()
            )

    def last_ledger_index(self, seq: int) -> int | None:
        """The highest ledger index among an agent's recorded versions and moves."""
        with self.reading() as conn:
            found = [
                conn.execute(select(func.max(t.c.ledger_index)).where(t.c.agent_seq == seq)).scalar()
                for t in (agent_versions, lifecycle_events)
            ]
        return max((int(f) for f in found if f is not None), default=None)

    def count_agents(self) -> int:
        with self.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(agents)).scalar_one())


def _aliases_query(seq: int) -> Select[Any]:
    return (
        select(agent_aliases.c.alias, agent_aliases.c.scheme)
        .where(agent_aliases.c.agent_seq == seq)
        .order_by(agent_aliases.c.alias)
    )


_DUPLICATE_AGENT = "an agent with this name already exists in the organisation (ids are never reassigned)"


def _conflict_detail(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    for needle, detail in (
        ("agents.org_id, agents.name", "an agent with this name already exists in the organisation"),
        ("uq_agents_org_id_name", "an agent with this name already exists in the organisation"),
        ("agents.id", _DUPLICATE_AGENT),
        ("uq_agents_id", _DUPLICATE_AGENT),
        ("agent_aliases", "this alias already names an agent"),
        ("organisations.name", "an organisation with this name already exists"),
        ("uq_organisations_name", "an organisation with this name already exists"),
        ("organisations.domain", "an organisation with this domain already exists"),
        ("uq_organisations_domain", "an organisation with this domain already exists"),
        ("organisations.legal_id", "an organisation with this legal identifier already exists"),
        ("uq_organisations_legal_id", "an organisation with this legal identifier already exists"),
    ):
        if needle in text:
            return detail
    return "the change conflicts with an existing record"
