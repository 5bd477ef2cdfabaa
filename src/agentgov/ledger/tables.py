"""The ledger's tables (SQLAlchemy Core), on their own MetaData; migration 0003 creates exactly these.

Leaf hashes live in ``ledger_leaf_tiles``, 256 to a row; ``ledger_subtrees`` holds every complete
subtree hash above them, 255 to a row (one height-8 subtree, a tlog-tiles tile). Any proof or tile
is read, never recomputed, and a batch writes a few hash rows, not one per node.
Payloads (which may name people) sit in their own table so that erasure is a delete that leaves the
tree untouched.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, SmallInteger, String, Table, Text

from agentgov.db.tables import UtcDateTime
from agentgov.db.tables import metadata as _registry_metadata

__all__ = [
    "ledger_checkpoints",
    "ledger_cosignatures",
    "ledger_entries",
    "ledger_leaf_tiles",
    "ledger_metadata",
    "ledger_outbox",
    "ledger_payloads",
    "ledger_subtrees",
    "ledger_tree",
]

ledger_metadata = MetaData(naming_convention=_registry_metadata.naming_convention)

# SQLite aliases an INTEGER PRIMARY KEY to the rowid: appends go to the right edge of one B-tree.
_Index = BigInteger().with_variant(Integer(), "sqlite")

ledger_entries = Table(
    "ledger_entries",
    ledger_metadata,
    Column("idx", _Index, primary_key=True, autoincrement=False),
    Column("leaf", LargeBinary, nullable=False),
)

# Leaf hashes, 256 to a row: row N is the tlog-tiles tile 0/N (a partial tile while it fills). Kept
# apart from the leaves so that proofs read a small, dense table that stays in the page cache.
ledger_leaf_tiles = Table(
    "ledger_leaf_tiles",
    ledger_metadata,
    Column("idx", _Index, primary_key=True, autoincrement=False),
    Column("hashes", LargeBinary, nullable=False),
)

ledger_payloads = Table(
    "ledger_payloads",
    ledger_metadata,
    Column("idx", _Index, primary_key=True, autoincrement=False),
    Column("salt", LargeBinary(32), nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

# The 255 inner nodes of each height-8 subtree in one blob (see agentgov.ledger.subtrees): ``level``
# is the tile level T (the subtree's base is Merkle level 8 * T) and ``idx`` the tile index N.
ledger_subtrees = Table(
    "ledger_subtrees",
    ledger_metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hashes", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

# One row: the integrated size and the right edge (CompactRange hashes), written with each batch.
ledger_tree = Table(
    "ledger_tree",
    ledger_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("edge", LargeBinary, nullable=False),
)

ledger_checkpoints = Table(
    "ledger_checkpoints",
    ledger_metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
)

ledger_cosignatures = Table(
    "ledger_cosignatures",
    ledger_metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(300), primary_key=True),
    Column("line", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)

# Events from processes that are not the writer (the CLI, a gateway, a replica): committed here, then
# appended in id order by the writer's drain, which deletes them in the same step (ledger/outbox.py).
ledger_outbox = Table(
    "ledger_outbox",
    ledger_metadata,
    Column("id", _Index, primary_key=True, autoincrement=True),
    Column("event", LargeBinary, nullable=False),  # the event's canonical JSON
    Column("created_at", UtcDateTime, nullable=False),
)
