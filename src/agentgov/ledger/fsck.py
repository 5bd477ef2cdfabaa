"""fsck: recompute the stored tree from its leaves and hold every stored hash and checkpoint against it.

It reads the log once, in chunks of 16,384 entries (aligned, so the subtree nodes a chunk completes
form one contiguous range per level), and never holds more than a chunk in memory.
"""

from __future__ import annotations

import hmac
from collections import defaultdict
from dataclasses import dataclass

from agentgov.errors import NotFound
from agentgov.ledger.audit import ModifiedEntry, TreeAudit
from agentgov.ledger.merkle import EMPTY_ROOT
from agentgov.ledger.store import LedgerStore

__all__ = ["FsckReport", "fsck"]

_CHUNK = 1 << 14  # a power of two, so chunks align with subtrees; about 12 MiB of entries in memory


@dataclass(frozen=True)
class FsckReport:
    size: int
    checkpoints: int
    erased: int
    nodes_checked: int


def _compare_nodes(store: LedgerStore, completed: list[tuple[int, int, bytes]]) -> str | None:
    by_level: dict[int, dict[int, bytes]] = defaultdict(dict)
    for level, index, value in completed:
        by_level[level][index] = value
    for level, computed in sorted(by_level.items()):
        first, last = min(computed), max(computed)
        try:
            stored = store.node_range(level, first, last + 1)
        except NotFound:
            return f"stored subtree hashes at level {level}, [{first}, {last + 1}) are missing"
        for offset, value in enumerate(stored):
            if computed.get(first + offset) != value:
                if level == 0:
                    return f"the leaf of entry {first + offset} does not hash to its stored leaf hash"
                return (
                    f"stored subtree hash at level {level}, index {first + offset} differs from the recompute"
                )
    return None


def fsck(store: LedgerStore) -> FsckReport:
    """Raise the first finding (ReorderedEntries, DeletedEntry, ModifiedEntry, BrokenLink) or report."""
    state = store.tree_state()
    checkpoints = store.checkpoints()
    audit = TreeAudit((c.size for c in checkpoints), collect_nodes=True)
    modified: str | None = None
    checked = 0
    for start in range(0, state.size, _CHUNK):
        leaves: list[tuple[int, int, bytes]] = []
        for entry in store.entries(start, min(start + _CHUNK, state.size)):
            leaves.append((0, audit.size, audit.add(entry.leaf, entry.payload, entry.salt)))
        mismatch = _compare_nodes(store, leaves + audit.completed)
        checked += len(audit.completed)
        audit.completed.clear()
        modified = modified or mismatch
    audit.finish_structure(max([state.size, *(c.size for c in checkpoints)]))
    if modified is not None:
        raise ModifiedEntry(modified)
    if audit.edge != state.edge:
        raise ModifiedEntry("the stored right edge of the tree differs from the recompute")
    for checkpoint in checkpoints:
        root = audit.roots.get(checkpoint.size) if checkpoint.size else EMPTY_ROOT
        if root is None or not hmac.compare_digest(root, checkpoint.root_hash):
            raise ModifiedEntry(
                f"the stored entries do not hash to the signed root of size {checkpoint.size}"
            )
    audit.finish()
    return FsckReport(state.size, len(checkpoints), audit.erased, checked)
