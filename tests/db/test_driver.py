"""Driver SQL on the hot path stores what SQLAlchemy's types would read back alike, on both backends; the
connection kept for it on SQLite commits, rolls back and recovers as a pooled one would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pydantic_core
import pytest
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, insert, select, text

from agentgov.db import make_engine
from agentgov.db.driver import DriverTransaction, SerialWriter, placeholder
from agentgov.db.tables import UtcDateTime
from agentgov.errors import Conflict, Unavailable

_probe = MetaData()
_table = Table(
    "driver_probe",
    _probe,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("doc", JSON, nullable=False),
)

TIMES = [
    datetime(2026, 11, 21, 8, 30, tzinfo=UTC),  # no microseconds: still six digits on SQLite
    datetime(2026, 11, 21, 8, 30, 0, 1, tzinfo=UTC),
    datetime(2026, 11, 21, 16, 30, 0, 999_999, tzinfo=timezone(timedelta(hours=8))),  # stored in UTC
]
DOC = {"effect": "allow", "reasons": ["covered by grant g-1", "é"], "n": 3, "ok": True, "none": None}


def bind_json(value: object) -> str:
    """JSON text as the hot path writes it: pydantic's compact form, non-ASCII unescaped."""
    return pydantic_core.to_json(value).decode()


def test_rows_written_by_the_driver_and_by_the_types_read_back_alike(engine: Engine) -> None:
    _probe.create_all(engine)
    with engine.begin() as conn:
        mark = placeholder(conn)
        for i, at in enumerate(TIMES):
            conn.execute(insert(_table).values(id=2 * i, at=at, doc=DOC))
            conn.exec_driver_sql(
                f"INSERT INTO driver_probe (id, at, doc) VALUES ({mark}, {mark}, {mark})",  # noqa: S608
                (2 * i + 1, DriverTransaction.of(conn, "probe").time(at), bind_json(DOC)),
            )
    with engine.connect() as conn:
        rows = conn.execute(select(_table).order_by(_table.c.id)).all()
        stored = conn.execute(text("SELECT id, CAST(at AS TEXT) FROM driver_probe ORDER BY id")).all()
    for typed, driver in zip(rows[::2], rows[1::2], strict=True):
        assert (typed.at, typed.doc) == (driver.at, driver.doc)
        assert typed.at.tzinfo is UTC
    assert [r.at for r in rows[::2]] == [t.astimezone(UTC) for t in TIMES]
    # The very text (SQLite) or value (PostgreSQL) is the same, so comparisons in SQL agree too.
    assert [s[1] for s in stored[::2]] == [s[1] for s in stored[1::2]]


def test_times_compare_in_sql_as_they_do_in_python(engine: Engine) -> None:
    _probe.create_all(engine)
    with engine.begin() as conn:
        for i, at in enumerate(TIMES):
            conn.execute(insert(_table).values(id=i, at=at, doc={}))
    probe = datetime(2026, 11, 21, 8, 30, 0, 1, tzinfo=UTC)
    with engine.connect() as conn:
        mark = placeholder(conn)
        later = conn.exec_driver_sql(
            f"SELECT id FROM driver_probe WHERE at > {mark} ORDER BY id",  # noqa: S608 - the mark only
            (DriverTransaction.of(conn, "probe").time(probe),),
        ).all()
    assert [r[0] for r in later] == [i for i, t in enumerate(TIMES) if t > probe]


def test_a_naive_time_is_refused(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(ValueError, match="naive"):
        DriverTransaction.of(conn, "probe").time(datetime(2026, 11, 21))  # noqa: DTZ001 - the point of the test


def _insert_sql(mark: str) -> str:
    return f"INSERT INTO driver_probe (id, at, doc) VALUES ({mark}, {mark}, {mark})"  # noqa: S608


def _ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(_table.c.id).order_by(_table.c.id))]


def test_a_driver_transaction_inside_a_pooled_one_commits_and_rolls_back_with_it(engine: Engine) -> None:
    _probe.create_all(engine)
    with engine.begin() as conn:
        txn = DriverTransaction.of(conn, "probe")
        txn.run(_insert_sql(txn.mark), (1, txn.time(TIMES[0]), bind_json(DOC)))
        assert txn.rows(f"SELECT id FROM driver_probe WHERE id = {txn.mark}", (1,)) == [(1,)]  # noqa: S608

    def taken_id() -> None:
        with engine.begin() as conn:
            txn = DriverTransaction.of(conn, "probe")
            txn.run(_insert_sql(txn.mark), (2, txn.time(TIMES[0]), bind_json(DOC)))
            txn.run(_insert_sql(txn.mark), (1, txn.time(TIMES[0]), bind_json(DOC)))  # the id is taken

    with pytest.raises(Conflict):
        taken_id()
    assert _ids(engine) == [1]  # the whole second transaction rolled back
    with pytest.raises(Unavailable, match="probe store failed"), engine.begin() as conn:
        DriverTransaction.of(conn, "probe").rows("SELECT nothing FROM nowhere", ())


@pytest.fixture
def probe_file(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    _probe.create_all(eng)
    yield eng
    eng.dispose()


def test_the_serial_writer_commits_a_block_and_rolls_back_one_that_raises(probe_file: Engine) -> None:
    writer = SerialWriter(probe_file, "probe")
    with writer.transaction() as txn:
        txn.run(_insert_sql("?"), (1, txn.time(TIMES[1]), bind_json(DOC)))

    def caller_fails() -> None:
        with writer.transaction() as txn:
            txn.run(_insert_sql("?"), (2, txn.time(TIMES[1]), bind_json(DOC)))
            raise RuntimeError("the caller failed after writing")

    def taken_id() -> None:
        with writer.transaction() as txn:
            txn.run(_insert_sql("?"), (3, txn.time(TIMES[1]), bind_json(DOC)))
            txn.run(_insert_sql("?"), (1, txn.time(TIMES[1]), bind_json(DOC)))

    with pytest.raises(RuntimeError):
        caller_fails()
    with pytest.raises(Conflict):
        taken_id()
    assert _ids(probe_file) == [1]
    with probe_file.connect() as conn:  # written as the pool's connections write it
        assert conn.execute(select(_table)).one() == (1, TIMES[1], DOC)
    writer.close()


def test_the_serial_writer_opens_its_connection_again_after_it_broke(probe_file: Engine) -> None:
    writer = SerialWriter(probe_file, "probe")
    with writer.transaction() as txn:
        txn.run(_insert_sql("?"), (1, txn.time(TIMES[0]), bind_json(DOC)))
    writer._driver.close()
    with pytest.raises(Unavailable, match="probe store failed"), writer.transaction() as txn:
        txn.run(_insert_sql("?"), (2, txn.time(TIMES[0]), bind_json(DOC)))
    with writer.transaction() as txn:  # a fresh connection, with the pool's settings
        txn.run(_insert_sql("?"), (3, txn.time(TIMES[0]), bind_json(DOC)))
        assert txn.rows("PRAGMA foreign_keys", ()) == [(1,)]
        assert txn.rows("PRAGMA journal_mode", ()) == [("wal",)]
    assert _ids(probe_file) == [1, 3]
    writer.close()
    writer.close()  # idempotent


def test_the_serial_writer_is_only_for_a_sqlite_file(probe_file: Engine) -> None:
    memory = make_engine("sqlite://")
    try:
        assert SerialWriter.suits(probe_file)
        assert not SerialWriter.suits(memory)  # one connection, shared with the pool
        with pytest.raises(ValueError, match="SQLite file"):
            SerialWriter(memory, "probe")
    finally:
        memory.dispose()
