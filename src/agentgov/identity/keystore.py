"""Persistence of API keys (hashes only) and authentication of presented keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from agentgov.core.clock import Clock
from agentgov.db.tables import api_keys, organisations
from agentgov.errors import Conflict, InvalidInput, NotFound, Unauthenticated, Unavailable
from agentgov.identity.apikeys import Principal, Role, new_key, parse_key, secret_matches

__all__ = ["IssuedKey", "KeyStore"]


class IssuedKey:
    """A key just created: the only moment its full text exists outside the caller."""

    def __init__(self, key: str, principal: Principal, label: str, created_at: datetime) -> None:
        self.key = key
        self.principal = principal
        self.label = label
        self.created_at = created_at

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "id": self.principal.key_id,
            "role": self.principal.role.value,
            "org": self.principal.org_id,
            "subject": self.principal.subject,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
        }


class KeyStore:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def create(
        self, role: str, *, org: str | None = None, subject: str | None = None, label: str = ""
    ) -> IssuedKey:
        try:
            parsed_role = Role(role)
        except ValueError as exc:
            known = ", ".join(r.value for r in Role)
            raise InvalidInput(f"unknown role {role!r} (known: {known})", field="role") from exc
        if len(label) > 200:
            raise InvalidInput("label is at most 200 characters", field="label")
        text, key_id, secret_hash = new_key()
        now = self.clock.now()
        try:
            with self.engine.begin() as conn:
                org_id = None
                if org is not None:
                    org_id = conn.execute(
                        select(organisations.c.id).where(
                            (organisations.c.id == org) | (organisations.c.domain == org)
                        )
                    ).scalar_one_or_none()
                    if org_id is None:
                        raise NotFound(f"no organisation {org!r}")
                principal = Principal(key_id=key_id, role=parsed_role, org_id=org_id, subject=subject)
                conn.execute(
                    insert(api_keys).values(
                        id=key_id,
                        secret_hash=secret_hash,
                        role=parsed_role.value,
                        org_id=org_id,
                        subject=subject,
                        label=label,
                        created_at=now,
                    )
                )
        except IntegrityError as exc:
            raise Conflict("key id collision; try again") from exc
        except SQLAlchemyError as exc:
            raise Unavailable(f"key store failed: {exc.__class__.__name__}") from exc
        return IssuedKey(text, principal, label, now)

    def authenticate(self, presented: str) -> Principal:
        key_id, secret = parse_key(presented)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
        except SQLAlchemyError as exc:
            raise Unavailable(f"key store failed: {exc.__class__.__name__}") from exc
        if row is None or not secret_matches(secret, row["secret_hash"]) or row["revoked_at"] is not None:
            raise Unauthenticated("unknown or revoked API key")
        return Principal(
            key_id=row["id"], role=Role(row["role"]), org_id=row["org_id"], subject=row["subject"]
        )

    def revoke(self, key_id: str) -> None:
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    update(api_keys)
                    .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=self.clock.now())
                ).rowcount
        except SQLAlchemyError as exc:
            raise Unavailable(f"key store failed: {exc.__class__.__name__}") from exc
        if not done:
            raise NotFound(f"no live key {key_id!r}")

    def list(self) -> list[dict[str, Any]]:
        """Key metadata, never secrets or hashes."""
        columns = [c for c in api_keys.c if c.name != "secret_hash"]
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select(*columns).order_by(api_keys.c.created_at)).mappings()
                return [
                    {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows
                ]
        except SQLAlchemyError as exc:
            raise Unavailable(f"key store failed: {exc.__class__.__name__}") from exc

    def count_admins(self) -> int:
        try:
            with self.engine.connect() as conn:
                return int(
                    conn.execute(
                        select(func.count())
                        .select_from(api_keys)
                        .where(api_keys.c.role == Role.ADMIN.value, api_keys.c.revoked_at.is_(None))
                    ).scalar_one()
                )
        except SQLAlchemyError as exc:
            raise Unavailable(f"key store failed: {exc.__class__.__name__}") from exc
