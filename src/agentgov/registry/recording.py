"""The registry on the record (Art. 7): every version and lifecycle move becomes a ledger event.

A registry change commits first, with its row marked unrecorded (``ledger_index IS NULL``); the recorder
then appends the event and writes the entry's index back into the row. The rows themselves are the
outbox: whatever a crash, a process without the ledger writer (the CLI beside a running server) or an
unavailable ledger left unrecorded is appended by the next :meth:`RegistryRecorder.record_pending`, which
the process holding the writer runs when it starts and on a schedule.

Each event names the agent's previous entry (``follows``), so the verifier can check that the chain of
an agent's registry events is complete and in order. One recorder per writer process serialises the
appends under a lock, so two moves on one agent can never both follow the same entry. A crash between
an append and the write-back would leave an appended event unmarked; before appending, the recorder
looks at the registry events appended since the last one it marked and adopts the one that matches.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, func, select, union_all, update

from agentgov.core.canonical import canonical_json
from agentgov.db.tables import agent_versions, agents, lifecycle_events
from agentgov.errors import AgentGovError
from agentgov.ledger.entries import AnyEvent, RegistryLifecycle, RegistryVersion
from agentgov.registry.store import RegistryStore

__all__ = ["EventLog", "PendingSweep", "RecordSettings", "RegistryRecorder"]

_log = logging.getLogger(__name__)


class EventLog(Protocol):
    """What the recorder needs of the ledger: append, and read back registry events since an index."""

    def record(self, event: AnyEvent, timeout: float | None = ...) -> int: ...

    def registry_events(self, start: int) -> Iterator[tuple[int, AnyEvent | None]]: ...


@dataclass(frozen=True)
class RecordSettings:
    # Agents whose unrecorded rows one sweep takes: bounds a sweep's time after a long outage; the
    # next sweep takes the rest.
    sweep_agents: int = 1000
    # How long one append may wait to be sequenced before the row stays unrecorded for the next sweep.
    append_timeout_s: float = 10.0


def _digest(value: Any) -> str | None:
    """A salted-free digest of a free text or evidence object: the event carries digests, not text."""
    if value in (None, "", {}):
        return None
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()


def version_event(agent_id: str, row: Mapping[Any, Any], follows: int | None) -> RegistryVersion:
    return RegistryVersion(
        actor=row["created_by"],
        agent_id=agent_id,
        digest=row["digest"],
        follows=follows,
        prev_digest=row["prev_digest"],
        subject=agent_id,
        time=row["created_at"],
        version=row["version"],
    )


def lifecycle_event(agent_id: str, row: Mapping[Any, Any], follows: int | None) -> RegistryLifecycle:
    return RegistryLifecycle(
        action=row["action"],
        actor=row["actor"],
        agent_id=agent_id,
        evidence_digest=_digest(row["evidence"]),
        follows=follows,
        from_status=row["from_status"],
        reason_digest=_digest(row["reason"]),
        subject=agent_id,
        time=row["at"],
        to_status=row["to_status"],
    )


class RegistryRecorder:
    """Appends unrecorded registry rows to the ledger, in order, and marks them with their index."""

    def __init__(self, store: RegistryStore, log: EventLog, settings: RecordSettings | None = None) -> None:
        self.store = store
        self.log = log
        self.settings = settings or RecordSettings()
        self._lock = threading.Lock()
        # Events appended before a crash and never marked; filled by the first sweep of this process.
        self._adoptable: dict[bytes, int] | None = None

    def record_agent(self, agent_seq: int) -> None:
        """Record every unrecorded row of one agent now (after the change that made them committed)."""
        with self._lock:
            self._record(agent_seq)

    def record_pending(self) -> int:
        """Record the unrecorded rows of every agent; the number of events appended or adopted."""
        with self._lock:
            self._prime()
            with self.store.reading() as conn:
                pending = union_all(
                    select(agent_versions.c.agent_seq).where(agent_versions.c.ledger_index.is_(None)),
                    select(lifecycle_events.c.agent_seq).where(lifecycle_events.c.ledger_index.is_(None)),
                ).subquery()
                seqs = [
                    int(s)
                    for s in conn.execute(
                        select(pending.c.agent_seq).distinct().limit(self.settings.sweep_agents)
                    ).scalars()
                ]
            return sum(self._record(seq) for seq in seqs)

    # ------------------------------------------------------------------------------------------

    def _record(self, agent_seq: int) -> int:
        with self.store.reading() as conn:
            agent_id = conn.execute(select(agents.c.id).where(agents.c.seq == agent_seq)).scalar_one()
            follows = self._last_index(conn, agent_seq)
            rows = self._unrecorded(conn, agent_seq)
        done = 0
        for table, key, row in rows:
            event: AnyEvent = (
                version_event(agent_id, row, follows)
                if table is agent_versions
                else lifecycle_event(agent_id, row, follows)
            )
            index = self._adopt(event)
            if index is None:
                index = self.log.record(event, self.settings.append_timeout_s)
            with self.store.transaction() as conn:
                conn.execute(update(table).where(*key).values(ledger_index=index))
            follows = index
            done += 1
        return done

    @staticmethod
    def _last_index(conn: Connection, agent_seq: int) -> int | None:
        last = max(
            (
                conn.execute(
                    select(func.max(t.c.ledger_index)).where(t.c.agent_seq == agent_seq)
                ).scalar_one_or_none()
                for t in (agent_versions, lifecycle_events)
            ),
            key=lambda v: -1 if v is None else int(v),
        )
        return None if last is None else int(last)

    @staticmethod
    def _unrecorded(conn: Connection, agent_seq: int) -> list[tuple[Any, tuple[Any, ...], Mapping[str, Any]]]:
        versions = conn.execute(
            select(agent_versions).where(
                agent_versions.c.agent_seq == agent_seq, agent_versions.c.ledger_index.is_(None)
            )
        ).mappings()
        moves = conn.execute(
            select(lifecycle_events).where(
                lifecycle_events.c.agent_seq == agent_seq, lifecycle_events.c.ledger_index.is_(None)
            )
        ).mappings()
        # In the order they happened; a version before the move committed at the same instant (filing).
        rows: list[Any] = []
        rows += [
            (
                (v["created_at"], 0, v["version"]),
                agent_versions,
                (agent_versions.c.agent_seq == agent_seq, agent_versions.c.version == v["version"]),
                v,
            )
            for v in versions
        ]
        rows += [
            ((m["at"], 1, m["id"]), lifecycle_events, (lifecycle_events.c.id == m["id"],), m) for m in moves
        ]
        rows.sort(key=lambda r: r[0])
        return [(table, key, row) for _, table, key, row in rows]

    def _adopt(self, event: AnyEvent) -> int | None:
        """The index of an identical event appended before a crash but never marked, if there is one."""
        if not self._adoptable:
            return None
        return self._adoptable.pop(_identity(event), None)

    def _prime(self) -> None:
        """Once per process: the registry events appended after the last marked row, by identity."""
        if self._adoptable is not None:
            return
        with self.store.reading() as conn:
            highest = [
                conn.execute(select(func.max(t.c.ledger_index))).scalar_one_or_none()
                for t in (agent_versions, lifecycle_events)
            ]
        start = max((int(h) for h in highest if h is not None), default=-1) + 1
        self._adoptable = {_identity(e): i for i, e in self.log.registry_events(start) if e is not None}


def _identity(event: AnyEvent) -> bytes:
    return canonical_json(event.model_dump(mode="json", exclude={"follows"}))


class PendingSweep:
    """Runs :meth:`RegistryRecorder.record_pending` at once and then every ``interval_s`` seconds."""

    def __init__(self, recorder: RegistryRecorder, interval_s: float = 5.0) -> None:
        self.recorder = recorder
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registry-record-sweep", daemon=True)

    def start(self) -> PendingSweep:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while getattr(self.recorder.log, "started", True):  # ends with the ledger writer
            try:
                self.recorder.record_pending()
            except AgentGovError as exc:  # the ledger or the database is down: try again next time
                _log.warning("registry sweep failed: %s", exc)
            if self._stop.wait(self.interval_s):
                return
