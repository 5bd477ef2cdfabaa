"""The SQL adapter of the ledger store: SQLite (WAL) by default, PostgreSQL for scale.

The writer's rows are bulk-inserted below SQLAlchemy (one statement per table on SQLite, ``COPY``
on PostgreSQL): a batch of 4,096 entries is about 8,000 rows and must commit in milliseconds. The
writer lock is ``pg_try_advisory_lock`` on PostgreSQL and an exclusive ``flock`` beside the SQLite
file; in both cases every commit also checks the stored size (fencing), so a writer that lost its
lock can never overwrite another's entries.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from agentgov.errors import Conflict, InvalidInput, NotFound, Unavailable
from agentgov.ledger.entries import SALT_SIZE
from agentgov.ledger.merkle import HASH_SIZE, leaf_hash
from agentgov.ledger.store import (
    Address,
    Batch,
    Rows,
    StoredCheckpoint,
    StoredCosignature,
    StoredEntry,
    TreeState,
)
from agentgov.ledger.store_subtrees import (
    SPAN_SHIFT,
    HashRowCache,
    leaf_tile_rows,
    read_inner_nodes,
    read_leaf_hashes,
    read_level_range,
    spans,
    subtree_rows,
    write_hash_rows,
)
from agentgov.ledger.tables import (
    ledger_checkpoints,
    ledger_cosignatures,
    ledger_entries,
    ledger_payloads,
    ledger_tree,
)

__all__ = ["SqlLedgerStore"]

_E, _P, _T = ledger_entries.c, ledger_payloads.c, ledger_tree.c
_LOCK_NAME = "agentgov.ledger.writer"

# SQLite inserts a whole batch of a table with one statement: the rows travel as one concatenated blob
# and a JSON array of spans (start << 32 | length) that json_each unrolls inside SQLite. executemany
# would bind row by row, releasing and retaking the GIL around each row while the threads that submit
# want it too: a batch of 4,096 entries then costs several times its own work.
_INSERT_ENTRIES = (
    "INSERT INTO ledger_entries (idx, leaf) "  # noqa: S608 - constants only
    f"SELECT ? + key, substr(?, (value >> {SPAN_SHIFT}) + 1, value & 0xFFFFFFFF) FROM json_each(?)"
)
_INSERT_PAYLOADS = (
    "INSERT INTO ledger_payloads (idx, salt, payload) "  # noqa: S608 - constants only
    f"SELECT ? + key, substr(?, key * {SALT_SIZE} + 1, {SALT_SIZE}), "
    f"substr(?, (value >> {SPAN_SHIFT}) + 1, value & 0xFFFFFFFF) FROM json_each(?)"
)
# A bound blob must stay under SQLITE_MAX_LENGTH (10**9 by default); 64 MiB keeps a statement's
# memory modest. Ordinary batches (4,096 events of a few hundred bytes) take one statement.
_MAX_STATEMENT_BYTES = 64 * 1024 * 1024


def _edge(blob: bytes) -> tuple[bytes, ...]:
    return tuple(blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE))


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Foreign store errors become AgentGovErrors here, at the adapter (STYLE 3)."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"{what}: the store refused a duplicate ({exc.orig.__class__.__name__})") from exc
    except SQLAlchemyError as exc:
        raise Unavailable(f"{what}: the store failed ({exc.__class__.__name__})") from exc


def _insert_rows(conn: Connection, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows one by one: ``COPY ... FROM STDIN`` on PostgreSQL (its bulk path), executemany on SQLite."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        import psycopg  # noqa: PLC0415 - the PostgreSQL driver is only needed on PostgreSQL

        try:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.errors.IntegrityError as exc:
            raise Conflict(
                f"bulk insert into {table}: the store refused a duplicate ({exc.__class__.__name__})"
            ) from exc
        except psycopg.Error as exc:
            raise Unavailable(f"bulk insert into {table} failed ({exc.__class__.__name__})") from exc
        return
    marks = ",".join("?" * len(rows[0]))
    conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(rows))  # noqa: S608


def _chunks(count: int, widest: int) -> Iterator[slice]:
    """Row slices whose blobs stay under _MAX_STATEMENT_BYTES: one slice for ordinary batches."""
    step = max(1, _MAX_STATEMENT_BYTES // max(1, widest))
    return (slice(start, min(start + step, count)) for start in range(0, count, step))


def _consecutive(rows: Sequence[tuple[Any, ...]], first: int) -> bool:
    if isinstance(rows, Rows):
        return rows.first == first
    return list(map(itemgetter(0), rows)) == list(range(first, first + len(rows)))


def _columns(rows: Sequence[tuple[int, bytes, bytes]]) -> tuple[Sequence[bytes], Sequence[bytes]]:
    if isinstance(rows, Rows):
        return rows.a, rows.b
    return list(map(itemgetter(1), rows)), list(map(itemgetter(2), rows))


def _insert_batch_sqlite(conn: Connection, batch: Batch) -> None:
    """A batch's entries and payloads, one statement per table (see _INSERT_ENTRIES)."""
    first = batch.old_size
    leaves, _ = _columns(batch.entries)
    for part in _chunks(len(leaves), max(map(len, leaves), default=0)):
        chunk = leaves[part]
        conn.exec_driver_sql(_INSERT_ENTRIES, (first + part.start, b"".join(chunk), spans(chunk)))
    if not batch.payloads:
        return
    salts, payloads = _columns(batch.payloads)
    for part in _chunks(len(payloads), max(map(len, payloads))):
        chunk = payloads[part]
        params = (first + part.start, b"".join(salts[part]), b"".join(chunk), spans(chunk))
        conn.exec_driver_sql(_INSERT_PAYLOADS, params)


