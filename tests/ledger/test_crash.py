"""Crash safety: a writer process killed with SIGKILL in the middle of its batches, twenty times over.

Each round forks a writer process that appends notes from four threads and reports, through a pipe,
every entry whose append returned (whose batch was durably committed). The parent kills it at a
random moment with SIGKILL, then checks that every reported entry is in the log with its own
payload, and that the whole stored tree recomputes (fsck).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
from datetime import UTC, datetime
from pathlib import Path

from agentgov.db import make_engine, upgrade
from agentgov.ledger.entries import NoteEvent, open_entry
from agentgov.ledger.fsck import fsck
from agentgov.ledger.store_sql import SqlLedgerStore
from agentgov.ledger.writer import LedgerWriter, WriterSettings

ROUNDS = 20


def writer_process(database: str, round_number: int, acks: int) -> None:
    """The child: append for ever; after each append returns, write ``<index> <tag>`` to the pipe."""
    writer = LedgerWriter(
        SqlLedgerStore(make_engine(f"sqlite:///{database}"), fsync=True),
        WriterSettings(max_batch=128, max_delay_s=0.002),
    ).start()
    lock = threading.Lock()

    def append(worker: int) -> None:
        for burst in range(1_000_000):
            tags = [f"r{round_number}-w{worker}-b{burst}-{k}" for k in range(16)]
            now = datetime.now(UTC)
            receipts = [
                writer.submit(NoteEvent(actor="crash", subject="crash", text=t, time=now)) for t in tags
            ]
            for tag, receipt in zip(tags, receipts, strict=True):
                line = f"{receipt.result(30)} {tag}\n".encode()
                with lock:
                    os.write(acks, line)

    threads = [threading.Thread(target=append, args=(w,), daemon=True) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_and_kill(database: Path, round_number: int, rng: random.Random) -> dict[int, str]:
    read_end, write_end = os.pipe()
    child = multiprocessing.get_context("fork").Process(
        target=writer_process, args=(str(database), round_number, write_end), daemon=True
    )
    child.start()
    os.close(write_end)
    target = rng.randint(20, 600)
    received = b""
    with os.fdopen(read_end, "rb") as pipe:
        while received.count(b"\n") < target:
            chunk = pipe.read1(65536)
            if not chunk:
                break
            received += chunk
        child.kill()  # SIGKILL, wherever the writer is in its batch
        child.join(30)
        received += pipe.read()  # what the child reported before it died
    assert child.exitcode == -9
    lines = received.split(b"\n")[:-1]  # a torn last line was never a complete report
    assert len(lines) >= target, "the writer acknowledged too little before the deadline"
    return {int(index): tag.decode() for index, tag in (line.split() for line in lines)}


def test_acknowledged_entries_survive_sigkill_twenty_times(tmp_path: Path) -> None:
    database = tmp_path / "crash.db"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()  # no pooled connection crosses the fork
    store = SqlLedgerStore(make_engine(f"sqlite:///{database}"))
    rng = random.Random(20261121)  # noqa: S311 - reproducible kill points, not secrets
    acknowledged: dict[int, str] = {}
    for round_number in range(ROUNDS):
        reported = run_and_kill(database, round_number, rng)
        assert not reported.keys() & acknowledged.keys(), "an index was acknowledged twice"
        acknowledged.update(reported)
        size = store.tree_state().size
        assert max(acknowledged) < size
        first, last = min(reported), max(reported)
        stored = {entry.index: entry for entry in store.entries(first, last + 1)}
        for index, tag in reported.items():
            view = open_entry(index, stored[index].leaf, stored[index].payload, stored[index].salt)
            assert (view.status, getattr(view.event, "text", None)) == ("ok", tag)
        assert fsck(store).size == size
    assert len(acknowledged) >= ROUNDS * 20
