"""The registry service: organisations, agents, versions, keys, aliases, lifecycle (Art. 4, 11).

Combines the pure cores (declaration, lifecycle, access, search) with the store and clock ports. The
API and the CLI both call this; neither re-implements a rule.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from agentgov.core.clock import Clock
from agentgov.core.ids import new_id
from agentgov.core.validation import validate_model
from agentgov.errors import AgentGovError, IllegalTransition, InvalidInput, NotFound, Unavailable
from agentgov.identity.apikeys import Principal, Role
from agentgov.identity.didkey import verify_possession
from agentgov.identity.domain_proof import HttpFetcher, TxtResolver, verify_domain_control
from agentgov.identity.uscc import validate_uscc
from agentgov.registry import access
from agentgov.registry.aliases import check_alias
from agentgov.registry.declaration import AGENT_NAME_PATTERN, Declaration
from agentgov.registry.lifecycle import DELETED_STATUSES, TRANSITIONS, Action, AgentStatus, next_status
from agentgov.registry.orgs import OrganisationInput
from agentgov.registry.recording import RegistryRecorder
from agentgov.registry.records import (
    AgentRecord,
    LifecycleEvent,
    OrganisationRecord,
    VersionRecord,
)
from agentgov.registry.rows import (
    agent_record,
    canonical_body,
    event_row,
    head_fields,
    org_record,
    stored_json,
    summary,
)
from agentgov.registry.search import SearchQuery, facets_of, matched_fields
from agentgov.registry.search_sql import run_search
from agentgov.registry.store import RegistryStore

_log = logging.getLogger(__name__)

__all__ = ["RegistryService", "SearchResult"]

_NAME_RE = re.compile(AGENT_NAME_PATTERN)
_DOMAIN_RE = re.compile(
    r"^(?=.{3,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)


# A proof of possession is made by the key holder just before submitting it; five minutes absorbs clock
# skew and bounds replay of an intercepted proof (which could only re-bind the same key anyway).
_POSSESSION_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class SearchResult:
    items: list[dict[str, Any]]
    next_cursor: str | None


class RegistryService:
    def __init__(
        self,
        store: RegistryStore,
        clock: Clock,
        *,
        fetcher: HttpFetcher | None = None,
        resolver: TxtResolver | None = None,
        recorder: RegistryRecorder | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.fetcher = fetcher
        self.resolver = resolver
        # Puts versions and lifecycle moves on the record (Art. 7); None in a process without the ledger
        # writer, whose changes stay unrecorded until the writer's next sweep.
        self.recorder = recorder

    # organisations -------------------------------------------------------------------------------

    def create_org(self, principal: Principal | None, data: Any) -> OrganisationRecord:
        access.require_role(principal, Role.ADMIN, Role.REGISTRAR)
        org = validate_model(OrganisationInput, data)
        domain = org.domain.lower().rstrip(".")
        if not _DOMAIN_RE.match(domain):
            raise InvalidInput(f"{org.domain!r} is not a domain name", field="domain")
        legal_id = org.legal_id
        if org.country == "CN":
            if not legal_id:
                raise InvalidInput(
                    "a Chinese organisation files its unified social credit code", field="legal_id"
                )
            legal_id = validate_uscc(legal_id)
        now = self.clock.now()
        body = org.model_dump(mode="json", include={"kinds", "contacts", "owners", "sponsors"})
        org_id = new_id("org")
        row = {
            "id": org_id,
            "name": org.name,
            "domain": domain,
            "legal_id": legal_id,
            "country": org.country,
            "body": body,
            "created_at": now,
            "updated_at": now,
        }
        self.store.insert_org(row)
        return self.get_org(org_id)

    def get_org(self, key: str) -> OrganisationRecord:
        return org_record(self.store.get_org(key))

    def list_orgs(self, limit: int = 50, after: str | None = None) -> list[OrganisationRecord]:
        return [org_record(r) for r in self.store.list_orgs(limit, after)]

    def prove_domain(
        self, principal: Principal | None, org_key: str, method: str, timestamp: str, signature: str
    ) -> OrganisationRecord:
        """Check and record control of the organisation's domain (MCP-registry proof record)."""
        org = self.store.get_org(org_key)
        access.require_org_manager(principal, org["id"])
        if method not in ("http", "dns"):
            raise InvalidInput(f"unknown proof method {method!r} (known: http, dns)", field="method")
        if (method == "http" and self.fetcher is None) or (method == "dns" and self.resolver is None):
            raise Unavailable(f"no {method} client is configured for domain proofs")
        proof = verify_domain_control(
            org["domain"],
            "http" if method == "http" else "dns",
            timestamp,
            signature,
            fetcher=self.fetcher,
            resolver=self.resolver,
            clock=self.clock,
        )
        record = {
            "method": proof.method,
            "public_key": proof.public_key,
            "timestamp": timestamp,
            "verified_at": proof.verified_at.isoformat(),
        }
        self.store.set_domain_proof(org["id"], record, proof.verified_at)
        return self.get_org(org["id"])

    # agents --------------------------------------------------------------------------------------

    def register_agent(
        self,
        principal: Principal | None,
        org_key: str,
        name: str,
        declaration: Any,
        aliases: list[dict[str, str]] | None = None,
    ) -> AgentRecord:
        org = self.store.get_org(org_key)
        p = access.require_org_manager(principal, org["id"])
        if not _NAME_RE.match(name):
            raise InvalidInput(
                f"agent name {name!r} must be 1-64 lower-case letters, digits, '.', '_' or '-'", field="name"
            )
        decl = validate_model(Declaration, declaration)
        checked_aliases = [check_alias(a) for a in aliases or []]
        now = self.clock.now()
        agent_id = f"urn:agent:{org['domain']}:{name}"
        body, digest = canonical_body(decl)
        with self.store.transaction() as conn:
            seq = self.store.insert_agent(
                conn,
                {
                    "id": agent_id,
                    "org_id": org["id"],
                    "name": name,
                    "status": AgentStatus.FILED.value,
                    "created_at": now,
                    "updated_at": now,
                    "deleted": False,
                    "hosted": False,
                    **head_fields(name, decl, 1, digest, now),
                },
                {
                    "version": 1,
                    "digest": digest,
                    "prev_digest": None,
                    "body": body,
                    "created_by": p.actor,
                    "created_at": now,
                },
                facets_of(decl),
                checked_aliases,
            )
            self.store.add_event(
                conn, seq, event_row("file", None, AgentStatus.FILED, p, reason=None, evidence={}, at=now)
            )
        self._record(seq)
        return self.get_agent(p, agent_id)

    def publish_version(self, principal: Principal | None, agent_key: str, declaration: Any) -> AgentRecord:
        decl = validate_model(Declaration, declaration)
        now = self.clock.now()
        agent_id = self._visible(principal, agent_key)["id"]
        with self.store.transaction() as conn:
            head = self.store.lock_agent(conn, agent_id)
            p = access.require_org_manager(principal, head["org_id"])
            if AgentStatus(head["status"]) in DELETED_STATUSES:
                raise IllegalTransition(
                    f"a {head['status']} agent takes no new versions", current=head["status"]
                )
            body, digest = canonical_body(decl)
            version = int(head["version"]) + 1
            self.store.add_version(
                conn,
                head["seq"],
                {**head_fields(head["name"], decl, version, digest, now), "updated_at": now},
                {
                    "version": version,
                    "digest": digest,
                    "prev_digest": head["digest"],
                    "body": body,
                    "created_by": p.actor,
                    "created_at": now,
                },
                facets_of(decl),
            )
        self._record(head["seq"])
        return self.get_agent(p, agent_id)

    def add_alias(self, principal: Principal | None, agent_key: str, alias: dict[str, str]) -> AgentRecord:
        row = self._visible(principal, agent_key)
        p = access.require_org_manager(principal, row["org_id"])
        value, scheme = check_alias(alias)
        with self.store.transaction() as conn:
            self.store.add_alias(conn, row["seq"], value, scheme, self.clock.now())
        return self.get_agent(p, row["id"])

    def bind_key(
        self, principal: Principal | None, agent_key: str, did: str, timestamp: str, signature: str
    ) -> AgentRecord:
        """Bind an Ed25519 did:key to the agent once its holder proves possession (signs the challenge)."""
        row = self._visible(principal, agent_key)
        p = access.require_org_manager(principal, row["org_id"])
        verify_possession(
            row["id"], did, timestamp, signature, now=self.clock.now(), window=_POSSESSION_WINDOW
        )
        with self.store.transaction() as conn:
            self.store.set_agent_fields(conn, row["seq"], agent_key=did, updated_at=self.clock.now())
        return self.get_agent(p, row["id"])

    def move(
        self,
        principal: Principal | None,
        agent_key: str,
        action: str,
        reason: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> AgentRecord:
        try:
            act = Action(action)
        except ValueError as exc:
            known = ", ".join(a.value for a in Action)
            raise InvalidInput(
                f"unknown lifecycle action {action!r} (known: {known})", field="action"
            ) from exc
        agent_id = self._visible(principal, agent_key)["id"]
        now = self.clock.now()
        with self.store.transaction() as conn:
            head = self.store.lock_agent(conn, agent_id)
            transition = TRANSITIONS[act]
            p = access.actor_for(principal, head["org_id"], transition.by)
            current = AgentStatus(head["status"])
            target = next_status(current, act, transition.by, reason)
            self.store.set_agent_fields(
                conn, head["seq"], status=target.value, deleted=target in DELETED_STATUSES, updated_at=now
            )
            self.store.add_event(
                conn,
                head["seq"],
                event_row(act.value, current, target, p, reason=reason, evidence=evidence or {}, at=now),
            )
            self.store.announce(conn, agent_id)
        self._record(head["seq"])
        return self.get_agent(p, agent_id)

    def _record(self, agent_seq: int) -> None:
        """Put the agent's committed, unrecorded changes on the record; a ledger outage defers them."""
        if self.recorder is None:
            return
        try:
            self.recorder.record_agent(agent_seq)
        except AgentGovError as exc:
            _log.warning("registry change of agent %s left for the next sweep: %s", agent_seq, exc)

    # reading -------------------------------------------------------------------------------------

    def _visible(self, principal: Principal | None, agent_key: str) -> Any:
        """The agent's head row if this principal may know it exists; NotFound otherwise."""
        row = self.store.find_agent(agent_key)
        if not access.may_see(principal, row["org_id"], AgentStatus(row["status"])):
            raise NotFound(f"no agent {agent_key!r}")  # do not reveal unpublished filings
        return row

    def get_agent(self, principal: Principal | None, agent_key: str) -> AgentRecord:
        row, aliases = self.store.find_agent_with_aliases(agent_key)
        if not access.may_see(principal, row["org_id"], AgentStatus(row["status"])):
            raise NotFound(f"no agent {agent_key!r}")  # do not reveal unpublished filings
        return agent_record(
            row, [dict(a) for a in aliases], self.clock.now(), self.store.last_ledger_index(row["seq"])
        )

    def versions(self, principal: Principal | None, agent_key: str) -> list[VersionRecord]:
        row = self._visible(principal, agent_key)
        return [_version_record(row["id"], v) for v in self.store.versions_of(row["seq"])]

    def version(self, principal: Principal | None, agent_key: str, number: int) -> VersionRecord:
        row = self._visible(principal, agent_key)
        stored = self.store.version_of(row["seq"], number)
        if stored is None:
            raise NotFound(f"agent {row['id']!r} has no version {number}")
        return _version_record(row["id"], stored)

    def events(self, principal: Principal | None, agent_key: str) -> list[LifecycleEvent]:
        row = self._visible(principal, agent_key)
        return [
            LifecycleEvent(
                agent_id=row["id"], **{k: e[k] for k in LifecycleEvent.model_fields if k != "agent_id"}
            )
            for e in self.store.events_of(row["seq"])
        ]

    def search(self, principal: Principal | None, query: SearchQuery) -> SearchResult:
        if not 1 <= query.limit <= 100:
            raise InvalidInput("limit must be between 1 and 100", field="limit")
        scoped = SearchQuery(
            **{
                **query.__dict__,
                "public_only": not access.sees_everything(principal),
                "own_org": principal.org_id if principal and principal.role is Role.DEVELOPER else None,
            }
        )
        now = self.clock.now()
        page = run_search(self.store, scoped, now)
        items = []
        for row in page.rows:
            declaration = stored_json(row["body"])
            matched = matched_fields(page.terms, row["name"], declaration)
            matched += [f"filter:{k}" for k in sorted(query.filters)]
            items.append(
                {
                    **summary(row, now).model_dump(mode="json"),
                    "description": declaration.get("description", ""),
                    "matched": matched,
                }
            )
        return SearchResult(items, page.next_cursor)


def _version_record(agent_id: str, v: Any) -> VersionRecord:
    return VersionRecord(
        agent_id=agent_id,
        version=v["version"],
        digest=v["digest"],
        prev_digest=v["prev_digest"],
        declaration=stored_json(v["body"]),
        created_by=v["created_by"],
        created_at=v["created_at"],
        ledger_index=v["ledger_index"],
    )
