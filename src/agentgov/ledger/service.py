"""The ledger service: one object that the API, the CLI and other modules use to reach the record.

Reading (entries, proofs, tiles, checkpoints, bundles) works in every replica. Writing (``record``)
and publishing on a schedule need :meth:`LedgerService.start`, which takes the single writer lock of
the store: only one process sequences and signs.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from agentgov.core.clock import Clock, SystemClock
from agentgov.core.keys import Ed25519Signer
from agentgov.errors import InvalidInput, NotFound, Unavailable
from agentgov.ledger.entries import REGISTRY_KINDS, AnyEvent, parse_event, parse_leaf
from agentgov.ledger.keyfiles import DEFAULT_LOG_KEY_PATH, load_or_create_log_signer
from agentgov.ledger.note_keys import Ed25519NoteSigner
from agentgov.ledger.publisher import CheckpointPublisher, PublishSchedule, parse_witness_endpoint
from agentgov.ledger.reader import LedgerReader
from agentgov.ledger.store import LedgerStore, MemoryLedgerStore, StoredCheckpoint
from agentgov.ledger.store_sql import SqlLedgerStore
from agentgov.ledger.witness_http import WitnessClient
from agentgov.ledger.writer import LedgerWriter, Receipt, WriterSettings

__all__ = ["BUNDLE_FORMAT", "LedgerService", "LedgerSettings"]

BUNDLE_FORMAT = "agentgov-ledger-bundle/1"
_SCAN_CHUNK = 1024  # entries read per query when scanning for registry events
_MAX_SINCE = 16  # consistency proofs one bundle may carry: a monitor's recent checkpoints, not a history


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


@dataclass(frozen=True)
class LedgerSettings:
    # C2SP tlog-tiles: the origin SHOULD be the log's URL prefix without scheme; it names the log key.
    origin: str = "agentgov.local/ledger"
    # The log's signing key; created on first start when absent (mode 0600).
    key_path: Path = DEFAULT_LOG_KEY_PATH
    # Checkpoints bound how stale a verifier's view can be; ten seconds keeps witness load small.
    checkpoint_interval_s: float = 10.0
    # Witnesses asked to cosign, each "<cosignature/v1 verifier key> <submission URL>".
    witnesses: tuple[str, ...] = ()
    writer: WriterSettings = field(default_factory=WriterSettings)
    # fsync every batch (SQLite synchronous=FULL): an acknowledged entry survives a power cut too.
    fsync: bool = True

    @classmethod
    def from_env(cls) -> LedgerSettings:
        """AGENTGOV_LEDGER_ORIGIN, _KEY, _CHECKPOINT_INTERVAL and _WITNESSES (entries split by ';')."""
        env = os.environ
        witnesses = tuple(w.strip() for w in env.get("AGENTGOV_LEDGER_WITNESSES", "").split(";") if w.strip())
        try:
            interval = float(env.get("AGENTGOV_LEDGER_CHECKPOINT_INTERVAL", cls.checkpoint_interval_s))
        except ValueError as exc:
            raise InvalidInput("AGENTGOV_LEDGER_CHECKPOINT_INTERVAL must be a number of seconds") from exc
        return cls(
            origin=env.get("AGENTGOV_LEDGER_ORIGIN", cls.origin),
            key_path=Path(env.get("AGENTGOV_LEDGER_KEY", str(DEFAULT_LOG_KEY_PATH))),
            checkpoint_interval_s=interval,
            witnesses=witnesses,
        )


class LedgerService:
    def __init__(
        self,
        store: LedgerStore,
        signer: Ed25519NoteSigner,
        clock: Clock,
        settings: LedgerSettings | None = None,
        *,
        witness_client: WitnessClient | None = None,
    ) -> None:
        self.settings = settings or LedgerSettings(origin=signer.name)
        if signer.name != self.settings.origin:
            raise InvalidInput(
                f"the log key is named {signer.name!r}, the origin is {self.settings.origin!r}"
            )
        self.store = store
        self.clock = clock
        self.reader = LedgerReader(store)
        witnesses = [parse_witness_endpoint(w) for w in self.settings.witnesses]
        self.publisher = CheckpointPublisher(store, signer, clock, witnesses=witnesses, client=witness_client)
        self.writer = LedgerWriter(store, self.settings.writer)
        self._schedule: PublishSchedule | None = None
        self._started = False

    @classmethod
    def open(
        cls, engine: Engine, settings: LedgerSettings | None = None, clock: Clock | None = None
    ) -> LedgerService:
        """Over the SQL store of ``engine``, with the log key at ``settings.key_path`` (created if absent)."""
        settings = settings or LedgerSettings.from_env()
        signer = load_or_create_log_signer(settings.key_path, settings.origin)
        return cls(SqlLedgerStore(engine, fsync=settings.fsync), signer, clock or SystemClock(), settings)

    @classmethod
    def in_memory(cls, clock: Clock, origin: str = "agentgov.local/ledger", **kwargs: Any) -> LedgerService:
        """A whole ledger in memory with a fresh key: for tests and demos."""
        signer = Ed25519NoteSigner(origin, Ed25519Signer.generate())
        return cls(MemoryLedgerStore(), signer, clock, LedgerSettings(origin=origin, **kwargs))

    # lifecycle -----------------------------------------------------------------------------------

    def start(self, *, schedule: bool = True) -> LedgerService:
        """Become the writer (Conflict if another process is) and publish on the configured schedule."""
        self.writer.start()
        self._started = True
        if schedule:
            self._schedule = PublishSchedule(self.publisher, self.settings.checkpoint_interval_s).start()
        return self

    @property
    def started(self) -> bool:
        """Whether this process is the writer: only then does :meth:`record` accept events."""
        return self._started

    def close(self) -> None:
        if self._schedule is not None:
            self._schedule.stop()
            self._schedule = None
        if self._started:
            self.writer.close()
            self._started = False

    # writing -------------------------------------------------------------------------------------

    def submit(self, event: AnyEvent) -> Receipt:
        if not self._started:
            raise Unavailable("the ledger writer is not started in this process")
        return self.writer.submit(event)

    def record(self, event: AnyEvent, timeout: float | None = 30.0) -> int:
        """Append ``event``; return its index once it is durably sequenced."""
        return self.submit(event).result(timeout)

    def publish(self) -> StoredCheckpoint:
        return self.publisher.publish()

    def erase(self, index: int) -> bool:
        """Erase the payload of one entry (right to deletion); the tree and its proofs are untouched."""
        return self.store.erase(index)

    # reading -------------------------------------------------------------------------------------

    def registry_events(self, start: int) -> Iterator[tuple[int, AnyEvent | None]]:
        """Registry events at ``start`` and after, in order; None where the payload was erased."""
        end = self.writer.head.size if self._started else self.store.tree_state().size
        for first in range(max(start, 0), end, _SCAN_CHUNK):
            for entry in self.store.entries(first, min(first + _SCAN_CHUNK, end)):
                if parse_leaf(entry.leaf).kind not in REGISTRY_KINDS:
                    continue
                yield entry.index, None if entry.payload is None else parse_event(entry.payload)

    def vkey(self) -> str:
        """The log's verifier key in signed-note verifier-key text."""
        return self.publisher.signer.verifier().verifier_key()

    def checkpoint(self) -> str:
        return self.publisher.cosigned_note()

    def bundle(self, index: int, since: Sequence[int] = (), *, with_payload: bool = False) -> dict[str, Any]:
        """Everything needed to check one entry offline: leaf, inclusion proof, cosigned checkpoint."""
        checkpoint = self.publisher.latest()
        if checkpoint is None or index >= checkpoint.size:
            raise NotFound(f"entry {index} is not covered by a published checkpoint yet")
        if len(since) > _MAX_SINCE:
            raise InvalidInput(f"at most {_MAX_SINCE} earlier sizes per bundle", field="since")
        view, leaf_hash = self.reader.entry(index)
        stored = self.store.entries(index, index + 1)[0]
        consistency = [
            {
                "old": old,
                "new": checkpoint.size,
                "hashes": [_b64(h) for h in self.reader.consistency(old, checkpoint.size)],
            }
            for old in sorted(set(since))
            if 0 < old <= checkpoint.size
        ]
        bundle: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "index": index,
            "leaf": _b64(stored.leaf),
            "leaf_hash": _b64(leaf_hash),
            "status": view.status,
            "checkpoint": self.publisher.cosigned_note(checkpoint),
            "inclusion": {
                "size": checkpoint.size,
                "hashes": [_b64(h) for h in self.reader.inclusion(index, checkpoint.size)],
            },
            "consistency": consistency,
        }
        if with_payload and stored.payload is not None and stored.salt is not None:
            bundle["payload"] = _b64(stored.payload)
            bundle["salt"] = _b64(stored.salt)
        return bundle