def _has_json_each(conn: Connection) -> bool:
    """Whether this SQLite has JSON functions (built in since 3.38, SQLITE_OMIT_JSON aside)."""
    try:
        conn.exec_driver_sql("SELECT key FROM json_each('[0]')").all()
    except SQLAlchemyError:
        conn.rollback()
        return False
    return True


class _SqlWriter:
    def __init__(self, engine: Engine, *, fsync: bool) -> None:
        self._lock_fd: int | None = None
        self._pg_key: int | None = None
        self._conn = engine.connect()
        self._json_each = False
        self._rows = HashRowCache()
        try:
            self._lock()
            if engine.dialect.name == "sqlite":
                if fsync:  # WAL with synchronous=NORMAL survives a process crash; FULL also a power cut.
                    self._conn.exec_driver_sql("PRAGMA synchronous=FULL")
                self._json_each = _has_json_each(self._conn)
            self._conn.commit()
        except BaseException:
            self.close()
            raise

    def _lock(self) -> None:
        conn = self._conn
        if conn.dialect.name == "postgresql":
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            digest = hashlib.sha256(f"{_LOCK_NAME}:{schema}".encode()).digest()
            key = int.from_bytes(digest[:8], "big", signed=True)
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one():
                raise Conflict("another ledger writer holds the PostgreSQL advisory lock of this store")
            self._pg_key = key
            return
        database = conn.engine.url.database
        if not database or database == ":memory:":
            return
        fd = os.open(f"{database}.ledger-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise Conflict(f"another ledger writer holds the lock on {database}") from None
        self._lock_fd = fd

    def state(self) -> TreeState:
        with _translated("reading the tree state"):
            row = self._conn.execute(select(_T.size, _T.edge).where(_T.id == 1)).first()
            self._conn.commit()
        return TreeState(0) if row is None else TreeState(row.size, _edge(row.edge))

    def commit(self, batch: Batch) -> None:
        if len(batch.entries) != batch.new_size - batch.old_size or not _consecutive(
            batch.entries, batch.old_size
        ):
            raise InvalidInput("a batch holds the entries from its old size to its new size, in order")
        if batch.payloads and set(map(len, _columns(batch.payloads)[0])) != {SALT_SIZE}:
            raise InvalidInput(f"every salt of a ledger entry is {SALT_SIZE} bytes")
        try:
            tiles, subtrees = self._commit(batch)
        except BaseException:
            self._rows.forget()  # rolled back: what the store holds is read again next time
            raise
        self._rows.remember(tiles, subtrees)

    def _commit(self, batch: Batch) -> tuple[list[tuple[int, bytes]], list[tuple[int, int, bytes]]]:
        conn = self._conn
        with _translated("committing a ledger batch"), conn.begin():
            # Fencing first: it also takes the write lock of the transaction.
            moved = conn.execute(
                update(ledger_tree)
                .where(_T.id == 1, _T.size == batch.old_size)
                .values(size=batch.new_size, edge=b"".join(batch.edge))
            ).rowcount
            if moved != 1:
                if batch.old_size != 0 or conn.execute(select(_T.size)).first() is not None:
                    raise Conflict(
                        f"the stored tree is not at size {batch.old_size}: another writer moved it"
                    )
                conn.execute(insert(ledger_tree).values(id=1, size=batch.new_size, edge=b"".join(batch.edge)))
            if self._json_each and _consecutive(batch.payloads, batch.old_size):
                _insert_batch_sqlite(conn, batch)
            else:
                _insert_rows(
                    conn, "ledger_entries", "idx, leaf", [(index, leaf) for index, leaf, _ in batch.entries]
                )
                _insert_rows(conn, "ledger_payloads", "idx, salt, payload", batch.payloads)
            tiles = leaf_tile_rows(conn, batch.old_size, _columns(batch.entries)[1], self._rows)
            subtrees = subtree_rows(conn, batch.old_size, batch.nodes, self._rows)
            write_hash_rows(conn, tiles, subtrees, json_each=self._json_each)
        return tiles, subtrees

    def close(self) -> None:
        try:
            self._conn.rollback()
            if self._conn.dialect.name == "sqlite":
                self._conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            if self._pg_key is not None:  # the pooled session outlives us: give the lock back
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._pg_key})
                self._pg_key = None
            self._conn.commit()
            self._conn.close()
        except SQLAlchemyError:
            self._conn.invalidate()  # a broken session is discarded (its locks die with it), not pooled
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing the descriptor releases the flock
                self._lock_fd = None


