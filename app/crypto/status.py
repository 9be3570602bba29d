"""What an administrator may know of the keys, without any key: how the root key is
protected, each KEK version's state, how many data keys each wraps, and when the last
rotation happened. Read-only: rotation itself is `haven keys rotate` on the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.crypto.models import DataKey, KekState, KeyEncryptionKey, KeyringState


@dataclass(frozen=True)
class KekVersion:
    """One KEK version: its state, when it was made (and retired), its live data keys."""

    version: int
    state: str
    created_at: datetime
    retired_at: datetime | None
    data_keys: int


@dataclass(frozen=True)
class KeyStatus:
    """The keyring as metadata: never a key, never a wrapped key."""

    mode: str | None
    initialised_at: datetime | None
    versions: list[KekVersion]
    destroyed_data_keys: int
    last_rotation: datetime | None

    @property
    def current(self) -> int | None:
        """The version new data keys are wrapped under."""
        return next((v.version for v in self.versions if v.state == KekState.CURRENT), None)

    @property
    def rotation_unfinished(self) -> bool:
        """A draining version still wraps data keys: `haven keys rotate` again finishes it."""
        return any(v.state == KekState.DRAINING for v in self.versions)


def key_status(db: Session) -> KeyStatus:
    """The keyring's state, read in four statements whatever the number of data keys."""
    state = db.get(KeyringState, 1)
    live = (
        select(DataKey.kek_version, func.count().label("n"))
        .where(DataKey.wrapped.is_not(None))
        .group_by(DataKey.kek_version)
        .subquery()
    )
    rows = db.execute(
        select(KeyEncryptionKey, func.coalesce(live.c.n, 0))
        .outerjoin(live, live.c.kek_version == KeyEncryptionKey.version)
        .order_by(KeyEncryptionKey.version.desc())
    )
    versions = [KekVersion(k.version, k.state, k.created_at, k.retired_at, int(n)) for k, n in rows]
    destroyed = db.scalar(
        select(func.count()).select_from(DataKey).where(DataKey.wrapped.is_(None))
    )
    last = db.scalar(
        select(func.max(AuditEntry.at)).where(AuditEntry.action == AuditAction.KEY_ROTATED.value)
    )
    return KeyStatus(
        mode=state.mode if state else None,
        initialised_at=state.created_at if state else None,
        versions=versions,
        destroyed_data_keys=int(destroyed or 0),
        last_rotation=last,
    )
