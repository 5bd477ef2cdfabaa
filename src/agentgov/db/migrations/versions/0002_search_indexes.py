"""Search: search text as a token stream; on SQLite a dictionary of indexed words for prefix queries; on
PostgreSQL finer statistics of the text vector.

``agents.search_text`` becomes the normalised token stream of ``registry.search.index_text`` (folded words
and CJK bigrams separated by single spaces); existing rows are recomputed from their current version.

On SQLite, ``agents_fts_terms`` holds every word of four characters or more (not a number) ever
indexed, kept by triggers that split ``search_text`` on its spaces. A prefix query looks up the words the
prefix begins there and asks FTS5 for an OR of those exact words, which it walks lazily; FTS5's own
prefix query first merges the doclists of every matching word (tens of milliseconds for a common word
at a million agents). Words are never removed: a stale word only adds an OR branch that matches nothing.

On PostgreSQL, the planner's estimate of how many agents a word matches decides between walking the
primary key in order and reading the GIN index; with the default statistics target every word outside
the few hundred most common is guessed at the same fraction, and a rare word then walks the table.
Tracking the 10,000 most common lexemes (statistics target 1000) makes that estimate close.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection, bindparam, select, update

from agentgov.core.canonical import parse_json
from agentgov.registry.declaration import Declaration
from agentgov.registry.search import index_text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Only the columns this revision reads and writes, as they were when it was written (ADR 0005).
agents = sa.table(
    "agents",
    sa.column("seq", sa.Integer),
    sa.column("name", sa.String),
    sa.column("version", sa.Integer),
    sa.column("search_text", sa.Text),
)
agent_versions = sa.table(
    "agent_versions",
    sa.column("agent_seq", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("body", sa.Text),
)

_BATCH = 5_000  # agents recomputed per statement: bounds the memory of the backfill

# Tokens contain only letters and digits and are separated by single spaces, so the search text becomes
# a JSON array by quoting; anything else (a row written by other means) yields no words instead of an
# error. Shorter tokens (CJK bigrams among them) and numbers are never expanded from a prefix.
_WORDS_OF_NEW = (
    "INSERT OR IGNORE INTO agents_fts_terms(term) SELECT value FROM json_each(iif("
    "json_valid('[\"' || replace(new.search_text, ' ', '\",\"') || '\"]'), "
    "'[\"' || replace(new.search_text, ' ', '\",\"') || '\"]', '[]')) "
    "WHERE length(value) > 3 AND unicode(value) NOT BETWEEN 48 AND 57;"
)
_SQLITE_UP = (
    "CREATE TABLE agents_fts_terms (term TEXT NOT NULL PRIMARY KEY) WITHOUT ROWID",
    f"CREATE TRIGGER agents_fts_terms_ai AFTER INSERT ON agents BEGIN {_WORDS_OF_NEW} END",
    f"CREATE TRIGGER agents_fts_terms_au AFTER UPDATE OF search_text ON agents BEGIN {_WORDS_OF_NEW} END",
)
_POSTGRES_UP = ("ALTER TABLE agents ALTER COLUMN search_vector SET STATISTICS 1000",)
_POSTGRES_DOWN = ("ALTER TABLE agents ALTER COLUMN search_vector SET STATISTICS -1",)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS agents_fts_terms_au",
    "DROP TRIGGER IF EXISTS agents_fts_terms_ai",
    "DROP TABLE IF EXISTS agents_fts_terms",
)


def _reindex(bind: Connection) -> None:
    """Recompute ``search_text`` of every agent from its current version (the FTS triggers follow)."""
    head = select(agents.c.seq, agents.c.name, agent_versions.c.body).join(
        agent_versions,
        (agent_versions.c.agent_seq == agents.c.seq) & (agent_versions.c.version == agents.c.version),
    )
    change = update(agents).where(agents.c.seq == bindparam("s")).values(search_text=bindparam("t"))
    after = 0
    while True:
        rows = bind.execute(head.where(agents.c.seq > after).order_by(agents.c.seq).limit(_BATCH)).all()
        if not rows:
            return
        bind.execute(
            change,
            [
                {"s": seq, "t": index_text(name, Declaration.model_validate(parse_json(body)))}
                for seq, name, body in rows
            ],
        )
        after = rows[-1][0]


def upgrade() -> None:
    bind = op.get_bind()
    for statement in _SQLITE_UP if bind.dialect.name == "sqlite" else _POSTGRES_UP:
        op.execute(statement)
    _reindex(bind)


def downgrade() -> None:
    for statement in _SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else _POSTGRES_DOWN:
        op.execute(statement)
