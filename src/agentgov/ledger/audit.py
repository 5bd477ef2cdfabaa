"""What a verifier can find wrong with a log, and the streaming recompute (fsck) that finds it.

Each finding is its own error class with its own exit code, so that a regulator's script can tell a
deleted entry from a fork without reading prose. :class:`TreeAudit` reads leaves in order, recomputes
the tree (RFC 9162 §2.1.1) and the roots at the sizes it is asked for, checks each leaf's position,
each payload against its salted digest, and each registry event's link to the event it follows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from typing import ClassVar

from agentgov.errors import InvalidInput, VerificationFailed
from agentgov.ledger.entries import REGISTRY_KINDS, parse_leaf, payload_digest
from agentgov.ledger.merkle import EMPTY_ROOT, extend_edge, node_hash

__all__ = [
    "EXIT_CODES",
    "BadSignature",
    "BrokenLink",
    "DeletedEntry",
    "Fork",
    "InconsistentHistory",
    "InsufficientEvidence",
    "LedgerVerifyError",
    "MissingQuorum",
    "ModifiedEntry",
    "ReorderedEntries",
    "Rollback",
    "TreeAudit",
    "edge_root",
]


class LedgerVerifyError(VerificationFailed):
    """A finding of the offline verifier; ``exit_code`` is what ``agentgov ledger verify`` exits with."""

    exit_code: ClassVar[int] = 1
    code = "ledger_unverified"
    title = "Ledger does not verify"


class BadSignature(LedgerVerifyError):
    exit_code = 3
    code = "ledger_bad_signature"
    title = "Checkpoint signature does not verify"


class MissingQuorum(LedgerVerifyError):
    exit_code = 4
    code = "ledger_missing_quorum"
    title = "Too few witness cosignatures"


class Fork(LedgerVerifyError):
    exit_code = 5
    code = "ledger_fork"
    title = "Two checkpoints of one size with different roots"


class Rollback(LedgerVerifyError):
    exit_code = 6
    code = "ledger_rollback"
    title = "A later checkpoint is smaller"


class ModifiedEntry(LedgerVerifyError):
    exit_code = 7
    code = "ledger_modified_entry"
    title = "An entry was modified"


class DeletedEntry(LedgerVerifyError):
    exit_code = 8
    code = "ledger_deleted_entry"
    title = "An entry was deleted"


class ReorderedEntries(LedgerVerifyError):
    exit_code = 9
    code = "ledger_reordered_entries"
    title = "Entries are out of order"


class BrokenLink(LedgerVerifyError):
    exit_code = 10
    code = "ledger_broken_link"
    title = "A registry event does not follow its agent's previous event"


class InconsistentHistory(LedgerVerifyError):
    exit_code = 11
    code = "ledger_inconsistent"
    title = "Checkpoints of different sizes are not consistent"


class InsufficientEvidence(LedgerVerifyError):
    exit_code = 12
    code = "ledger_insufficient_evidence"
    title = "Not enough evidence to connect the checkpoints"


EXIT_CODES: tuple[type[LedgerVerifyError], ...] = (
    BadSignature,
    MissingQuorum,
    Fork,
    Rollback,
    ModifiedEntry,
    DeletedEntry,
    ReorderedEntries,
    BrokenLink,
    InconsistentHistory,
    InsufficientEvidence,
)


def edge_root(edge: Sequence[bytes]) -> bytes:
    """MTH of the tree whose right edge is ``edge`` (largest subtree first), RFC 9162 §2.1.1."""
    if not edge:
        return EMPTY_ROOT
    value = edge[-1]
    for left in reversed(edge[:-1]):
        value = node_hash(left, value)
    return value


class TreeAudit:
    """Feed leaves in log order with :meth:`add`; then :meth:`finish` raises the gravest finding."""

    def __init__(self, sizes: Iterable[int] = (), *, collect_nodes: bool = False) -> None:
        self._collect = collect_nodes
        self.completed: list[tuple[int, int, bytes]] = []  # nodes above level 0, when collected
        self._wanted = sorted(set(sizes), reverse=True)
        self.roots: dict[int, bytes] = {}
        self.size = 0
        self.erased = 0
        self._edge: list[bytes] = []
        self._next = 0  # the index the next leaf should carry
        self._missing: list[tuple[int, int]] = []  # ranges skipped over, maybe delivered later
        self._findings: dict[type[LedgerVerifyError], str] = {}
        # Link checks in memory bounded by the number of agents, not of entries: a bitmap of which
        # indexes are registry events, each agent's latest event and its reverse, erased registry events.
        self._registry = bytearray(1024)
        self._last: dict[str, int] = {}
        self._owner: dict[int, str] = {}
        self._erased: set[int] = set()

    def _find(self, kind: type[LedgerVerifyError], message: str) -> None:
        self._findings.setdefault(kind, message)

    def add(self, leaf: bytes, payload: bytes | None = None, salt: bytes | None = None) -> bytes:
        """Add the next leaf (with its payload and salt when known); return its leaf hash."""
        position = self.size
        value = hashlib.sha256(b"\x00" + leaf).digest()
        nodes = extend_edge(self._edge, position, [value])
        if self._collect:
            self.completed.extend(nodes)
        self.size += 1
        while self._wanted and self._wanted[-1] == self.size:
            self.roots[self._wanted.pop()] = edge_root(self._edge)
        try:
            parsed = parse_leaf(leaf)
        except InvalidInput as exc:
            self._find(ModifiedEntry, f"entry at position {position} is not a leaf of this log: {exc.detail}")
            return value
        self._check_position(parsed.index)
        if payload is None or salt is None:
            self.erased += 1
        elif not hmac.compare_digest(payload_digest(salt, payload), parsed.payload_digest):
            self._find(ModifiedEntry, f"the payload of entry {parsed.index} does not match its leaf's digest")
        if parsed.kind in REGISTRY_KINDS:
            agent = None
            if payload is not None and salt is not None:
                # The salted digest already binds the payload to the leaf; only the agent is needed.
                try:
                    agent = json.loads(payload).get("agent_id")
                except (ValueError, AttributeError):
                    agent = None
                if not isinstance(agent, str):
                    self._find(ModifiedEntry, f"the payload of entry {parsed.index} names no agent")
                    return value
            self._check_link(parsed.index, parsed.follows, agent)
        elif parsed.follows is not None:
            self._find(
                BrokenLink, f"entry {parsed.index} ({parsed.kind}) carries a link only registry events carry"
            )
        return value

    def _check_position(self, index: int) -> None:
        if index == self._next:
            self._next += 1
        elif index > self._next:
            self._missing.append((self._next, index))
            self._next = index + 1
        elif any(start <= index < end for start, end in self._missing):
            self._find(ReorderedEntries, f"entry {index} comes after entry {self._next - 1}")
        else:
            self._find(ModifiedEntry, f"entry {index} appears twice")

    def _is_registry(self, index: int) -> bool:
        return index >> 3 < len(self._registry) and bool(self._registry[index >> 3] >> (index & 7) & 1)

    def _check_link(self, index: int, follows: int | None, agent: str | None) -> None:
        # Application links: a registry event names its agent's previous registry event (Art. 7).
        if follows is not None:
            if follows >= index or not self._is_registry(follows):
                self._find(
                    BrokenLink, f"entry {index} follows {follows}, which is not an earlier registry event"
                )
            elif agent is not None and follows not in self._erased and self._last.get(agent) != follows:
                owner = self._owner.get(follows)
                if owner is not None and owner != agent:
                    self._find(BrokenLink, f"entry {index} of {agent} follows entry {follows} of {owner}")
                else:
                    latest = self._last.get(agent)
                    self._find(BrokenLink, f"entry {index} follows {follows}, not {agent}'s latest {latest}")
        elif agent is not None and agent in self._last:
            self._find(
                BrokenLink, f"entry {index} of {agent} does not name its previous event {self._last[agent]}"
            )
        if len(self._registry) <= index >> 3:
            self._registry.extend(bytes((index >> 3) + 1024 - len(self._registry)))
        self._registry[index >> 3] |= 1 << (index & 7)
        if agent is None:
            self._erased.add(index)  # whose event it was is unknown: links to it cannot be judged
            return
        previous = self._last.get(agent)
        if previous is not None:
            del self._owner[previous]
        self._last[agent] = index
        self._owner[index] = agent

    def root(self) -> bytes:
        return edge_root(self._edge)

    @property
    def edge(self) -> tuple[bytes, ...]:
        return tuple(self._edge)

    def finish_structure(self, expected_size: int | None = None) -> None:
        """Raise a reordering, else a deletion (a gap, or fewer entries than ``expected_size``)."""
        if ReorderedEntries in self._findings:
            raise ReorderedEntries(self._findings[ReorderedEntries])
        if self._missing:
            start, end = self._missing[0]
            raise DeletedEntry(f"entries [{start}, {end}) are missing")
        if expected_size is not None and self._next < expected_size:
            raise DeletedEntry(f"the log ends at {self._next} entries, a checkpoint covers {expected_size}")

    def finish(self, expected_size: int | None = None) -> None:
        """Raise the gravest finding: reordering, deletion, then a modified entry, then a broken link."""
        self.finish_structure(expected_size)
        for kind in (ModifiedEntry, BrokenLink):
            if kind in self._findings:
                raise kind(self._findings[kind])
