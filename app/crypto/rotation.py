"""KEK rotation: a new KEK version becomes current and every DEK is rewrapped under it.

Data is never re-encrypted: only the 60-byte wrapped DEKs change. Work goes in batches,
each its own short transaction, so the service keeps serving; an interrupted rotation is
resumed by running it again (a draining version means unfinished work). A version is
retired, its wrapped key erased, once no live DEK uses it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.audit.events import AuditAction
from app.audit.log import record
from app.crypto.envelope import rewrap_dek
from app.crypto.keyring import Keyring
from app.crypto.keystore import create_kek_version, current_kek_version
from app.crypto.models import DataKey, KekState, KeyEncryptionKey
from app.db import transaction, utcnow

DEFAULT_BATCH = 500


@dataclass
class RotationReport:
    """What a rotation run did."""

    current_version: int
    resumed: bool
    rewrapped: int = 0
    remaining: int = 0
    retired: list[int] = field(default_factory=list)


def begin_rotation(session: Session, *, keyring: Keyring) -> tuple[int, bool]:
    """Make a new current KEK, unless a rotation is unfinished: returns (current, resumed)."""
    draining = session.scalar(
        select(func.count()).where(KeyEncryptionKey.state == KekState.DRAINING)
    )
    if draining:
        return current_kek_version(session, keyring), True
    old = session.scalar(
        select(KeyEncryptionKey).where(KeyEncryptionKey.state == KekState.CURRENT).with_for_update()
    )
    new = create_kek_version(session, keyring=keyring)
    if old is not None:
        old.state = KekState.DRAINING
        session.flush()
    session.get_one(KeyEncryptionKey, new).state = KekState.CURRENT
    session.flush()
    record(session, AuditAction.KEY_ROTATED, on=("kek", str(new)), reason="started")
    return new, False


def _stale(current: int) -> ColumnElement[bool]:
    return and_(DataKey.kek_version != current, DataKey.wrapped.is_not(None))


def pending_count(session: Session, *, current: int) -> int:
    """Live DEKs not yet under the current version."""
    return session.scalar(select(func.count()).select_from(DataKey).where(_stale(current))) or 0


def rewrap_batch(session: Session, *, keyring: Keyring, current: int, batch_size: int) -> int:
    """Rewrap up to batch_size DEKs under `current`; rows locked by others are skipped."""
    rows = session.execute(
        select(DataKey.id, DataKey.owner_id, DataKey.kek_version, DataKey.wrapped)
        .where(_stale(current))
        .order_by(DataKey.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    new_kek = keyring.kek(session, current)
    updates = [
        {
            "id": key_id,
            "kek_version": current,
            "wrapped": rewrap_dek(
                keyring.kek(session, version),
                new_kek,
                wrapped=wrapped,
                ids=key_id.bytes + owner_id.bytes,
                from_version=version,
                to_version=current,
            ),
        }
        for key_id, owner_id, version, wrapped in rows
        if wrapped is not None  # the query excludes destroyed keys; this tells mypy
    ]
    if updates:
        # Rows are locked (PostgreSQL) or the write lock is held (SQLite) since the SELECT.
        session.execute(update(DataKey), updates)
    return len(updates)


def retire_drained(session: Session, *, keyring: Keyring) -> list[int]:
    """Retire every draining version that no live DEK uses any more (its key is erased)."""
    retired = []
    versions = session.scalars(
        select(KeyEncryptionKey)
        .where(KeyEncryptionKey.state == KekState.DRAINING)
        .with_for_update()
    ).all()
    for kek in versions:
        in_use = session.scalar(
            select(func.count())
            .select_from(DataKey)
            .where(DataKey.kek_version == kek.version, DataKey.wrapped.is_not(None))
        )
        if in_use:
            continue
        kek.state, kek.wrapped, kek.retired_at = KekState.RETIRED, None, utcnow()
        keyring.forget_kek(kek.version)
        retired.append(kek.version)
        record(session, AuditAction.KEY_ROTATED, on=("kek", str(kek.version)), reason="retired")
    session.flush()
    return retired


def rotate(
    factory: sessionmaker[Session],
    *,
    keyring: Keyring,
    batch_size: int = DEFAULT_BATCH,
    on_progress: Callable[[int, int], None] | None = None,
) -> RotationReport:
    """Run (or resume) a rotation to the end; on_progress(done, total) after each batch."""
    with transaction(factory) as session:
        current, resumed = begin_rotation(session, keyring=keyring)
    with transaction(factory) as session:
        total = pending_count(session, current=current)
    report = RotationReport(current_version=current, resumed=resumed)
    if on_progress is not None:
        on_progress(0, total)
    while True:
        with transaction(factory) as session:
            done = rewrap_batch(session, keyring=keyring, current=current, batch_size=batch_size)
        if not done:
            break
        report.rewrapped += done
        if on_progress is not None:
            on_progress(report.rewrapped, max(total, report.rewrapped))
    with transaction(factory) as session:
        report.retired = retire_drained(session, keyring=keyring)
        report.remaining = pending_count(session, current=current)
    return report
