"""Telling people and processes that an approval changed.

:class:`ApprovalSignals` wakes the long-polls and event streams waiting in this process as soon as an
approval is decided or used; a waiter also re-reads the store at a bounded interval, which is how a
decision taken on another replica reaches it. :class:`WebhookNotifier` POSTs a JSON notice to the
configured URLs when an approval is requested, from a small worker pool with a timeout: a slow or
failing receiver is logged (its host and the error class, never the payload) and never blocks or
fails the request. The notice carries no arguments: the receiver fetches the approval with a key.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

__all__ = ["ApprovalSignals", "MemoryNotifier", "Notifier", "NullNotifier", "WebhookNotifier"]

_log = logging.getLogger("agentgov.approvals")


class Notifier(Protocol):
    def approval_requested(self, notice: dict[str, Any]) -> None:
        """Tell whoever listens that an approval waits; must return at once and never raise."""
        ...

    def close(self) -> None:
        """Release what the notifier holds (connections, threads) at shutdown."""
        ...


class NullNotifier:
    def approval_requested(self, notice: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None


class MemoryNotifier:
    def __init__(self) -> None:
        self.notices: list[dict[str, Any]] = []

    def approval_requested(self, notice: dict[str, Any]) -> None:
        self.notices.append(notice)

    def close(self) -> None:
        return None


class WebhookNotifier:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout_s: float,
        max_pending: int,
        client: httpx.Client | None = None,
    ) -> None:
        self.urls = tuple(urls)
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._timeout = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="approval-webhook")
        self._max_pending = max_pending
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    def approval_requested(self, notice: dict[str, Any]) -> None:
        """Queue the POSTs; drop (and log) when too many are already waiting: never block."""
        if not self.urls:
            return
        with self._lock:
            if self._pending >= self._max_pending:
                _log.warning("approval webhook queue full (%d): notice dropped", self._pending)
                return
            self._pending += 1
        self._pool.submit(self._post_all, {"type": "approval.requested", "approval": notice})

    def flush(self, timeout: float) -> bool:
        """Wait (bounded) until every queued notice was sent or failed; True when none is left."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _post_all(self, body: dict[str, Any]) -> None:
        try:
            for url in self.urls:
                host = urlsplit(url).hostname or "?"
                try:
                    response = self._client.post(url, json=body, timeout=self._timeout)
                except httpx.HTTPError as exc:
                    _log.warning("approval webhook to %s failed: %s", host, type(exc).__name__)
                    continue
                if response.status_code >= 300:
                    _log.warning("approval webhook to %s answered %d", host, response.status_code)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()


class ApprovalSignals:
    """In-process wake-ups for waiters on an approval, safe to signal from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._registered = threading.Condition(self._lock)

    async def wait(self, approval_id: str, seconds: float) -> bool:
        """Until ``approval_id`` is signalled (True) or ``seconds`` pass (False)."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.setdefault(approval_id, set()).add(entry)
            self._registered.notify_all()
        try:
            await asyncio.wait_for(entry[1].wait(), seconds)
        except TimeoutError:
            return False
        finally:
            with self._lock:
                waiting = self._waiters.get(approval_id, set())
                waiting.discard(entry)
                if not waiting:
                    self._waiters.pop(approval_id, None)
        return True

    def notify(self, approval_id: str) -> None:
        with self._lock:
            waiting = list(self._waiters.get(approval_id, ()))
        for loop, event in waiting:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the waiter's loop has closed: nobody is left to wake
                continue

    def wait_for_waiter(self, approval_id: str, timeout: float) -> bool:
        """Block until someone waits on ``approval_id`` (for tests and orderly hand-overs); bounded."""
        with self._registered:
            return self._registered.wait_for(lambda: bool(self._waiters.get(approval_id)), timeout)
