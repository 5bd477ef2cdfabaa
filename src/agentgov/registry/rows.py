"""Rows and records: what the service writes to the store and how stored rows become records."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from agentgov.core.canonical import canonical_json
from agentgov.core.digest import digest_bytes
from agentgov.identity.apikeys import Principal
from agentgov.registry.declaration import Declaration
from agentgov.registry.lifecycle import AgentStatus
from agentgov.registry.records import AgentRecord, AgentSummary, OrganisationRecord
from agentgov.registry.search import index_text

__all__ = [
    "agent_record",
    "canonical_body",
    "event_row",
    "head_fields",
    "org_record",
    "stored_json",
    "summary",
]


def canonical_body(decl: Declaration) -> tuple[str, str]:
    raw = canonical_json(decl.to_json())
    return raw.decode("utf-8"), digest_bytes(raw)


def head_fields(name: str, decl: Declaration, version: int, digest: str, now: datetime) -> dict[str, Any]:
    valid = [c.valid_until for c in decl.certifications if c.is_valid_at(now)]
    return {
        "version": version,
        "digest": digest,
        "display_name": decl.display_name,
        "deployment_mode": decl.deployment.mode.value,
        "certified_until": max(valid) if valid else None,
        "search_text": index_text(name, decl),
    }


def event_row(
    action: str,
    source: AgentStatus | None,
    target: AgentStatus,
    p: Principal,
    *,
    reason: str | None,
    evidence: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    return {
        "action": action,
        "from_status": source.value if source else None,
        "to_status": target.value,
        "actor": p.actor,
        "actor_role": p.role.value,
        "reason": reason,
        "evidence": evidence,
        "at": at,
    }


def _summary_fields(row: Any, now: datetime) -> dict[str, Any]:
    until = row["certified_until"]
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "name": row["name"],
        "display_name": row["display_name"],
        "status": AgentStatus(row["status"]),
        "version": row["version"],
        "digest": row["digest"],
        "deployment_mode": row["deployment_mode"],
        "certified": until is not None and until > now,
        "deleted": bool(row["deleted"]),
        "updated_at": row["updated_at"],
    }


def summary(row: Any, now: datetime) -> AgentSummary:
    return AgentSummary(**_summary_fields(row, now))


def org_record(row: Any) -> OrganisationRecord:
    body = row["body"]
    return OrganisationRecord(
        id=row["id"],
        name=row["name"],
        domain=row["domain"],
        country=row["country"],
        legal_id=row["legal_id"],
        kinds=body["kinds"],
        contacts=body["contacts"],
        owners=body["owners"],
        sponsors=body["sponsors"],
        domain_verified=row["domain_verified_at"] is not None,
        domain_proof=row["domain_proof"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def stored_json(body: str) -> Any:
    """A body the registry itself wrote as RFC 8785 JSON: no duplicate members, no NaN, so the strict
    parser for untrusted input (``core.parse_json``) is not needed on this hot path."""
    return json.loads(body)


def agent_record(
    row: Any, aliases: list[dict[str, str]], now: datetime, ledger_index: int | None = None
) -> AgentRecord:
    return AgentRecord(
        ledger_index=ledger_index,
        **_summary_fields(row, now),
        agent_key=row["agent_key"],
        aliases=aliases,
        declaration=stored_json(row["body"]),
        created_at=row["created_at"],
    )
