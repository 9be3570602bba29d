"""A clock the app reads through `app.state.clock`, so tests can move time instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from fastapi import Request


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The frozen time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        """Move time forward by delta."""
        with self._lock:
            self._now += delta


def get_clock(request: Request) -> Clock:
    """The app's clock (set by create_app)."""
    clock: Clock = request.app.state.clock
    return clock
