"""Sessions past their absolute expiry are deleted in the background: a refused session
(`sessions.is_live`) is harmless, but its row would otherwise stay in the database for ever,
with its device name and times, long after anyone could use it."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.background import Poller, background_sessions
from app.config import Settings
from app.db import transaction
from app.security import sessions
from app.security.clock import Clock


def purge_sessions_once(factory: sessionmaker[Session], *, clock: Clock) -> int:
    """One purge in its own transaction; how many sessions it deleted."""
    with transaction(factory) as db:
        return sessions.purge_expired(db, now=clock.now())


class SessionPurger(Poller):
    """A daemon thread deleting expired sessions every poll interval (the movement purge's)."""

    def __init__(self, factory: sessionmaker[Session], *, clock: Clock, interval: float) -> None:
        def step() -> str | None:
            gone = purge_sessions_once(factory, clock=clock)
            return f"deleted {gone} expired session(s)" if gone else None

        super().__init__("session-purge", interval, step)


def start_session_purger(settings: Settings, clock: Clock) -> SessionPurger | None:
    """Start the purge (off when the movement purge's interval is 0, as in tests, which call
    `purge_sessions_once` with a frozen clock)."""
    if settings.movement_purge_poll_seconds <= 0:
        return None
    factory = background_sessions(settings.database_url)
    purger = SessionPurger(factory, clock=clock, interval=settings.movement_purge_poll_seconds)
    purger.owns_engine_of(factory)
    purger.start()
    return purger