class SqlLedgerStore:
    def __init__(self, engine: Engine, *, fsync: bool = True) -> None:
        self.engine = engine
        self._fsync = fsync

    def open_writer(self) -> _SqlWriter:
        with _translated("opening the ledger writer"):
            return _SqlWriter(self.engine, fsync=self._fsync)

    def _read(self, what: str, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
        with _translated(what), self.engine.connect() as conn:
            return list(conn.execute(statement, params or {}))

    def tree_state(self) -> TreeState:
        rows = self._read("reading the tree state", select(_T.size, _T.edge).where(_T.id == 1))
        return TreeState(0) if not rows else TreeState(rows[0].size, _edge(rows[0].edge))

    def nodes(self, addresses: Collection[Address]) -> dict[Address, bytes]:
        wanted = set(addresses)
        with _translated("reading subtree hashes"), self.engine.connect() as conn:
            found = read_leaf_hashes(conn, [index for level, index in wanted if level == 0])
            found.update(read_inner_nodes(conn, [address for address in wanted if address[0] != 0]))
        if len(found) != len(wanted):
            missing = sorted(wanted - found.keys())[0]
            raise NotFound(f"no subtree hash at level {missing[0]}, index {missing[1]}")
        return found

    def node_range(self, level: int, start: int, end: int) -> list[bytes]:
        if end <= start:
            return []
        with _translated("reading a tile"), self.engine.connect() as conn:
            return read_level_range(conn, level, start, end)

    def entries(self, start: int, end: int, *, payloads: bool = True) -> list[StoredEntry]:
        if payloads:
            query = select(_E.idx, _E.leaf, _P.salt, _P.payload).outerjoin(ledger_payloads, _P.idx == _E.idx)
        else:
            query = select(_E.idx, _E.leaf)
        query = query.where(_E.idx >= start, _E.idx < end).order_by(_E.idx)
        rows = self._read("reading entries", query)
        # The leaf hash of what is stored now, recomputed: fsck holds it against the stored leaf tiles.
        if payloads:
            return [StoredEntry(r[0], r[1], leaf_hash(r[1]), r[3], r[2]) for r in rows]
        return [StoredEntry(r[0], r[1], leaf_hash(r[1])) for r in rows]

    def erase(self, index: int) -> bool:
        with _translated("erasing a payload"), self.engine.begin() as conn:
            if conn.execute(select(_E.idx).where(_E.idx == index)).first() is None:
                raise NotFound(f"no ledger entry {index}")
            return conn.execute(ledger_payloads.delete().where(_P.idx == index)).rowcount > 0

    def checkpoints(self, limit: int | None = None) -> list[StoredCheckpoint]:
        c = ledger_checkpoints.c
        query = select(c.size, c.root_hash, c.note, c.published_at).order_by(c.size.desc())
        rows = self._read("reading checkpoints", query if limit is None else query.limit(limit))
        return [StoredCheckpoint(r.size, r.root_hash, r.note, r.published_at) for r in reversed(rows)]

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        c = ledger_checkpoints.c
        query = select(c.size, c.root_hash, c.note, c.published_at).where(c.size == size)
        rows = self._read("reading a checkpoint", query)
        return StoredCheckpoint(*rows[0]) if rows else None

    def save_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with _translated("saving a checkpoint"), self.engine.begin() as conn:
            conn.execute(
                insert(ledger_checkpoints).values(
                    size=checkpoint.size,
                    root_hash=checkpoint.root_hash,
                    note=checkpoint.note,
                    published_at=checkpoint.published_at,
                )
            )

    def cosignatures(self, size: int) -> list[StoredCosignature]:
        c = ledger_cosignatures.c
        query = select(c.size, c.witness, c.line, c.timestamp).where(c.size == size).order_by(c.witness)
        return [StoredCosignature(*row) for row in self._read("reading cosignatures", query)]

    def add_cosignature(self, cosignature: StoredCosignature) -> None:
        c = ledger_cosignatures.c
        with _translated("saving a cosignature"), self.engine.begin() as conn:
            where = (c.size == cosignature.size, c.witness == cosignature.witness)
            conn.execute(ledger_cosignatures.delete().where(*where))
            conn.execute(
                insert(ledger_cosignatures).values(
                    size=cosignature.size,
                    witness=cosignature.witness,
                    line=cosignature.line,
                    timestamp=cosignature.timestamp,
                )
            )

    def witness_size(self, witness: str) -> int:
        c = ledger_cosignatures.c
        rows = self._read("reading cosignatures", select(func.max(c.size)).where(c.witness == witness))
        return int(rows[0][0] or 0)
