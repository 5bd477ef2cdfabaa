"""Benchmark of the record (Art. 7): append throughput, proof latency, fsck time and memory at size n.

    python -m bench.ledger --n 1000000 [--backend sqlite|postgresql] [--unbatched-n 5000]

Appends registry lifecycle events (each following its agent's previous event, over 1,000 agents)
through the real writer (batches of up to 4,096 or 50 ms, fsync on each commit), then the same code
with batches of one on a second, fresh store. Proofs are generated from the store at size n AND
verified, first straight after the appends (``cold_*``: the page cache holds whatever the writes left),
then after one sequential read of the two hash tables (64 bytes per entry), as a serving log keeps
them cached. fsck recomputes the whole stored tree, payload digests and links. The last line of
stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from agentgov.core.heap import freeze_startup_heap
from agentgov.db import make_engine, upgrade
from agentgov.ledger.entries import RegistryLifecycle
from agentgov.ledger.fsck import fsck
from agentgov.ledger.merkle import leaf_hash
from agentgov.ledger.proofs import verify_consistency, verify_inclusion
from agentgov.ledger.reader import LedgerReader
from agentgov.ledger.store import StoredCheckpoint
from agentgov.ledger.store_sql import SqlLedgerStore
from agentgov.ledger.writer import LedgerWriter, Receipt, WriterSettings
from bench._common import Timer, peak_rss_mb, percentile, print_result, progress, time_call_ms

_AGENTS = 1000
_SAMPLES = 1000  # proofs timed for each percentile
_CHECK_EVERY = 1000  # appends between two looks at the settled receipts (divides the progress step)
_DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_START = datetime(2026, 11, 21, tzinfo=UTC)


@contextmanager
def fresh_store(backend: str, workdir: Path, name: str) -> Iterator[Engine]:
    """A newly migrated, empty store: a SQLite file, or a throw-away PostgreSQL schema."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / f'{name}.db'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    url = os.environ.get("AGENTGOV_BENCH_POSTGRES_URL", _DEFAULT_PG)
    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def events(count: int) -> Iterator[RegistryLifecycle]:
    """Lifecycle events over 1,000 agents, each naming its agent's previous event (index = order)."""
    template = RegistryLifecycle(
        actor="registrar:bench",
        agent_id="urn:agent:bench.example:0",
        subject="urn:agent:bench.example:0",
        action="suspend",
        from_status="registered",
        to_status="suspended",
        reason_digest="sha256:" + "ab" * 32,
        time=_START,
    )
    last: dict[int, int] = {}
    names = [f"urn:agent:bench.example:{agent}" for agent in range(_AGENTS)]
    for index in range(count):
        agent = index % _AGENTS
        name = names[agent]
        yield template.model_copy(
            update={
                "agent_id": name,
                "subject": name,
                "follows": last.get(agent),
                "time": _START + timedelta(microseconds=index),
            }
        )
        last[agent] = index


def append_all(engine: Engine, count: int, settings: WriterSettings) -> float:
    """Append ``count`` events through the writer; return appends per second (submit to last ack).

    Receipts settle in submission order: every 1,000 appends the settled ones at the head are
    checked and dropped, so the bookkeeping costs O(1) per append and what is measured is the
    writer, not the benchmark. Every receipt is checked.
    """
    writer = LedgerWriter(SqlLedgerStore(engine, fsync=True), settings).start()
    try:
        timer = Timer()
        pending: deque[Receipt] = deque()
        for number, event in enumerate(events(count), start=1):
            pending.append(writer.submit(event))
            if number % _CHECK_EVERY == 0:
                while pending and pending[0].done:
                    pending.popleft().result()  # raises if its batch failed
                if number % 1_000_000 == 0:
                    progress(f"  {number:,} submitted")
        for receipt in pending:
            receipt.result(600)
        seconds = timer.seconds
    finally:
        writer.close()
    return count / seconds


