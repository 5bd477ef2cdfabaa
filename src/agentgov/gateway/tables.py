"""The gateway's table (SQLAlchemy Core), on its own MetaData; migration 0006 creates exactly this.

One row per tool of each upstream: the approved definition (its digest and JSON), and the different
definition last seen (noted, awaiting approval), or when the tool was last seen gone.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, MetaData, String, Table

from agentgov.db.tables import UtcDateTime
from agentgov.db.tables import metadata as _registry_metadata

__all__ = ["gateway_metadata", "gateway_tool_pins"]

gateway_metadata = MetaData(naming_convention=_registry_metadata.naming_convention)
_Time = UtcDateTime()
_NAME = 256  # upstream names are chosen by operators; tool names are at most 128 characters (SEP-986)
_DIGEST = 71  # "sha256:" and 64 hex digits

gateway_tool_pins = Table(
    "gateway_tool_pins",
    gateway_metadata,
    Column("upstream", String(_NAME), primary_key=True),
    Column("tool", String(_NAME), primary_key=True),
    Column("pinned_digest", String(_DIGEST), nullable=True),  # null: a new tool, never approved
    Column("pinned_definition", JSON, nullable=True),
    Column("pinned_at", _Time, nullable=True),
    Column("pinned_by", String(_NAME), nullable=True),  # "first-use", or the operator who approved
    Column("observed_digest", String(_DIGEST), nullable=True),  # a different definition awaiting approval
    Column("observed_definition", JSON, nullable=True),
    Column("observed_at", _Time, nullable=True),
    Column("removed_at", _Time, nullable=True),
    Column("first_seen_at", _Time, nullable=False),
    Index("ix_gateway_tool_pins_observed", "upstream", "observed_digest"),
)
