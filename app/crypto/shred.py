"""Erasure by crypto-shredding: destroy the DEK, then the blobs and the stale database pages.

`shred` runs inside the caller's transaction (services never commit). Work that must wait
for the commit, deleting the blob files and checkpointing SQLite's WAL, is queued on the
session and runs after a successful commit; a rollback drops it, so nothing is half-erased.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from functools import partial
from typing import Protocol

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from app.crypto.envelope import destroy_data_key
from app.db import after_commit

log = logging.getLogger("haven.shred")


class BlobDeleter(Protocol):
    """Where a shredded key's encrypted files live (app/documents/blobs.py's BlobStore)."""

    def delete(self, blob_id: uuid.UUID) -> None:
        """Remove one blob; a missing one is not an error."""


def shred(
    session: Session,
    *,
    key_id: uuid.UUID,
    blob_store: BlobDeleter | None = None,
    blob_ids: Iterable[uuid.UUID] = (),
) -> None:
    """Destroy a DEK now; delete its blobs and checkpoint SQLite's WAL once the caller commits.

    The caller deletes its own rows (case fields, revisions, attachment rows) in the same
    transaction; every ciphertext they held is already unreadable once the DEK is gone."""
    destroy_data_key(session, key_id=key_id)
    if blob_store is not None:
        for blob_id in list(blob_ids):
            after_commit(session, partial(blob_store.delete, blob_id))
    after_commit(session, partial(_checkpoint_session, session))


def _checkpoint_session(session: Session) -> None:
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
