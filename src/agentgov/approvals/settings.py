"""Limits of approvals, each with its reason (STYLE 6)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta

from agentgov.errors import InvalidInput

__all__ = ["ApprovalSettings"]


@dataclass(frozen=True)
class ApprovalSettings:
    # An approval nobody decides lapses: the agent asks again rather than acting on a stale yes.
    default_ttl: timedelta = timedelta(minutes=15)
    # Nor may a caller ask for one that stays valid for days.
    max_ttl: timedelta = timedelta(hours=24)
    # A long-poll holds its request at most this long; the client asks again. Nothing blocks a worker
    # thread meanwhile: the wait is asynchronous.
    max_wait_s: float = 60.0
    # How often a waiter re-reads the store: a decision taken on another replica shows within this.
    poll_interval_s: float = 1.0
    # An event stream lasts at most this long (then the client reconnects), and sends a comment line
    # this often so that proxies do not close it as idle.
    stream_max_s: float = 300.0
    keepalive_s: float = 15.0
    # Webhooks told of each new approval (set by the operator, never by a user); each POST has this
    # timeout, and at most this many notices wait to be sent before new ones are dropped (and logged).
    webhook_urls: tuple[str, ...] = ()
    webhook_timeout_s: float = 5.0
    webhook_max_pending: int = 100
    # Delegates a user may name: a few trusted people, not a group.
    max_delegates: int = 20
    max_page_size: int = 100

    @classmethod
    def from_env(cls) -> ApprovalSettings:
        """AGENTGOV_APPROVAL_WEBHOOKS (URLs separated by spaces or commas), AGENTGOV_APPROVAL_TTL_S."""
        env = os.environ
        urls = tuple(u for u in re.split(r"[\s,]+", env.get("AGENTGOV_APPROVAL_WEBHOOKS", "")) if u)
        for url in urls:
            if not url.startswith(("https://", "http://")):
                raise InvalidInput(f"AGENTGOV_APPROVAL_WEBHOOKS: not an http(s) URL: {url!r}")
        try:
            ttl = timedelta(
                seconds=float(env.get("AGENTGOV_APPROVAL_TTL_S", cls.default_ttl.total_seconds()))
            )
        except ValueError as exc:
            raise InvalidInput("AGENTGOV_APPROVAL_TTL_S must be a number of seconds") from exc
        return cls(default_ttl=ttl, webhook_urls=urls)
