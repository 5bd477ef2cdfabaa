"""One bundle of the authority services (decisions, grants, policies, approvals, feed) over one store,
clock and recorder: what the server and the CLI build, each once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from agentgov.approvals.feed import FeedService
from agentgov.approvals.notify import ApprovalSignals, Notifier, NullNotifier, WebhookNotifier
from agentgov.approvals.service import ApprovalService
from agentgov.approvals.settings import ApprovalSettings
from agentgov.approvals.store import ApprovalStore
from agentgov.core.clock import Clock
from agentgov.policy.model import ToolKind
from agentgov.policy.service import AuthorityService, AuthoritySettings
from agentgov.policy.store import AuthorityStore, Recorder

__all__ = ["AuthorityServices", "open_authority"]


@dataclass(frozen=True)
class AuthorityServices:
    authority: AuthorityService
    approvals: ApprovalService
    feed: FeedService
    recorder: Recorder


def open_authority(
    engine: Engine,
    clock: Clock,
    recorder: Recorder,
    *,
    authority_settings: AuthoritySettings | None = None,
    approval_settings: ApprovalSettings | None = None,
    notifier: Notifier | None = None,
    tool_classes: Mapping[str, ToolKind] | None = None,
    input_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> AuthorityServices:
    """Build the services. Without ``notifier``, the webhooks of ``approval_settings`` are notified."""
    settings = approval_settings or ApprovalSettings()
    authority = AuthorityService(
        AuthorityStore(engine),
        clock,
        recorder,
        settings=authority_settings,
        tool_classes=tool_classes,
        input_schemas=input_schemas,
    )
    if notifier is None and not settings.webhook_urls:
        notifier = NullNotifier()
    elif notifier is None:
        notifier = WebhookNotifier(
            settings.webhook_urls,
            timeout_s=settings.webhook_timeout_s,
            max_pending=settings.webhook_max_pending,
        )
    store = ApprovalStore(engine)
    approvals = ApprovalService(
        store, recorder, authority, settings=settings, notifier=notifier, signals=ApprovalSignals()
    )
    feed = FeedService(store, clock, recorder, max_page_size=settings.max_page_size)
    return AuthorityServices(authority=authority, approvals=approvals, feed=feed, recorder=recorder)
