"""Driver SQL on the hot path stores exactly what SQLAlchemy's types would, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, insert, select, text

from agentgov.db.driver import bind_json, bind_time, placeholder
from agentgov.db.tables import UtcDateTime

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


def test_rows_written_by_the_driver_and_by_the_types_read_back_alike(engine: Engine) -> None:
    _probe.create_all(engine)
    with engine.begin() as conn:
        mark = placeholder(conn)
        for i, at in enumerate(TIMES):
            conn.execute(insert(_table).values(id=2 * i, at=at, doc=DOC))
            conn.exec_driver_sql(
                f"INSERT INTO driver_probe (id, at, doc) VALUES ({mark}, {mark}, {mark})",  # noqa: S608
                (2 * i + 1, bind_time(conn, at), bind_json(DOC)),
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
            (bind_time(conn, probe),),
        ).all()
    assert [r[0] for r in later] == [i for i, t in enumerate(TIMES) if t > probe]


def test_a_naive_time_is_refused(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(ValueError, match="naive"):
        bind_time(conn, datetime(2026, 11, 21))  # noqa: DTZ001 - the point of the test
