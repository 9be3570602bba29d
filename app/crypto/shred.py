"""Erasure by crypto-shredding: destroy the DEK, then the blobs and the stale database pages.

`shred` runs inside the caller's transaction (services never commit). Work that must wait
for the commit, deleting the blob files and checkpointing SQLite's WAL, is queued on the
session and runs after a successful commit; a rollback drops it, so nothing is half-erased.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from app.crypto.envelope import destroy_data_key
from app.documents.blobs import BlobStore

log = logging.getLogger("haven.shred")

_PENDING = "haven_pending_shred"
_LISTENING = "haven_shred_listening"


@dataclass
class _Pending:
    blobs: list[tuple[BlobStore, uuid.UUID]] = field(default_factory=list)


def shred(
    session: Session,
    *,
    key_id: uuid.UUID,
    blob_store: BlobStore | None = None,
    blob_ids: Iterable[uuid.UUID] = (),
) -> None:
    """Destroy a DEK now; delete its blobs and checkpoint SQLite's WAL once the caller commits.

    The caller deletes its own rows (case fields, revisions, attachment rows) in the same
    transaction; every ciphertext they held is already unreadable once the DEK is gone."""
    destroy_data_key(session, key_id=key_id)
    pending = _pending(session)
    if blob_store is not None:
        pending.blobs.extend((blob_store, blob_id) for blob_id in blob_ids)


def _pending(session: Session) -> _Pending:
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)
    pending = session.info.setdefault(_PENDING, _Pending())
    assert isinstance(pending, _Pending)  # noqa: S101 - only this module writes the key
    return pending


def _after_rollback(session: Session, _previous: object) -> None:
    session.info.pop(_PENDING, None)


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not isinstance(pending, _Pending):
        return
    for store, blob_id in pending.blobs:
        store.delete(blob_id)
    bind = session.get_bind()
    checkpoint_sqlite(bind.engine if isinstance(bind, Connection) else bind)


def checkpoint_sqlite(engine: Engine) -> None:
    """Copy the WAL into the database and truncate it, so erased bytes (zeroed by
    secure_delete) no longer linger in the -wal file. A no-op on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    # On the raw connection (autocommit): a checkpoint cannot run inside the BEGIN IMMEDIATE
    # that SQLAlchemy would open first.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, frames, done = cursor.fetchone() or (0, 0, 0)
        cursor.close()
    finally:
        raw.close()
    if busy:
        log.warning("WAL checkpoint incomplete (%s of %s frames; readers busy)", done, frames)


__all__ = ["checkpoint_sqlite", "shred"]
