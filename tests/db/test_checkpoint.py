"""The hot writer's commits leave the WAL's checkpoints to a background thread, and nothing is lost
when that thread fails or stops."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from agentgov.db import make_engine
from agentgov.db.checkpoint import Checkpointer, CheckpointSettings
from agentgov.db.driver import SerialWriter
from agentgov.errors import InvalidInput


def _until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait (bounded) for the background thread to get there."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the checkpoint thread did not get there in time")
        time.sleep(0.01)


@pytest.fixture
def notes(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield eng
    eng.dispose()


def _write(writer: SerialWriter, first: int, count: int) -> None:
    for i in range(first, first + count):
        with writer.transaction() as txn:
            txn.run("INSERT INTO notes (id, body) VALUES (?, ?)", (i, "x" * 2000))


def test_the_writer_checkpoints_only_past_its_backstop_and_a_thread_copies_the_wal_back(
    notes: Engine,
) -> None:
    writer = SerialWriter(notes, "notes", CheckpointSettings(every_commits=5, backstop_pages=777))
    _write(writer, 0, 5)
    checkpointer = writer.checkpointer
    assert checkpointer is not None
    _until(lambda: checkpointer.checkpoints >= 1)  # woken at the 5th commit
    _write(writer, 5, 7)
    # Woken again at the 10th (two wakes before the thread runs would make one checkpoint: waited apart).
    _until(lambda: checkpointer.checkpoints >= 2)
    assert checkpointer.failures == 0
    assert checkpointer.last is not None
    busy, frames, copied = checkpointer.last
    assert busy == 0
    assert copied > 0
    assert copied <= frames
    with writer.transaction() as txn:
        assert txn.rows("PRAGMA wal_autocheckpoint", ()) == [(777,)]
    with notes.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notes")).scalar_one() == 12
    writer.close()
    assert not any(t.name == "sqlite-wal-checkpoint" and t.is_alive() for t in threading.enumerate())


def test_a_checkpoint_that_fails_is_counted_and_tried_again_and_the_commits_go_on(notes: Engine) -> None:
    attempts: list[int] = []

    def broken() -> sqlite3.Connection:
        attempts.append(1)
        if len(attempts) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        raise RuntimeError("not a database error either")  # the thread survives this too

    checkpointer = Checkpointer(broken, CheckpointSettings(every_commits=2))
    for _ in range(2):
        checkpointer.committed()
    _until(lambda: checkpointer.failures == 1)
    for _ in range(2):
        checkpointer.committed()
    _until(lambda: checkpointer.failures == 2)
    assert len(attempts) == 2
    assert checkpointer.checkpoints == 0
    checkpointer.close()
    # The writer's own commits never depended on it.
    writer = SerialWriter(notes, "notes", CheckpointSettings(every_commits=1))
    _write(writer, 0, 3)
    writer.close()
    with notes.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notes")).scalar_one() == 3


def test_a_closed_checkpointer_starts_no_thread_and_a_reopened_writer_gets_a_new_one(notes: Engine) -> None:
    calls: list[int] = []

    def connect() -> sqlite3.Connection:
        calls.append(1)
        return sqlite3.connect(":memory:")

    checkpointer = Checkpointer(connect)
    checkpointer.close()
    for _ in range(checkpointer.settings.every_commits * 2):
        checkpointer.committed()
    assert calls == []
    assert checkpointer.checkpoints == 0
    writer = SerialWriter(notes, "notes", CheckpointSettings(every_commits=1))
    _write(writer, 0, 1)
    first = writer.checkpointer
    writer.close()
    closed = writer.checkpointer
    _write(writer, 1, 1)  # the next transaction opens another connection, with its own thread
    second = writer.checkpointer
    assert closed is None
    assert second is not None
    assert second is not first
    _until(lambda: second.checkpoints >= 1)
    writer.close()


@pytest.mark.parametrize("field", ["every_commits", "backstop_pages"])
def test_checkpoint_intervals_below_one_are_refused(field: str) -> None:
    with pytest.raises(InvalidInput, match=f"{field} must be at least 1"):
        CheckpointSettings(**{field: 0})
