"""The tables of approvals, delegates and disputes (SQLAlchemy Core); migration 0004 creates them."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from agentgov.db.tables import UtcDateTime
from agentgov.db.tables import metadata as _registry_metadata

__all__ = ["approval_delegates", "approvals", "approvals_metadata", "disputes"]

approvals_metadata = MetaData(naming_convention=_registry_metadata.naming_convention)
_Seq = BigInteger().with_variant(Integer(), "sqlite")
_Time = UtcDateTime()
_PRINCIPAL = 256

approvals = Table(
    "approvals",
    approvals_metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("user_id", String(_PRINCIPAL), nullable=False),
    Column("agent_id", String(_PRINCIPAL), nullable=False),
    Column("server", String(256), nullable=False),
    Column("tool", String(128), nullable=False),
    Column("arguments", JSON, nullable=False),  # shown to whoever decides: they approve what they see
    Column("arguments_digest", String(71), nullable=False),  # sha256 of the RFC 8785 arguments
    Column("user_only", Boolean, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("decision_id", String(40), nullable=True),
    Column("status", String(16), nullable=False),  # pending | approved | refused | used
    Column("created_at", _Time, nullable=False),
    Column("created_by", String(_PRINCIPAL), nullable=False),
    Column("expires_at", _Time, nullable=False),
    Column("decided_at", _Time, nullable=True),
    Column("decided_by", String(_PRINCIPAL), nullable=True),  # the user, or the delegate who decided
    Column("note", String(1000), nullable=True),
    Column("used_at", _Time, nullable=True),
    Index("ix_approvals_user_status", "user_id", "status"),
)

approval_delegates = Table(
    "approval_delegates",
    approvals_metadata,
    Column("user_id", String(_PRINCIPAL), primary_key=True),
    Column("delegate_id", String(_PRINCIPAL), primary_key=True),
    Column("created_at", _Time, nullable=False),
    Index("ix_approval_delegates_delegate", "delegate_id"),
)

disputes = Table(
    "disputes",
    approvals_metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("user_id", String(_PRINCIPAL), nullable=False),
    Column("item_id", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open
    Column("created_at", _Time, nullable=False),
    Column("record_index", BigInteger, nullable=True),
    Index("ux_disputes_user_item", "user_id", "item_id", unique=True),
)
