"""The right to know (Art. 6): each user's feed of what was done on their behalf, and disputes.

The feed lists every decision that let an action run for the user (allowed or redacted, enforced or
in shadow mode), every autonomous decision, and every approved action that ran, newest first. A
user may dispute any decision or approval made for them: the dispute is stored and recorded for
review by a regulator or an admin, who list them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agentgov.approvals.store import ApprovalStore, FeedCursor
from agentgov.core.clock import Clock, isoformat_z
from agentgov.core.digest import digest_json
from agentgov.core.ids import new_id
from agentgov.errors import Conflict, Forbidden, InvalidInput, NotFound
from agentgov.identity.apikeys import Principal, Role
from agentgov.policy.store import Recorder
from agentgov.policy.versions import READERS, require_role

__all__ = ["FeedService", "parse_cursor"]

_MAX_REASON = 2000


def _user(who: Principal) -> str:
    if who.role is not Role.USER or not who.subject:
        raise Forbidden("the feed is the user's own: read it with your user key")
    return who.subject


def parse_cursor(text: str | None) -> FeedCursor | None:
    """``<RFC 3339 time>~<item id>``, as returned in ``next``."""
    if not text:
        return None
    at, sep, item = text.partition("~")
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if not sep or not item or when is None or when.tzinfo is None:
        raise InvalidInput("before: not a cursor from this feed", field="before")
    return when, item


def _decision_item(row: Mapping[Any, Any]) -> dict[str, Any]:
    request, decision = row["request"], row["decision"]
    return {
        "id": row["id"],
        "kind": "decision",
        "time": isoformat_z(row["created_at"]),
        "agent_id": row["agent_id"],
        "action": request["action"],
        "arguments": request.get("arguments", {}),
        "venue": request["context"]["venue"],
        "effect": decision["effect"],
        "applied_effect": decision["applied_effect"],
        "enforced": decision.get("enforced", True),
        "decision_class": decision.get("decision_class"),
        "reasons": decision["reasons"],
        "grants": decision.get("grants", []),
        "policy_digest": decision["policy_digest"],
        "ran": row["ran_at"] is not None,
        "record_index": row["record_index"],
    }


def _approval_item(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": "approved_action",
        "time": isoformat_z(row["used_at"]),
        "agent_id": row["agent_id"],
        "action": {"tool": row["tool"], "server": row["server"]},
        "arguments": row["arguments"],
        "decision_class": "user_only" if row["user_only"] else "user_authorized",
        "approved_by": row["decided_by"],
        "ran": True,
    }


class FeedService:
    def __init__(self, store: ApprovalStore, clock: Clock, recorder: Recorder, *, max_page_size: int = 100):
        self.store = store
        self.clock = clock
        self.recorder = recorder
        self._max_page = max_page_size

    def feed(self, who: Principal, *, limit: int = 50, before: str | None = None) -> dict[str, Any]:
        user = _user(who)
        limit = max(1, min(limit, self._max_page))
        cursor = parse_cursor(before)
        rows = [
            (r["created_at"], r["id"], _decision_item(r))
            for r in self.store.feed_decisions(user, cursor, limit)
        ]
        rows += [
            (r["used_at"], r["id"], _approval_item(r)) for r in self.store.feed_approvals(user, cursor, limit)
        ]
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        page = rows[:limit]
        disputed = self.store.disputed(user, [item_id for _, item_id, _ in page])
        for _, item_id, item in page:
            item["disputed"] = item_id in disputed
        last = f"{isoformat_z(page[-1][0])}~{page[-1][1]}" if len(page) == limit else None
        return {"items": [item for _, _, item in page], "next": last}

    def dispute(self, who: Principal, item_id: str, reason: str) -> dict[str, Any]:
        """Mark an item of the user's feed as disputed: stored and recorded for later review."""
        user = _user(who)
        reason = reason.strip()
        if not reason or len(reason) > _MAX_REASON:
            raise InvalidInput(f"say why, in 1 to {_MAX_REASON} characters", field="reason")
        if self.store.owner_of(item_id) != user:
            raise NotFound(f"no item {item_id!r} in your feed")
        if self.store.disputed(user, [item_id]):
            raise Conflict(f"{item_id} is already disputed")
        dispute_id = new_id("dsp")
        payload = {"dispute_id": dispute_id, "item_id": item_id, "reason_digest": digest_json(reason)}
        row = {
            "id": dispute_id,
            "user_id": user,
            "item_id": item_id,
            "reason": reason,
            "status": "open",
            "created_at": self.clock.now(),
            "record_index": self.recorder.record("authority.dispute", user, who.actor, payload),
        }
        self.store.insert_dispute(row)
        return _dispute_json(row)

    def disputes(self, who: Principal, *, user: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """A user's own disputes; every dispute (or one user's) for regulators and admins."""
        if who.role is Role.USER:
            if user not in (None, who.subject):
                raise Forbidden("a user reads only their own disputes")
            user = who.subject
        else:
            require_role(who, *READERS)
        rows = self.store.list_disputes(user, max(1, min(limit, self._max_page)))
        return [_dispute_json(r) for r in rows]


def _dispute_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "item_id": row["item_id"],
        "reason": row["reason"],
        "status": row["status"],
        "created_at": isoformat_z(row["created_at"]),
        "record_index": row.get("record_index"),
    }
