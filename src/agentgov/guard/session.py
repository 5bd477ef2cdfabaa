"""A guard session: one agent acting for one user on one task, and what it has seen so far."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from agentgov.core.ids import new_id
from agentgov.errors import NotFound
from agentgov.guard.provenance import ProvenanceSettings, SourceLog
from agentgov.policy.model import Venue

__all__ = ["GuardSession", "SessionTable"]


@dataclass
class GuardSession:
    agent_id: str
    user_id: str
    task: str
    venue: Venue
    opened_at: datetime
    provenance: ProvenanceSettings = field(default_factory=ProvenanceSettings)
    id: str = field(default_factory=lambda: new_id("ses"))
    sources: SourceLog = field(init=False)
    # Approvals asked in this session, by (server, tool, arguments digest): a retry of the same call
    # finds the user's answer without the client carrying the approval id.
    approvals: dict[tuple[str, str, str], str] = field(default_factory=dict)
    injections_seen: int = 0

    def __post_init__(self) -> None:
        self.sources = SourceLog(self.task, self.provenance)
        self.lock = threading.Lock()

    @property
    def tainted(self) -> bool:
        """Whether a tool result carried an injected instruction (Art. 10: a warning to show)."""
        return self.injections_seen > 0


class SessionTable:
    """Open sessions of one guard, bounded: the least recently used is dropped past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, GuardSession] = OrderedDict()

    def add(self, session: GuardSession) -> GuardSession:
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > self.limit:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str) -> GuardSession:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise NotFound(f"no open guard session {session_id!r}")
            self._sessions.move_to_end(session_id)
            return session

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
