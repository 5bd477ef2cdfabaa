"""The runtime guard (Art. 6, 7, 8, 10): every tool call of an agent checked before and after it runs."""

from agentgov.guard.pipeline import CallCheck, Guard, GuardSettings, ResultCheck
from agentgov.guard.provenance import HOSTILE_LABEL, ProvenanceSettings, SourceLog
from agentgov.guard.session import GuardSession
from agentgov.guard.status import ACTIVE_STATUSES, AgentGone, StatusCache, StatusSettings, StatusWatcher
from agentgov.guard.wiring import GuardRuntime, open_guard
from agentgov.guard.wrap import ToolRefused, guarded

__all__ = [
    "ACTIVE_STATUSES",
    "HOSTILE_LABEL",
    "AgentGone",
    "CallCheck",
    "Guard",
    "GuardRuntime",
    "GuardSession",
    "GuardSettings",
    "ProvenanceSettings",
    "ResultCheck",
    "SourceLog",
    "StatusCache",
    "StatusSettings",
    "StatusWatcher",
    "ToolRefused",
    "guarded",
    "open_guard",
]
