"""Registry status at runtime (Art. 11: suspend and recall take effect where agents run).

Every guarded call first asks whether its agent is known and may act. Statuses are cached per agent
for ``ttl_s`` and the cache is kept fresh by a watcher: on PostgreSQL a ``LISTEN`` on the channel the
registry ``NOTIFY``s in the same transaction as each lifecycle move; on SQLite (one machine, one file)
a poll of the lifecycle table's high-water mark every ``poll_s``. A change reaches every running guard
within about a second. Past ``ttl_s`` an entry is read again from the registry; if the registry cannot
be read, the agent is refused: fail closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from agentgov.db.tables import agents, lifecycle_events
from agentgov.errors import AgentGovError, Forbidden, NotFound, Unavailable
from agentgov.registry.lifecycle import AgentStatus
from agentgov.registry.store import STATUS_CHANNEL

__all__ = ["ACTIVE_STATUSES", "AgentGone", "StatusCache", "StatusSettings", "StatusWatcher"]

_log = logging.getLogger(__name__)

# Registered agents act; a deprecated one still serves its users while they move on.
ACTIVE_STATUSES = frozenset({AgentStatus.REGISTERED, AgentStatus.DEPRECATED})


class AgentGone(Forbidden):
    code = "agent_not_active"


@dataclass(frozen=True)
class StatusSettings:
    # How long a cached status is believed without a fresh read; the watcher normally refreshes it
    # much sooner. Past it, an unreachable registry refuses the agent.
    ttl_s: float = 30.0
    # How often the SQLite watcher looks for new lifecycle moves (the 2-second recall target / 4).
    poll_s: float = 0.5
    # Agents remembered at once; the least recently used leaves first.
    max_agents: int = 10_000


class StatusCache:
    """Agent id -> (status, read at). Reads through to the registry; fails closed."""

    def __init__(
        self,
        engine: Engine,
        settings: StatusSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.settings = settings or StatusSettings()
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[AgentStatus, float]] = OrderedDict()

    def _read(self, agent_id: str) -> AgentStatus:
        try:
            with self.engine.connect() as conn:
                status = conn.execute(select(agents.c.status).where(agents.c.id == agent_id)).scalar()
        except SQLAlchemyError as exc:
            raise Unavailable(
                f"the registry cannot be read ({exc.__class__.__name__}): failing closed"
            ) from exc
        if status is None:
            raise NotFound(f"agent {agent_id!r} is not in the registry")
        return AgentStatus(status)

    def status(self, agent_id: str) -> AgentStatus:
        now = self._clock()
        with self._lock:
            cached = self._entries.get(agent_id)
            if cached is not None and now - cached[1] < self.settings.ttl_s:
                self._entries.move_to_end(agent_id)
                return cached[0]
        status = self._read(agent_id)
        self.put(agent_id, status)
        return status

    def require_active(self, agent_id: str) -> AgentStatus:
        """The agent's status if it may act; AgentGone (or Unavailable, NotFound) otherwise."""
        status = self.status(agent_id)
        if status not in ACTIVE_STATUSES:
            raise AgentGone(f"agent {agent_id} is {status.value} in the registry: it may not act")
        return status

    def put(self, agent_id: str, status: AgentStatus) -> None:
        with self._lock:
            self._entries[agent_id] = (status, self._clock())
            self._entries.move_to_end(agent_id)
            while len(self._entries) > self.settings.max_agents:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def forget(self, agent_id: str) -> None:
        with self._lock:
            self._entries.pop(agent_id, None)

    def refresh(self, agent_id: str) -> None:
        """A change was announced: re-read now, or drop the entry so the next call reads it."""
        try:
            self.put(agent_id, self._read(agent_id))
        except AgentGovError:
            self.forget(agent_id)


class StatusWatcher:
    """Keeps a :class:`StatusCache` fresh from the registry's announcements of lifecycle moves."""

    def __init__(self, cache: StatusCache) -> None:
        self.cache = cache
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="registry-status-watch", daemon=True)
        self._ready = threading.Event()

    def start(self, wait_s: float = 5.0) -> StatusWatcher:
        self._thread.start()
        self._ready.wait(wait_s)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            # Announcements may have been missed while (re)connecting: nothing cached survives that.
            self.cache.clear()
            try:
                if self.cache.engine.dialect.name == "postgresql":
                    self._listen()
                else:
                    self._poll()
            except (SQLAlchemyError, OSError, AgentGovError) as exc:
                _log.warning("registry status watch interrupted: %s; statuses expire after their ttl", exc)
                self._stop.wait(self.cache.settings.poll_s)

    def _poll(self) -> None:
        seen = self._high_water()
        self._ready.set()
        while not self._stop.wait(self.cache.settings.poll_s):
            with self.cache.engine.connect() as conn:
                rows = conn.execute(
                    select(lifecycle_events.c.id, agents.c.id, agents.c.status)
                    .join(agents, agents.c.seq == lifecycle_events.c.agent_seq)
                    .where(lifecycle_events.c.id > seen)
                    .order_by(lifecycle_events.c.id)
                ).all()
            for event_id, agent_id, status in rows:
                self.cache.put(agent_id, AgentStatus(status))
                seen = max(seen, int(event_id))

    def _high_water(self) -> int:
        with self.cache.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(lifecycle_events.c.id), 0))).scalar_one())

    def _listen(self) -> None:
        with self.cache.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text(f"LISTEN {STATUS_CHANNEL}"))
            raw = conn.connection.driver_connection
            self._ready.set()
            while not self._stop.is_set():
                for note in raw.notifies(timeout=self.cache.settings.poll_s, stop_after=64):  # type: ignore[union-attr]
                    self.cache.refresh(note.payload)
