"""What a crash leaves in the blob folder, removed at start and audited.

A blob is written before its row exists (the upload streams in), so a process killed at the
wrong moment leaves either a `.part` file (cut off mid-upload) or a complete blob whose
row's transaction never committed. Both are ciphertext under a data key that nothing
points to: unreadable, but space taken and a doubt for whoever checks the folder. The sweep
removes those older than a grace period (another process may be writing one right now),
one audit entry each (the blob's random id and "partial" or "orphan": nothing of a case).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.audit.events import AuditAction
from app.audit.log import record
from app.db import after_commit, transaction
from app.documents.blobs import BlobStore
from app.documents.models import Document

log = logging.getLogger("haven.blobs")

_PART = ".part"
_BATCH = 500


@dataclass
class Swept:
    """The blob ids removed, by kind."""

    partial: list[uuid.UUID] = field(default_factory=list)
    orphan: list[uuid.UUID] = field(default_factory=list)


def _blob_id(path: Path) -> uuid.UUID | None:
    name = path.name.removesuffix(_PART)
    if len(name) != 32:
        return None
    try:
        return uuid.UUID(hex=name)
    except ValueError:
        return None


def sweep(db: Session, store: BlobStore, *, grace_seconds: float) -> Swept:
    """Find the partial and orphaned blobs older than grace_seconds and audit their removal;
    the files go once that record commits (never a removal without its entry)."""
    cutoff = time.time() - grace_seconds
    swept = Swept()
    doomed: list[Path] = []
    finished: dict[uuid.UUID, Path] = {}
    for path in store.root.iterdir():
        blob_id = _blob_id(path)
        if blob_id is None or not path.is_file() or path.stat().st_mtime > cutoff:
            continue
        if path.name.endswith(_PART):
            swept.partial.append(blob_id)
            doomed.append(path)
        else:
            finished[blob_id] = path
    ids = list(finished)
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        known = set(db.scalars(select(Document.blob_id).where(Document.blob_id.in_(batch))))
        for blob_id in batch:
            if blob_id not in known:
                swept.orphan.append(blob_id)
                doomed.append(finished[blob_id])
    for kind, removed in (("partial", swept.partial), ("orphan", swept.orphan)):
        for blob_id in removed:
            record(db, AuditAction.BLOB_SWEPT, on=("blob", blob_id), reason=kind)
    if doomed:
        after_commit(db, lambda: _remove(doomed, swept))
    return swept


def _remove(paths: list[Path], swept: Swept) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
    log.warning(
        "removed %d partial and %d orphaned blobs left by an interrupted upload",
        len(swept.partial),
        len(swept.orphan),
    )


def sweep_at_start(factory: sessionmaker[Session], blob_dir: Path, grace_seconds: float) -> None:
    """The sweep in a transaction of its own; a failure (the database busy or unreachable)
    is logged and the service starts anyway: the next start sweeps again."""
    try:
        with transaction(factory) as db:
            sweep(db, BlobStore(blob_dir), grace_seconds=grace_seconds)
    except (OSError, SQLAlchemyError) as exc:
        log.warning("blob sweep skipped at start: %s", type(exc).__name__)
