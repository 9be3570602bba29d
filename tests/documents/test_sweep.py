"""The blobs a crash leaves behind: removed at start once old enough, each removal audited,
and nothing else in the folder touched."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEntry
from app.crypto.keyring import Keyring
from app.db import transaction
from app.documents.blobs import BlobStore
from app.documents.sweep import sweep, sweep_at_start
from app.policy.permissions import Role
from tests.factories import make_case, make_document, make_team, make_user

OLD = time.time() - 3600


def _aged(path: Path) -> Path:
    os.utime(path, (OLD, OLD))
    return path


def _world(factory: sessionmaker[Session], keyring: Keyring, store: BlobStore) -> dict[str, Path]:
    """A stored document, a cut-off upload, an orphaned blob (all an hour old), a fresh
    orphan (maybe another process's, mid-commit) and a file that is not a blob."""
    with transaction(factory) as db:
        db.info["keyring"] = keyring
        team = make_team(db)
        worker = make_user(db, Role.CASEWORKER, teams=[team], keyring=keyring)
        case = make_case(db, keyring=keyring, team=team, assigned_to=worker)
        doc = make_document(db, keyring=keyring, case=case, store=store, by=worker)
        kept = store.path(doc.blob_id)
    partial = store.root / f"{uuid.uuid4().hex}.part"
    partial.write_bytes(b"\x00" * 100)
    orphan = store.path(uuid.uuid4())
    orphan.write_bytes(b"\x01" * 100)
    fresh = store.path(uuid.uuid4())
    fresh.write_bytes(b"\x02" * 100)
    other = store.root / "lost+found.txt"
    other.write_bytes(b"not a blob")
    for path in (kept, partial, orphan, other):
        _aged(path)
    return {"kept": kept, "partial": partial, "orphan": orphan, "fresh": fresh, "other": other}


def _swept(factory: sessionmaker[Session]) -> list[tuple[str | None, str | None]]:
    with transaction(factory) as db:
        rows = db.scalars(select(AuditEntry).where(AuditEntry.action == "blob.swept"))
        return sorted((e.object_id, e.reason_code) for e in rows)


def test_partial_and_orphaned_blobs_go_and_each_removal_is_audited(
    committed: tuple[Engine, sessionmaker[Session]], keyring: Keyring, tmp_path: Path
) -> None:
    _, factory = committed
    store = BlobStore(tmp_path / "blobs")
    files = _world(factory, keyring, store)
    sweep_at_start(factory, store.root, grace_seconds=60)
    assert files["kept"].exists()
    assert files["fresh"].exists()  # younger than the grace period: perhaps being written
    assert files["other"].exists()  # not a blob's name: not ours to remove
    assert not files["partial"].exists()
    assert not files["orphan"].exists()
    partial_id = uuid.UUID(hex=files["partial"].name.removesuffix(".part"))
    orphan_id = uuid.UUID(hex=files["orphan"].name)
    assert _swept(factory) == sorted([(str(partial_id), "partial"), (str(orphan_id), "orphan")])
    sweep_at_start(factory, store.root, grace_seconds=60)  # nothing left: nothing recorded
    assert len(_swept(factory)) == 2


def test_nothing_is_removed_when_the_record_of_it_rolls_back(
    committed: tuple[Engine, sessionmaker[Session]], keyring: Keyring, tmp_path: Path
) -> None:
    _, factory = committed
    store = BlobStore(tmp_path / "blobs")
    files = _world(factory, keyring, store)
    found = []

    def failing_sweep() -> None:
        with transaction(factory) as db:
            found.append(sweep(db, store, grace_seconds=60))
            raise RuntimeError("the audit write failed")

    with pytest.raises(RuntimeError):
        failing_sweep()
    assert (len(found[0].partial), len(found[0].orphan)) == (1, 1)
    assert files["partial"].exists()
    assert files["orphan"].exists()
    assert _swept(factory) == []
