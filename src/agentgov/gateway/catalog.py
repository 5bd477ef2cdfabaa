"""The tools of one upstream as one gateway session sees them: listed, checked against their pins, and
every difference put on the record once.

The catalogue is kept between calls and fetched again when the client lists tools, when the upstream
says its list changed, and before a call to a tool that is not offered (it may have been approved since).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from mcp.types import Tool

from agentgov.core.clock import Clock
from agentgov.gateway.pin_store import PinStore
from agentgov.gateway.pins import PinReport, ToolChange, review
from agentgov.gateway.port import Gate
from agentgov.gateway.settings import GatewaySettings

__all__ = ["TOOL_CHANGE", "GuardDown", "ToolCatalog", "ToolView"]

logger = logging.getLogger(__name__)

TOOL_CHANGE = "gateway.tool_change"  # the kind of every pin event the gateway puts on the record


class GuardDown(Exception):
    """The guard (or the record behind it) did not answer: the gateway fails closed."""


@dataclass(frozen=True, slots=True)
class ToolView:
    report: PinReport
    offered: frozenset[str]

    @classmethod
    def of(cls, report: PinReport) -> ToolView:
        return cls(report, frozenset(t.name for t in report.allowed))

    def refusal(self, server: str, tool: str) -> str:
        return self.report.refused.get(tool) or f"server {server!r} offers no tool {tool!r}"


class ToolCatalog:
    def __init__(
        self, server: str, store: PinStore, gate: Gate, settings: GatewaySettings, clock: Clock
    ) -> None:
        self.server = server
        self._store = store
        self._gate = gate
        self._settings = settings
        self._clock = clock
        self._view: ToolView | None = None
        self._lock = anyio.Lock()

    def invalidate(self) -> None:
        self._view = None

    async def current(self, fetch: Callable[[], Awaitable[list[Tool]]]) -> ToolView:
        view = self._view
        return view if view is not None else await self.refresh(fetch)

    async def refresh(self, fetch: Callable[[], Awaitable[list[Tool]]]) -> ToolView:
        """List the upstream's tools again and review them against the pins (store errors propagate)."""
        async with self._lock:
            tools = await fetch()
            report = await self._review(tools)
            if report.first_use:
                await self._record(
                    {
                        "server": self.server,
                        "change": "first_use",
                        "tools": {name: report.digests[name] for name in report.first_use},
                    }
                )
                pinned = await anyio.to_thread.run_sync(
                    self._store.pin_first_use, self.server, report.first_use, self._clock.now()
                )
                if not pinned:  # another session pinned this upstream first: review against its pins
                    report = await self._review(tools)
            for change in report.changes:
                await self._note(change)
            view = ToolView.of(report)
            self._view = view
            return view

    async def _review(self, tools: list[Tool]) -> PinReport:
        pins = await anyio.to_thread.run_sync(self._store.pins, self.server)
        return review(self.server, pins, tools, pin_on_first_use=self._settings.pin_on_first_use)

    async def _note(self, change: ToolChange) -> None:
        # Recorded first, noted after: a record that fails leaves the change un-noted, so the next
        # review records it again (a change may be recorded twice, never missed). The tool stays
        # refused either way.
        try:
            await self._record(change.payload(self.server))
        except GuardDown:
            return
        await anyio.to_thread.run_sync(self._store.note, self.server, change, self._clock.now())

    async def _record(self, payload: dict[str, Any]) -> None:
        try:
            with anyio.fail_after(self._settings.gate_timeout_s):
                await self._gate.record(TOOL_CHANGE, self.server, dict(payload))
        except Exception as exc:
            logger.exception("could not record a tool change of %s", self.server)
            raise GuardDown("the record did not accept a tool change") from exc
