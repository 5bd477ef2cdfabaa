"""The SQL adapter of approvals, delegates, disputes and the user's feed (read from decisions).

Database exceptions are translated here (STYLE 3). Deciding and using an approval are single
conditional updates, so two racing callers cannot both approve, or both run, the same approval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, delete, insert, or_, select, update

from agentgov.approvals.tables import approval_delegates, approvals, disputes
from agentgov.db.store import SqlStore
from agentgov.policy.tables import decisions

__all__ = ["ApprovalStore", "FeedCursor"]

FeedCursor = tuple[datetime, str]  # (time, id) of the last item seen; the next page is older
_FEED_EFFECTS = ("allow", "redact")


class ApprovalStore(SqlStore):
    store_name = "approval"

    # approvals -------------------------------------------------------------------------------------

    def insert(self, row: Mapping[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(insert(approvals).values(**row))

    def get(self, approval_id: str) -> RowMapping | None:
        with self.reading() as conn:
            return conn.execute(select(approvals).where(approvals.c.id == approval_id)).mappings().first()

    def list_approvals(
        self, *, user_id: str | None, delegate_for: Sequence[str], status: str | None, limit: int
    ) -> list[RowMapping]:
        """Newest first. With ``user_id``: that user's approvals, and the non-user-only approvals of
        the users in ``delegate_for``. Without: all."""
        query = select(approvals).order_by(approvals.c.seq.desc()).limit(limit)
        if user_id is not None:
            query = query.where(
                or_(
                    approvals.c.user_id == user_id,
                    and_(approvals.c.user_id.in_(delegate_for), approvals.c.user_only.is_(False)),
                )
            )
        if status is not None:
            query = query.where(approvals.c.status == status)
        with self.reading() as conn:
            return list(conn.execute(query).mappings())

    def decide(self, approval_id: str, status: str, at: datetime, by: str, note: str | None) -> bool:
        """Pending and unexpired to ``status``; False when it was not (someone decided, or it expired)."""
        with self.transaction() as conn:
            done = conn.execute(
                update(approvals)
                .where(
                    approvals.c.id == approval_id,
                    approvals.c.status == "pending",
                    approvals.c.expires_at > at,
                )
                .values(status=status, decided_at=at, decided_by=by, note=note)
            ).rowcount
        return bool(done)

    def use(self, approval_id: str, digest: str, at: datetime) -> bool:
        """Approved, unexpired and bound to ``digest`` to used: at most once, whoever races."""
        with self.transaction() as conn:
            done = conn.execute(
                update(approvals)
                .where(
                    approvals.c.id == approval_id,
                    approvals.c.status == "approved",
                    approvals.c.arguments_digest == digest,
                    approvals.c.expires_at > at,
                )
                .values(status="used", used_at=at)
            ).rowcount
        return bool(done)

    # delegates -------------------------------------------------------------------------------------

    def delegates(self, user_id: str) -> list[str]:
        query = select(approval_delegates.c.delegate_id).where(approval_delegates.c.user_id == user_id)
        with self.reading() as conn:
            return sorted(conn.execute(query).scalars())

    def delegators(self, delegate_id: str) -> list[str]:
        """The users who named ``delegate_id`` as their delegate."""
        query = select(approval_delegates.c.user_id).where(approval_delegates.c.delegate_id == delegate_id)
        with self.reading() as conn:
            return sorted(conn.execute(query).scalars())

    def set_delegates(self, user_id: str, delegate_ids: Sequence[str], at: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(delete(approval_delegates).where(approval_delegates.c.user_id == user_id))
            if delegate_ids:
                rows = [{"user_id": user_id, "delegate_id": d, "created_at": at} for d in delegate_ids]
                conn.execute(insert(approval_delegates), rows)

    # the feed and disputes -------------------------------------------------------------------------

    def feed_decisions(self, user_id: str, before: FeedCursor | None, limit: int) -> list[RowMapping]:
        """Decisions that let an action run on the user's behalf, and every autonomous decision."""
        c = decisions.c
        query = (
            select(decisions)
            .where(
                c.user_id == user_id,
                or_(c.applied_effect.in_(_FEED_EFFECTS), c.decision_class == "autonomous"),
            )
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit)
        )
        if before is not None:
            at, last = before
            query = query.where(or_(c.created_at < at, and_(c.created_at == at, c.id < last)))
        with self.reading() as conn:
            return list(conn.execute(query).mappings())

    def feed_approvals(self, user_id: str, before: FeedCursor | None, limit: int) -> list[RowMapping]:
        """Approved actions that ran."""
        c = approvals.c
        query = (
            select(approvals)
            .where(c.user_id == user_id, c.status == "used")
            .order_by(c.used_at.desc(), c.id.desc())
            .limit(limit)
        )
        if before is not None:
            at, last = before
            query = query.where(or_(c.used_at < at, and_(c.used_at == at, c.id < last)))
        with self.reading() as conn:
            return list(conn.execute(query).mappings())

    def owner_of(self, item_id: str) -> str | None:
        """The user a decision or an approval was for."""
        with self.reading() as conn:
            for table in (decisions, approvals):
                found = conn.execute(
                    select(table.c.user_id).where(table.c.id == item_id)
                ).scalar_one_or_none()
                if found is not None:
                    return str(found)
        return None

    def insert_dispute(self, row: Mapping[str, Any]) -> None:
        with self.transaction() as conn:
            conn.execute(insert(disputes).values(**row))

    def disputed(self, user_id: str, item_ids: Sequence[str]) -> set[str]:
        if not item_ids:
            return set()
        query = select(disputes.c.item_id).where(
            disputes.c.user_id == user_id, disputes.c.item_id.in_(item_ids)
        )
        with self.reading() as conn:
            return set(conn.execute(query).scalars())

    def list_disputes(self, user_id: str | None, limit: int) -> list[RowMapping]:
        query = select(disputes).order_by(disputes.c.seq.desc()).limit(limit)
        if user_id is not None:
            query = query.where(disputes.c.user_id == user_id)
        with self.reading() as conn:
            return list(conn.execute(query).mappings())
