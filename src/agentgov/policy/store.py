"""The authority's storage ports: the :class:`Recorder` of events, and the SQL adapter of grants, usage,
policy sets, deployments, decisions and signing keys.

Database exceptions are translated here (STYLE 3): a unique-constraint violation is a Conflict, any
other database failure is Unavailable. Every public method runs in one transaction; a decision runs
in one too (:meth:`AuthorityStore.deciding`): its reads, its row, and its event when the recorder
writes to the same database (:class:`TransactionalRecorder`), committed together.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, Engine, RowMapping, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from agentgov.db.driver import DriverTransaction, SerialWriter
from agentgov.db.store import SqlStore
from agentgov.policy.tables import (
    decisions,
    grant_usage,
    grants,
    policy_deployments,
    policy_sets,
    user_signing_keys,
)

__all__ = [
    "AuthorityStore",
    "DecisionUnit",
    "MemoryRecorder",
    "RecordedEvent",
    "Recorder",
    "TransactionalRecorder",
]


class Recorder(Protocol):
    """Where every decision, grant and approval event goes (Art. 7: verifiable, traceable behaviour).

    ``record`` returns the index of the entry on the record, or None when the adapter has none. It
    raises an AgentGovError (Unavailable) when the event cannot be recorded: the caller then fails.
    """

    def record(self, kind: str, subject: str, actor: str, payload: dict[str, Any]) -> int | None: ...


@runtime_checkable
class TransactionalRecorder(Recorder, Protocol):
    """A Recorder that can also write its event in the caller's transaction, when both are in one
    database: the event and the caller's rows then commit together, or neither does.

    ``record_in`` is the event on the record once ``txn`` commits, and nowhere if it rolls back; it
    raises an AgentGovError when the event cannot be written, as ``record`` does.
    """

    def joins(self, engine: Engine) -> bool:
        """Whether ``record_in`` may be given a transaction on ``engine``'s database."""
        ...

    def record_in(
        self, txn: DriverTransaction, kind: str, subject: str, actor: str, payload: dict[str, Any]
    ) -> int | None: ...


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    index: int
    kind: str
    subject: str
    actor: str
    payload: dict[str, Any]


