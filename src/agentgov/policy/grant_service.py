"""Grants as a service (Art. 6): a user delegates, lists ("what can my agents do") and revokes.

Who may grant: a user, for themself only (their key's subject is the grant's grantor); an admin may
not grant on a user's behalf. The grant is stored as its RFC 8785 canonical JSON with its digest.
How the user is authenticated: by their API key, always; and, when they registered an Ed25519
signing key (``set_signing_key``) and send a signature over the canonical form, by that signature,
which is verified and stored beside the grant. A signature from a user with no registered key cannot
be checked and is refused rather than stored as if it meant something.

Nothing is stored when anything is wrong: a malformed grant, one covering a user-only action
(``grant_covers_user_only``), a constraint on an argument the tool does not have (``unknown_argument``),
or a signature that does not verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from agentgov.core.clock import Clock, isoformat_z
from agentgov.core.ids import new_id
from agentgov.core.keys import Ed25519Verifier, b64url, b64url_decode
from agentgov.core.validation import validate_model
from agentgov.errors import Conflict, Forbidden, InvalidInput, InvalidSignature, NotFound
from agentgov.identity.apikeys import Principal, Role
from agentgov.identity.didkey import DID_KEY_PREFIX, did_key_from_public, public_from_did_key
from agentgov.policy.grant_eval import SignedGrant, check_grant, verify_grant
from agentgov.policy.grants import Grant
from agentgov.policy.store import AuthorityStore, Recorder
from agentgov.policy.tables import AMOUNT_SCALE
from agentgov.policy.versions import READERS, PolicyVersions, require_role

__all__ = ["GrantService"]


def _user(who: Principal) -> str:
    if who.role is not Role.USER or not who.subject:
        raise Forbidden(
            "only the user delegates their own authority: grants are made with the user's own key, "
            "and an admin may not grant on a user's behalf"
        )
    return who.subject


class GrantService:
    def __init__(
        self,
        store: AuthorityStore,
        clock: Clock,
        recorder: Recorder,
        versions: PolicyVersions,
        *,
        input_schemas: Mapping[str, Mapping[str, Any]] | None = None,
        max_page_size: int = 100,
    ) -> None:
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self.versions = versions
        self._input_schemas = dict(input_schemas or {})
        self._max_page = max_page_size

    # signing keys ----------------------------------------------------------------------------------

    def set_signing_key(self, who: Principal, public_key: str) -> dict[str, Any]:
        """Register the user's Ed25519 key (did:key, or 32 bytes base64url): grants they sign are checked."""
        user = _user(who)
        raw = public_from_did_key(public_key) if public_key.startswith(DID_KEY_PREFIX) else None
        if raw is None:
            raw = b64url_decode(public_key)
        Ed25519Verifier(raw)  # 32 bytes, a valid point
        self.store.put_signing_key(user, "EdDSA", b64url(raw), self.clock.now())
        did = did_key_from_public(raw)
        self.recorder.record("authority.signing_key.set", user, who.actor, {"did": did})
        return {"user_id": user, "algorithm": "EdDSA", "did": did}

    def signing_key(self, who: Principal) -> dict[str, Any]:
        user = _user(who)
        row = self.store.signing_key(user)
        if row is None:
            raise NotFound(f"no signing key is registered for {user!r}")
        raw = b64url_decode(row["public_key"])
        return {"user_id": user, "algorithm": row["algorithm"], "did": did_key_from_public(raw)}

    # grants ----------------------------------------------------------------------------------------

    def _schemas(self) -> dict[str, Mapping[str, Any]]:
        declared = self.versions.declared_arguments()
        schemas: dict[str, Mapping[str, Any]] = {
            tool: {"properties": {arg: {} for arg in sorted(args)}} for tool, args in declared.items()
        }
        schemas.update(self._input_schemas)  # a tool's own schema (MCP tools/list) wins over a manifest
        return schemas

    def _parse(self, user: str, body: Mapping[str, Any]) -> tuple[Grant, str | None]:
        doc = body.get("grant")
        if not isinstance(doc, dict):
            raise InvalidInput("the body is {'grant': {...}, 'signature'?: '...'}", field="grant")
        if unknown := sorted(set(body) - {"grant", "signature", "algorithm"}):
            raise InvalidInput(f"unknown members {unknown}", field=unknown[0])
        signature = body.get("signature")
        if signature is None:  # unsigned: the server may fill what the user left out
            doc = {"id": new_id("grt"), "not_before": isoformat_z(self.clock.now()), **doc}
            return validate_model(Grant, doc), None
        signed = validate_model(SignedGrant, {**body, "grant": doc})
        key = self.store.signing_key(user)
        if key is None:
            raise InvalidSignature(
                f"no signing key is registered for {user!r}, so the signature cannot be checked: register "
                "one (PUT /v1/me/signing-key) or send the grant unsigned",
                field="signature",
            )
        return verify_grant(signed, Ed25519Verifier(b64url_decode(key["public_key"]))), signed.signature

    def create(self, who: Principal, body: Mapping[str, Any]) -> dict[str, Any]:
        user = _user(who)
        grant, signature = self._parse(user, body)
        if grant.grantor != user:  # Art. 6: a user delegates only their own authority
            raise Forbidden(f"a user grants only for themself: you are {user!r}, not {grant.grantor!r}")
        now = self.clock.now()
        if grant.expires_at <= now:
            raise InvalidInput("the grant has already expired", field="expires_at")
        check_grant(grant, user_only_tools=self.versions.user_only_tools(), input_schemas=self._schemas())
        canonical = grant.canonical()
        row = {
            "id": grant.id,
            "grantor": grant.grantor,
            "agent_id": grant.agent_id,
            "canonical": canonical.decode("utf-8"),
            "digest": grant.digest(),
            "signature": signature,
            "authenticated_by": "signature" if signature else "api_key",
            "not_before": grant.not_before,
            "expires_at": grant.expires_at,
            "created_at": now,
            "created_by": who.actor,
        }
        if self.store.get_grant(grant.id) is not None:
            raise Conflict(f"grant id {grant.id!r} is taken: choose another, or leave it to the server")
        # On the record before it is live: no authority exists that the record does not show.
        payload = {"grant_id": grant.id, "agent_id": grant.agent_id, "digest": row["digest"]}
        self.recorder.record("authority.grant.created", user, who.actor, payload)
        self.store.insert_grant(row)
        return self._view(row, {}, now)

    def get(self, who: Principal, grant_id: str) -> dict[str, Any]:
        row = self.store.get_grant(grant_id)
        if row is None or not _may_read(who, row["grantor"]):
            raise NotFound(f"no grant {grant_id!r}")
        now = self.clock.now()
        return self._view(row, self.store.usage([grant_id], now.date().isoformat()), now)

    def list_grants(
        self,
        who: Principal,
        *,
        user: str | None = None,
        agent_id: str | None = None,
        live: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """What the user's agents may do: their grants, newest first, with today's usage."""
        if who.role is Role.USER:
            if user not in (None, who.subject):
                raise Forbidden("a user reads only their own grants")
            user = who.subject
        else:
            require_role(who, *READERS)
        now = self.clock.now()
        rows = self.store.list_grants(
            grantor=user, agent_id=agent_id, live_at=now if live else None, limit=min(limit, self._max_page)
        )
        usage = self.store.usage([r["id"] for r in rows], now.date().isoformat())
        return [self._view(r, usage, now) for r in rows]

    def revoke(self, who: Principal, grant_id: str, reason: str = "") -> dict[str, Any]:
        """Revoke at once: the next decision no longer sees the grant. The user, or an admin (an
        emergency stop, recorded as such); never anyone else."""
        row = self.store.get_grant(grant_id)
        if row is None or not _may_read(who, row["grantor"]):
            raise NotFound(f"no grant {grant_id!r}")
        if who.role is not Role.ADMIN and not (who.role is Role.USER and who.subject == row["grantor"]):
            raise Forbidden("only the grantor (or an admin) revokes a grant")
        if len(reason) > 1000:
            raise InvalidInput("a reason is at most 1000 characters", field="reason")
        now = self.clock.now()
        if not self.store.revoke_grant(grant_id, now, who.actor, reason):
            raise Conflict(f"grant {grant_id!r} is already revoked")
        payload = {"grant_id": grant_id, "digest": row["digest"], "reason": reason}
        self.recorder.record("authority.grant.revoked", row["grantor"], who.actor, payload)
        return self.get(who, grant_id)

    @staticmethod
    def _view(row: Mapping[Any, Any], usage: Mapping[str, tuple[int, int]], now: datetime) -> dict[str, Any]:
        count, micros = usage.get(row["id"], (0, 0))
        status = "live"
        if row.get("revoked_at") is not None:
            status = "revoked"
        elif row["expires_at"] <= now:
            status = "expired"
        elif row["not_before"] > now:
            status = "not_yet_valid"
        revoked = row.get("revoked_at")
        return {
            "id": row["id"],
            "status": status,
            "grant": Grant.model_validate_json(row["canonical"]).to_json(),
            "digest": row["digest"],
            "signature": row["signature"],
            "authenticated_by": row["authenticated_by"],
            "created_at": isoformat_z(row["created_at"]),
            "created_by": row["created_by"],
            "revoked_at": isoformat_z(revoked) if revoked else None,
            "revoked_by": row.get("revoked_by"),
            "usage_today": {"count": count, "amount": str(Decimal(micros) / AMOUNT_SCALE)},
        }


def _may_read(who: Principal, grantor: str) -> bool:
    return who.role in READERS or (who.role is Role.USER and who.subject == grantor)
