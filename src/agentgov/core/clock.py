"""The Clock port: aware UTC time only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock", "ensure_utc", "isoformat_z"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to; for tests and deterministic demos."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes; convert aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: every time in agentgov is timezone-aware UTC")
    return value.astimezone(UTC)


def isoformat_z(value: datetime) -> str:
    """RFC 3339 text with a ``Z`` suffix and microseconds only when present."""
    text = ensure_utc(value).isoformat()
    return text.replace("+00:00", "Z")
