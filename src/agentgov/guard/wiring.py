"""Build a guard over one store: the authority, approvals, registry status and detectors it combines."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from agentgov.approvals.settings import ApprovalSettings
from agentgov.approvals.wiring import AuthorityServices, open_authority
from agentgov.core.clock import Clock
from agentgov.detect.registry import DetectorSet
from agentgov.guard.pipeline import Guard, GuardSettings
from agentgov.guard.status import StatusCache, StatusSettings, StatusWatcher
from agentgov.policy.store import Recorder

__all__ = ["GuardRuntime", "open_guard"]


@dataclass
class GuardRuntime:
    guard: Guard
    services: AuthorityServices
    watcher: StatusWatcher | None

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.services.approvals.notifier.close()
        self.services.authority.store.close()


def open_guard(
    engine: Engine,
    clock: Clock,
    recorder: Recorder,
    *,
    settings: GuardSettings | None = None,
    status_settings: StatusSettings | None = None,
    approval_settings: ApprovalSettings | None = None,
    detectors: DetectorSet | None = None,
    watch: bool = True,
) -> GuardRuntime:
    """A guard whose agent statuses follow lifecycle moves (``watch``); its events go to ``recorder``."""
    services = open_authority(engine, clock, recorder, approval_settings=approval_settings)
    status = StatusCache(engine, status_settings)
    watcher = StatusWatcher(status).start() if watch else None
    guard = Guard(
        authority=services.authority,
        approvals=services.approvals,
        recorder=recorder,
        status=status,
        clock=clock,
        detectors=detectors,
        settings=settings,
    )
    return GuardRuntime(guard, services, watcher)