class MemoryRecorder:
    """The in-memory Recorder: events in order, indexed from 0. For tests, the demo and the CLI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[RecordedEvent] = []

    def record(self, kind: str, subject: str, actor: str, payload: dict[str, Any]) -> int | None:
        with self._lock:
            index = len(self.events)
            self.events.append(RecordedEvent(index, kind, subject, actor, payload))
            return index

    def kinds(self) -> list[str]:
        with self._lock:
            return [e.kind for e in self.events]


def _upsert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


# The hot path of every decision, as driver SQL (see agentgov.db.driver): the live grants come with
# their usage on the request's day (NULL when unused), in one statement; then the decision's row.
_DECISION_COLUMNS = (
    "id",
    "deployment",
    "user_id",
    "agent_id",
    "server",
    "tool",
    "arguments_digest",
    "request",
    "effect",
    "applied_effect",
    "enforced",
    "decision_class",
    "decision",
    "policy_digest",
    "record_index",
    "created_at",
)
_LIVE_GRANT_COLUMNS = ("id", "canonical", "digest", "used_count", "used_micros")


def _hot_statements(mark: str) -> tuple[str, str]:
    # Constants and the driver's parameter mark only.
    live = (
        "SELECT grants.id, grants.canonical, grants.digest, grant_usage.count, grant_usage.amount_micros "  # noqa: S608
        "FROM grants LEFT OUTER JOIN grant_usage "
        f"ON grant_usage.grant_id = grants.id AND grant_usage.day = {mark} "
        f"WHERE grants.grantor = {mark} AND grants.agent_id = {mark} AND grants.revoked_at IS NULL "
        f"AND grants.expires_at > {mark} ORDER BY grants.created_at, grants.id"
    )
    marks = ", ".join([mark] * len(_DECISION_COLUMNS))
    insert_row = f"INSERT INTO decisions ({', '.join(_DECISION_COLUMNS)}) VALUES ({marks})"  # noqa: S608
    return live, insert_row


_HOT = {mark: _hot_statements(mark) for mark in ("?", "%s")}


def _take_statement(mark: str, *, count_limit: bool, amount_limit: bool) -> str:
    """Add one call and an amount to a grant's usage on a day, where both stay within their limits.

    Parameters: grant, day, amount (the first use of the day), amount (added), then the count limit
    and the amount limit where there are limits. The row comes back only when it was written.
    """
    within = []
    if count_limit:
        within.append(f'grant_usage."count" + 1 <= {mark}')
    if amount_limit:
        within.append(f"grant_usage.amount_micros + {mark} <= {mark}")
    where = f" WHERE {' AND '.join(within)}" if within else ""
    return (
        f'INSERT INTO grant_usage (grant_id, day, "count", amount_micros) VALUES ({mark}, {mark}, 1, {mark}) '  # noqa: S608
        f'ON CONFLICT (grant_id, day) DO UPDATE SET "count" = grant_usage."count" + 1, '
        f"amount_micros = grant_usage.amount_micros + {mark}{where} "
        'RETURNING "count"'
    )


_TAKE = {
    (mark, count, amount): _take_statement(mark, count_limit=count, amount_limit=amount)
    for mark in ("?", "%s")
    for count in (False, True)
    for amount in (False, True)
}

# Read again by every decision once its cached copy is a second old.
_DEPLOYMENT = select(policy_deployments).where(policy_deployments.c.name == bindparam("name"))


class DecisionUnit:
    """What one decision reads and writes, in one transaction (see ``AuthorityStore.deciding``)."""

    def __init__(self, txn: DriverTransaction) -> None:
        self.txn = txn
        self._live, self._insert = _HOT[txn.mark]

    def live_grants(self, grantor: str, agent_id: str, at: datetime, day: str) -> list[dict[str, Any]]:
        """Unrevoked, unexpired grants of one user to one agent, each with its usage on ``day``
        (``used_count``, ``used_micros``; None when unused): read at each decision, never cached, so
        that a revocation takes effect on the very next decision."""
        rows = self.txn.rows(self._live, (day, grantor, agent_id, self.txn.time(at)))
        return [dict(zip(_LIVE_GRANT_COLUMNS, row, strict=True)) for row in rows]

    def take_budget(
        self, grant_id: str, day: str, micros: int, *, max_count: int | None, max_micros: int | None
    ) -> bool:
        """Add one call and ``micros`` to a grant's usage for ``day`` if both stay within their limits
        (None: no limit); False, and nothing changed, when they would not. The limits are checked
        against the row as it is when written, so decisions made at once cannot overspend together."""
        if max_micros is not None and micros > max_micros:  # the first use of the day inserts: no WHERE
            return False
        params: list[Any] = [grant_id, day, micros, micros]
        if max_count is not None:
            params.append(max_count)
        if max_micros is not None:
            params += [micros, max_micros]
        sql = _TAKE[self.txn.mark, max_count is not None, max_micros is not None]
        # RETURNING, not rowcount: on PostgreSQL (psycopg) rowcount said 1 for a row the WHERE left alone.
        return bool(self.txn.rows(sql, params))

    def insert_decision(self, row: Mapping[str, Any]) -> None:
        """The decision's row; ``request`` and ``decision`` come as JSON text (pydantic's, one step)."""
        values = dict(row)
        values["created_at"] = self.txn.time(values["created_at"])
        self.txn.run(self._insert, tuple(values[c] for c in _DECISION_COLUMNS))


class AuthorityStore(SqlStore):
    store_name = "authority"

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # Decisions on a SQLite file: one kept connection, one at a time (see agentgov.db.driver).
        self._writer = SerialWriter(engine, self.store_name) if SerialWriter.suits(engine) else None
        if self._writer is not None:  # closed with the store when nobody closed it before
            weakref.finalize(self, self._writer.close)

    def close(self) -> None:
        """Close the connection kept for decisions, if any (the next decision opens another)."""
        if self._writer is not None:
            self._writer.close()

    def conflict_detail(self, exc: IntegrityError) -> str:
        return "this already exists (ids are never reused)"

    # grants ----------------------------------------------------------------------------------------

    def insert_grant(self, row: Mapping[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(insert(grants).values(**row))

    def get_grant(self, grant_id: str) -> RowMapping | None:
        with self.reading() as conn:
            return conn.execute(select(grants).where(grants.c.id == grant_id)).mappings().first()

    def list_grants(
        self, *, grantor: str | None, agent_id: str | None, live_at: datetime | None, limit: int
    ) -> list[RowMapping]:
        query = select(grants).order_by(grants.c.created_at.desc(), grants.c.id).limit(limit)
        if grantor is not None:
            query = query.where(grants.c.grantor == grantor)
        if agent_id is not None:
            query = query.where(grants.c.agent_id == agent_id)
        if live_at is not None:
            query = query.where(grants.c.revoked_at.is_(None), grants.c.expires_at > live_at)
        with self.reading() as conn:
            return list(conn.execute(query).mappings())

    def revoke_grant(self, grant_id: str, at: datetime, by: str, reason: str) -> bool:
        with self.transaction() as conn:
            done = conn.execute(
                update(grants)
                .where(grants.c.id == grant_id, grants.c.revoked_at.is_(None))
                .values(revoked_at=at, revoked_by=by, revoke_reason=reason)
            ).rowcount
        return bool(done)

    # usage -----------------------------------------------------------------------------------------

    def usage(self, grant_ids: Sequence[str], day: str) -> dict[str, tuple[int, int]]:
        """(count, amount in millionths) per grant on ``day``; grants unused that day are absent."""
        if not grant_ids:
            return {}
        query = select(grant_usage).where(grant_usage.c.grant_id.in_(grant_ids), grant_usage.c.day == day)
        with self.reading() as conn:
            return {r["grant_id"]: (r["count"], r["amount_micros"]) for r in conn.execute(query).mappings()}

    # signing keys ----------------------------------------------------------------------------------

    def signing_key(self, user_id: str) -> RowMapping | None:
        with self.reading() as conn:
            query = select(user_signing_keys).where(user_signing_keys.c.user_id == user_id)
            return conn.execute(query).mappings().first()

    def put_signing_key(self, user_id: str, algorithm: str, public_key: str, at: datetime) -> None:
        with self.transaction() as conn:
            stmt = _upsert(conn)(user_signing_keys).values(
                user_id=user_id, algorithm=algorithm, public_key=public_key, created_at=at
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[user_signing_keys.c.user_id],
                    set_={"algorithm": algorithm, "public_key": public_key, "created_at": at},
                )
            )

    # policy sets and deployments -------------------------------------------------------------------

    def put_policy_set(self, row: Mapping[str, Any]) -> bool:
        """Store a policy set version; False when that digest was already stored (versions are immutable)."""
        with self.transaction() as conn:
            stmt = _upsert(conn)(policy_sets).values(**row).on_conflict_do_nothing()
            return conn.execute(stmt.returning(policy_sets.c.digest)).first() is not None

    def get_policy_set(self, digest: str) -> RowMapping | None:
        with self.reading() as conn:
            return conn.execute(select(policy_sets).where(policy_sets.c.digest == digest)).mappings().first()

    def list_policy_sets(self, limit: int) -> list[RowMapping]:
        columns = [c for c in policy_sets.c if c.name != "source"]
        query = select(*columns).order_by(policy_sets.c.created_at.desc(), policy_sets.c.digest).limit(limit)
        with self.reading() as conn:
            return list(conn.execute(query).mappings())

    def set_deployment(self, name: str, digest: str, mode: str, at: datetime, by: str) -> None:
        values = {"digest": digest, "mode": mode, "activated_at": at, "activated_by": by}
        with self.transaction() as conn:
            stmt = _upsert(conn)(policy_deployments).values(name=name, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=[policy_deployments.c.name], set_=values))

    def deployment(self, name: str) -> RowMapping | None:
        with self.reading() as conn:
            return conn.execute(_DEPLOYMENT, {"name": name}).mappings().first()

    def deployments(self) -> list[RowMapping]:
        with self.reading() as conn:
            query = select(policy_deployments).order_by(policy_deployments.c.name)
            return list(conn.execute(query).mappings())

    # decisions -------------------------------------------------------------------------------------

    @contextmanager
    def deciding(self) -> Iterator[DecisionUnit]:
        """One transaction for a decision: its reads, then its writes, one commit.

        On SQLite a read does not open the transaction (the driver begins it at the first write), so
        the grants are read from the latest commit and the write lock is taken only for the writes; on
        PostgreSQL (read committed) each statement sees the latest commit too.
        """
        if self._writer is not None:
            with self._writer.transaction() as txn:
                yield DecisionUnit(txn)
            return
        with self.transaction() as conn:
            yield DecisionUnit(DriverTransaction.of(conn, self.store_name))

    def get_decision(self, decision_id: str) -> RowMapping | None:
        with self.reading() as conn:
            return conn.execute(select(decisions).where(decisions.c.id == decision_id)).mappings().first()

    def list_decisions(self, *, user_id: str | None, limit: int, before: int | None) -> list[RowMapping]:
        query = select(decisions).order_by(decisions.c.seq.desc()).limit(limit)
        if user_id is not None:
            query = query.where(decisions.c.user_id == user_id)
        if before is not None:
            query = query.where(decisions.c.seq < before)
        with self.reading() as conn:
            return list(conn.execute(query).mappings())

    def set_record_index(self, decision_id: str, index: int) -> None:
        """Where a decision recorded after its transaction landed in the log."""
        with self.transaction() as conn:
            conn.execute(update(decisions).where(decisions.c.id == decision_id).values(record_index=index))

    def mark_ran(self, decision_id: str, at: datetime) -> bool:
        """Mark a decision's action as run, once: False when already marked."""
        with self.transaction() as conn:
            done = conn.execute(
                update(decisions)
                .where(decisions.c.id == decision_id, decisions.c.ran_at.is_(None))
                .values(ran_at=at)
            ).rowcount
        return bool(done)
