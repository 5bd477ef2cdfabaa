"""The authority's tables (SQLAlchemy Core), on their own MetaData; migration 0004 creates exactly these.

Grants are kept as the canonical JSON the user delegated (and possibly signed), with its digest; the
columns beside it (grantor, agent, window, revocation) exist so that a decision finds the live grants
with one indexed query. Usage is summed per grant and UTC day. Amounts are integers of millionths,
rounded up when charged, so a budget is never under-counted and every backend adds them exactly.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from agentgov.db.tables import UtcDateTime
from agentgov.db.tables import metadata as _registry_metadata

__all__ = [
    "AMOUNT_SCALE",
    "authority_metadata",
    "decisions",
    "grant_usage",
    "grants",
    "policy_deployments",
    "policy_sets",
    "user_signing_keys",
]

AMOUNT_SCALE = 1_000_000  # usage amounts are stored in millionths (micro-units) of the grant's currency

authority_metadata = MetaData(naming_convention=_registry_metadata.naming_convention)
_Seq = BigInteger().with_variant(Integer(), "sqlite")
_Time = UtcDateTime()
_PRINCIPAL = 256
_DIGEST = 71  # "sha256:" + 64 hex

policy_sets = Table(
    "policy_sets",
    authority_metadata,
    Column("digest", String(_DIGEST), primary_key=True),
    Column("source", JSON, nullable=False),  # every pack in full, so the set rebuilds to its digest
    Column("policy_count", Integer, nullable=False),
    Column("created_at", _Time, nullable=False),
    Column("created_by", String(_PRINCIPAL), nullable=False),
)

policy_deployments = Table(
    "policy_deployments",
    authority_metadata,
    Column("name", String(64), primary_key=True),
    Column("digest", String(_DIGEST), ForeignKey("policy_sets.digest"), nullable=False),
    Column("mode", String(16), nullable=False),  # enforce | shadow
    Column("activated_at", _Time, nullable=False),
    Column("activated_by", String(_PRINCIPAL), nullable=False),
)

grants = Table(
    "grants",
    authority_metadata,
    Column("id", String(128), primary_key=True),
    Column("grantor", String(_PRINCIPAL), nullable=False),
    Column("agent_id", String(_PRINCIPAL), nullable=False),
    Column("canonical", Text, nullable=False),  # RFC 8785 text of the grant: what is signed and digested
    Column("digest", String(_DIGEST), nullable=False),
    Column("signature", String(200), nullable=True),  # base64url Ed25519 over the signing input
    Column("authenticated_by", String(16), nullable=False),  # signature | api_key
    Column("not_before", _Time, nullable=False),
    Column("expires_at", _Time, nullable=False),
    Column("created_at", _Time, nullable=False),
    Column("created_by", String(_PRINCIPAL), nullable=False),
    Column("revoked_at", _Time, nullable=True),
    Column("revoked_by", String(_PRINCIPAL), nullable=True),
    Column("revoke_reason", String(1000), nullable=True),
    Index("ix_grants_grantor_agent", "grantor", "agent_id"),
)

grant_usage = Table(
    "grant_usage",
    authority_metadata,
    Column("grant_id", String(128), ForeignKey("grants.id"), primary_key=True),
    Column("day", String(10), primary_key=True),  # UTC day, YYYY-MM-DD
    Column("count", BigInteger, nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
)

decisions = Table(
    "decisions",
    authority_metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("deployment", String(64), nullable=False),
    Column("user_id", String(_PRINCIPAL), nullable=False),
    Column("agent_id", String(_PRINCIPAL), nullable=False),
    Column("server", String(256), nullable=False),
    Column("tool", String(128), nullable=False),
    Column("arguments_digest", String(_DIGEST), nullable=False),
    Column("request", JSON, nullable=False),
    Column("effect", String(8), nullable=False),
    Column("applied_effect", String(8), nullable=False),
    Column("enforced", Boolean, nullable=False),
    Column("decision_class", String(16), nullable=True),
    Column("decision", JSON, nullable=False),
    Column("policy_digest", String(_DIGEST), nullable=False),
    Column("record_index", BigInteger, nullable=True),
    Column("created_at", _Time, nullable=False),
    Column("ran_at", _Time, nullable=True),
    Index("ix_decisions_user_time", "user_id", "created_at"),
)

user_signing_keys = Table(
    "user_signing_keys",
    authority_metadata,
    Column("user_id", String(_PRINCIPAL), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_key", String(64), nullable=False),  # base64url, no padding
    Column("created_at", _Time, nullable=False),
)