def warm_hash_tables(engine: Engine) -> float:
    """Read the two hash tables once (64 bytes per entry), as a serving log keeps them cached."""
    timer = Timer()
    with engine.connect() as conn:
        for table in ("ledger_leaf_tiles", "ledger_subtrees"):
            for _ in conn.exec_driver_sql(f"SELECT hashes FROM {table}"):  # noqa: S608 - fixed names
                pass
    return timer.seconds


def proof_latencies(store: SqlLedgerStore, n: int, rng: random.Random) -> tuple[float, float]:
    """p50 (ms) of inclusion and of consistency proofs at size n, each generated and verified."""
    reader = LedgerReader(store)
    root = reader.root(n)
    indexes = [rng.randrange(n) for _ in range(_SAMPLES)]
    leaves = {e.index: e.leaf for i in indexes for e in store.entries(i, i + 1, payloads=False)}

    def inclusion(index: int) -> None:
        verify_inclusion(index, n, leaf_hash(leaves[index]), reader.inclusion(index, n), root)

    inclusion_ms = [time_call_ms(lambda i=i: inclusion(i)) for i in indexes]  # type: ignore[misc]
    olds = [rng.randrange(1, n) for _ in range(_SAMPLES)]
    roots = {old: reader.root(old) for old in olds}  # what a verifier holds from older checkpoints

    def consistency(old: int) -> None:
        verify_consistency(old, n, reader.consistency(old, n), roots[old], root)

    consistency_ms = [time_call_ms(lambda o=o: consistency(o)) for o in olds]  # type: ignore[misc]
    return percentile(inclusion_ms, 50), percentile(consistency_ms, 50)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="entries in the log")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--unbatched-n", type=int, default=2000, help="entries appended with batches of one")
    parser.add_argument(
        "--workdir", default=None, help="directory for SQLite files (default: a temporary one)"
    )
    args = parser.parse_args()
    rng = random.Random(20261121)
    freeze_startup_heap()  # as the server does: the writer runs in its process
    with tempfile.TemporaryDirectory(dir=args.workdir) as workdir:
        with fresh_store(args.backend, Path(workdir), "unbatched") as engine:
            count = min(args.n, args.unbatched_n)
            progress(f"{args.backend}: {count:,} appends with batches of one")
            unbatched = append_all(engine, count, WriterSettings(max_batch=1, max_delay_s=0, max_pending=1))
        with fresh_store(args.backend, Path(workdir), "main") as engine:
            progress(f"{args.backend}: {args.n:,} appends in batches")
            batched = append_all(engine, args.n, WriterSettings())
            store = SqlLedgerStore(engine)
            progress(f"batched {batched:,.0f}/s, unbatched {unbatched:,.0f}/s; timing proofs, cold then warm")
            cold_inclusion_p50, cold_consistency_p50 = proof_latencies(store, args.n, rng)
            warm_seconds = warm_hash_tables(engine)
            inclusion_p50, consistency_p50 = proof_latencies(store, args.n, rng)
            reader = LedgerReader(store)
            store.save_checkpoint(StoredCheckpoint(args.n, reader.root(args.n), "bench\n", datetime.now(UTC)))
            progress("fsck")
            timer = Timer()
            report = fsck(store)
            fsck_seconds = timer.seconds
            if report.size != args.n:
                raise SystemExit(f"fsck saw {report.size} entries, expected {args.n}")
    print_result(
        {
            "n": args.n,
            "backend": args.backend,
            "appends_per_s": round(batched),
            "unbatched_appends_per_s": round(unbatched),
            "unbatched_n": count,
            "inclusion_p50_ms": round(inclusion_p50, 3),
            "consistency_p50_ms": round(consistency_p50, 3),
            "cold_inclusion_p50_ms": round(cold_inclusion_p50, 3),
            "cold_consistency_p50_ms": round(cold_consistency_p50, 3),
            "warm_s": round(warm_seconds, 2),
            "fsck_s": round(fsck_seconds, 2),
            "peak_rss_mb": peak_rss_mb(),
            "event_kind": "registry.lifecycle",
        }
    )


if __name__ == "__main__":
    main()
