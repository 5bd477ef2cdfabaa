"""The errors of approvals, each a branch of the one tree in :mod:`agentgov.errors`.

::

    Forbidden
    ├── ApprovalArgumentsMismatch  approval_arguments_mismatch  the call's arguments are not the approved ones
    ├── ApprovalBindingMismatch    approval_binding_mismatch    another agent, user or tool than approved
    ├── ApprovalRefused            approval_refused             the user (or a delegate) said no
    └── DelegateMayNotDecide       approval_user_only           a delegate deciding a user-only action
    Conflict
    ├── ApprovalPending            approval_pending             nobody has decided yet
    ├── ApprovalUsed               approval_used                the approved action already ran once
    └── ApprovalAlreadyDecided     approval_decided             approving or refusing twice
    Gone
    └── ApprovalExpired            approval_expired             past its expiry: ask again
"""

from __future__ import annotations

from agentgov.errors import Conflict, Forbidden, Gone

__all__ = [
    "ApprovalAlreadyDecided",
    "ApprovalArgumentsMismatch",
    "ApprovalBindingMismatch",
    "ApprovalExpired",
    "ApprovalPending",
    "ApprovalRefused",
    "ApprovalUsed",
    "DelegateMayNotDecide",
]


class ApprovalArgumentsMismatch(Forbidden):
    code = "approval_arguments_mismatch"
    title = "Arguments differ from the approved ones"


class ApprovalBindingMismatch(Forbidden):
    code = "approval_binding_mismatch"
    title = "Approval is for another agent, user or tool"


class ApprovalRefused(Forbidden):
    code = "approval_refused"
    title = "Approval refused"


class DelegateMayNotDecide(Forbidden):
    code = "approval_user_only"
    title = "Only the user decides this action"


class ApprovalPending(Conflict):
    code = "approval_pending"
    title = "Approval pending"


class ApprovalUsed(Conflict):
    code = "approval_used"
    title = "Approval already used"


class ApprovalAlreadyDecided(Conflict):
    code = "approval_decided"
    title = "Approval already decided"


class ApprovalExpired(Gone):
    code = "approval_expired"
    title = "Approval expired"
