"""Several processes on one database: a seal made on one reaches the others.

The panic button seals the process that took the request: its root key leaves memory and
every session (in the database, shared) ends. Every other process learns of it here: each
polls the audit log for a `sys.sealed` entry newer than the last one it had seen when it was
unsealed, and seals itself too, within `HAVEN_SEAL_FOLLOW_POLL_SECONDS` (2 s by default).
No new table: the audit log already records every seal, and is append-only.

A follower does not record a seal of its own: that entry would seal a process unsealed in
between. Each process is unsealed on its own (`haven unseal --url` for each)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.background import Poller, background_sessions
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import transaction


def latest_seal(session: Session) -> int:
    """The id of the newest `sys.sealed` entry (0 when there is none)."""
    stmt = select(func.max(AuditEntry.id)).where(AuditEntry.action == AuditAction.SEALED.value)
    return int(session.scalar(stmt) or 0)


class SealFollower(Poller):
    """Seals this process once a newer seal is in the audit log than it had seen."""

    def __init__(
        self, factory: sessionmaker[Session], *, keyring: Keyring, interval: float
    ) -> None:
        super().__init__("seal-follower", interval, self.step)
        self._factory = factory
        self._keyring = keyring
        self._lock = threading.Lock()
        self._seen: int | None = None
        self._epoch: int | None = None
        keyring.on_unseal(self._at_unseal)

    def _at_unseal(self, session: Session) -> None:
        if self.stopped:
            return  # a process's earlier app, kept by the keyring's hook list
        seen = latest_seal(session)
        with self._lock:
            self._seen, self._epoch = seen, self._keyring.epoch

    @property
    def stopped(self) -> bool:
        """True once the app that started this follower has stopped."""
        return self._stop.is_set()

    def step(self) -> str | None:
        """One look at the log (also called directly by tests)."""
        if self._keyring.sealed:
            return None
        with transaction(self._factory) as session:
            newest = latest_seal(session)
        with self._lock:
            if self._seen is None or self._epoch != self._keyring.epoch:
                # Unsealed without the hook (in memory only): from now on.
                self._seen, self._epoch = newest, self._keyring.epoch
                return None
            if newest <= self._seen:
                return None
            self._seen = newest
        self._keyring.seal()
        return "sealed: another process sealed the service"


def start_seal_follower(settings: Settings, keyring: Keyring) -> SealFollower | None:
    """Start following seals (off when the poll interval is 0)."""
    if settings.seal_follow_poll_seconds <= 0:
        return None
    factory = background_sessions(settings.database_url)
    follower = SealFollower(factory, keyring=keyring, interval=settings.seal_follow_poll_seconds)
    follower.owns_engine_of(factory)
    follower.start()
    return follower
