"""Crypto-shredding: the DEK is destroyed with the blobs, erased bytes leave the SQLite file
and its WAL, and a rolled-back erasure leaves everything in place."""

from __future__ import annotations

import logging
import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import SealMode
from app.crypto.envelope import create_data_key, open_data_key
from app.crypto.errors import KeyUnavailable
from app.crypto.keyring import Keyring
from app.crypto.keystore import initialise_keyring
from app.crypto.models import DataKey, KeyringState
from app.crypto.shred import checkpoint_sqlite, shred
from app.crypto.stream import StreamEncryptor
from app.db import transaction
from app.documents.blobs import BlobStore
from tests.conftest import ScratchDatabase

Committed = tuple[Engine, sessionmaker[Session]]


def _case_with_blob(
    factory: sessionmaker[Session], store: BlobStore
) -> tuple[Keyring, uuid.UUID, uuid.UUID, uuid.UUID, bytes]:
    keyring = Keyring()
    owner = uuid.uuid4()
    with transaction(factory) as s:
        initialise_keyring(s, keyring=keyring, mode=SealMode.DEV, root=b"\x09" * 32)
        row = create_data_key(s, keyring=keyring, owner_id=owner)
        assert row.wrapped is not None
        wrapped = row.wrapped
        dek = open_data_key(s, keyring=keyring, key_id=row.id, owner_id=owner)
    with store.create() as writer:
        enc = StreamEncryptor(dek, writer.blob_id)
        writer.write(enc.update(b"scan of a summons") + enc.finish())
        writer.commit()
    return keyring, owner, row.id, writer.blob_id, wrapped


def test_shred_destroys_key_blobs_and_stale_pages(
    committed: Committed, fresh_db: ScratchDatabase, tmp_path: Path
) -> None:
    _engine, factory = committed
    store = BlobStore(tmp_path / "blobs")
    keyring, owner, key_id, blob_id, wrapped = _case_with_blob(factory, store)
    with transaction(factory) as s:
        shred(s, key_id=key_id, blob_store=store, blob_ids=[blob_id])
        assert store.exists(blob_id)  # files go only once the erasure commits
    assert not store.exists(blob_id)
    with transaction(factory) as s:
        row = s.get_one(DataKey, key_id)
        assert row.wrapped is None
        assert row.destroyed_at is not None
        with pytest.raises(KeyUnavailable):
            open_data_key(s, keyring=keyring, key_id=key_id, owner_id=owner)
    if fresh_db.path is not None:
        wal = Path(f"{fresh_db.path}-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated
        assert wrapped not in fresh_db.path.read_bytes()  # secure_delete zeroed the old cell


def test_rolled_back_shred_leaves_key_and_blobs(committed: Committed, tmp_path: Path) -> None:
    _engine, factory = committed
    store = BlobStore(tmp_path / "blobs")
    keyring, owner, key_id, blob_id, _wrapped = _case_with_blob(factory, store)

    class Abort(Exception):
        pass

    def erase_then_fail() -> None:
        with transaction(factory) as s:
            shred(s, key_id=key_id, blob_store=store, blob_ids=[blob_id])
            raise Abort

    with pytest.raises(Abort):
        erase_then_fail()
    assert store.exists(blob_id)
    with transaction(factory) as s:
        open_data_key(s, keyring=keyring, key_id=key_id, owner_id=owner)
        s.commit()  # a later, unrelated commit must not run the abandoned erasure
    assert store.exists(blob_id)


def test_blob_folder_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "blobs"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    store = BlobStore(folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    with store.create() as writer:
        writer.write(b"sealed")
        writer.commit()
    assert store.path(writer.blob_id).stat().st_mode & 0o777 == 0o600
    assert len(writer.blob_id.hex) == 32


def test_a_checkpoint_that_readers_hold_back_is_reported(
    committed: Committed, fresh_db: ScratchDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader mid-transaction keeps the WAL from being copied in and truncated, so erased
    bytes may still lie in the -wal file: the operator is told, with how far it got."""
    engine, factory = committed
    if fresh_db.path is None:  # PostgreSQL: no WAL file beside the database, nothing to do
        with caplog.at_level(logging.DEBUG, logger="haven.shred"):
            checkpoint_sqlite(engine)
        assert not caplog.records
        return
    with transaction(factory) as s:
        create_data_key(s, keyring=_unsealed(s), owner_id=uuid.uuid4())
    reader = sqlite3.connect(fresh_db.path)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM data_keys").fetchone()  # holds a snapshot
        with transaction(factory) as s:  # a write after the reader's snapshot
            create_data_key(s, keyring=_unsealed(s), owner_id=uuid.uuid4())
        with caplog.at_level(logging.WARNING, logger="haven.shred"):
            checkpoint_sqlite(engine)
    finally:
        reader.close()
    warned = [r.getMessage() for r in caplog.records if "WAL checkpoint" in r.getMessage()]
    assert len(warned) == 1, caplog.text
    assert re.fullmatch(r"WAL checkpoint incomplete \(\d+ of \d+ frames; readers busy\)", warned[0])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="haven.shred"):
        checkpoint_sqlite(engine)  # the reader gone: complete, nothing said
    assert not [r for r in caplog.records if "WAL checkpoint" in r.getMessage()]


def _unsealed(s: Session) -> Keyring:
    keyring = Keyring()
    if s.get(KeyringState, 1) is None:
        initialise_keyring(s, keyring=keyring, mode=SealMode.DEV, root=b"\x09" * 32)
    else:
        keyring.unseal_verified(s, b"\x09" * 32)
    return keyring
