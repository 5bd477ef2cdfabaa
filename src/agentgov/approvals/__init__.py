"""Approvals (Art. 6): requests bound to the exact arguments, decided by the user (or a delegate the
user named, never for a user-only action), run at most once; and the user's right to know (the feed
of what was done on their behalf, and disputes)."""

from agentgov.approvals.errors import (
    ApprovalAlreadyDecided,
    ApprovalArgumentsMismatch,
    ApprovalBindingMismatch,
    ApprovalExpired,
    ApprovalPending,
    ApprovalRefused,
    ApprovalUsed,
    DelegateMayNotDecide,
)
from agentgov.approvals.feed import FeedService
from agentgov.approvals.model import (
    Approval,
    ApprovalInput,
    ApprovalState,
    ApprovalStatus,
    arguments_digest,
    check_consume,
    check_decider,
)
from agentgov.approvals.notify import ApprovalSignals, MemoryNotifier, Notifier, NullNotifier, WebhookNotifier
from agentgov.approvals.service import ApprovalService
from agentgov.approvals.settings import ApprovalSettings
from agentgov.approvals.store import ApprovalStore

__all__ = [
    "Approval",
    "ApprovalAlreadyDecided",
    "ApprovalArgumentsMismatch",
    "ApprovalBindingMismatch",
    "ApprovalExpired",
    "ApprovalInput",
    "ApprovalPending",
    "ApprovalRefused",
    "ApprovalService",
    "ApprovalSettings",
    "ApprovalSignals",
    "ApprovalState",
    "ApprovalStatus",
    "ApprovalStore",
    "ApprovalUsed",
    "DelegateMayNotDecide",
    "FeedService",
    "MemoryNotifier",
    "Notifier",
    "NullNotifier",
    "WebhookNotifier",
    "arguments_digest",
    "check_consume",
    "check_decider",
]
