"""The canary test at the level this layer reaches: canaries encrypted into the tables and
the blob store are found nowhere as bytes, in the SQLite file and its WAL/journal, the
PostgreSQL table contents and a pg_dump, the blob folder, the temp folder or the logs.
(The full canary over every case field comes with the case model.)"""

from __future__ import annotations

import logging
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, Table, Uuid, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import SealMode
from app.crypto.ciphertext import Encrypted
from app.crypto.envelope import create_data_key, encrypt_json, encrypt_text, open_data_key
from app.crypto.keyring import Keyring
from app.crypto.keystore import initialise_keyring
from app.crypto.stream import StreamEncryptor
from app.db import transaction
from app.documents.blobs import BlobStore
from tests.conftest import ScratchDatabase
from tests.crypto.canary import CANARIES, hits, needles, postgres_contents, scan_files

probe_metadata = MetaData()
case_probe = Table(
    "canary_case_probe",
    probe_metadata,
    Column("id", Uuid, primary_key=True),
    Column("legal_name", Encrypted),
    Column("aliases", Encrypted),
    Column("contacts", Encrypted),
    Column("intake_notes", Encrypted),
    Column("document_meta", Encrypted),
)


def test_needles_find_what_they_should() -> None:
    for canary in CANARIES:
        for form in needles(canary):
            assert hits(b"prefix" + form + b"suffix", [canary])


def _fill(factory: sessionmaker[Session], store: BlobStore) -> None:
    keyring = Keyring()
    ascii_canary, cyrillic = CANARIES
    with transaction(factory) as s:
        initialise_keyring(s, keyring=keyring, mode=SealMode.DEV, root=b"\x07" * 32)
        case_id = uuid.uuid4()
        row = create_data_key(s, keyring=keyring, owner_id=case_id)
        dek = open_data_key(s, keyring=keyring, key_id=row.id, owner_id=case_id)
        writer = store.create()
        enc = StreamEncryptor(dek, writer.blob_id)
        body = f"{ascii_canary} {cyrillic}\n".encode() * 5000
        for i in range(0, len(body), 7000):
            writer.write(enc.update(body[i : i + 7000]))
        writer.write(enc.finish())
        writer.commit()
        meta = {"filename": f"{cyrillic}.pdf", "content_type": "application/pdf"}
        s.execute(
            insert(case_probe).values(
                id=case_id,
                legal_name=encrypt_text(
                    dek, field="legal_name", value=f"{cyrillic} {ascii_canary}"
                ),
                aliases=encrypt_json(dek, field="aliases", value=[ascii_canary, cyrillic]),
                contacts=encrypt_json(
                    dek, field="contacts", value=[{"channel": "telegram", "value": ascii_canary}]
                ),
                intake_notes=encrypt_text(dek, field="intake_notes", value=cyrillic * 3),
                document_meta=encrypt_json(dek, field="document_meta", value=meta),
            )
        )


def test_canaries_appear_nowhere_at_rest(
    committed: tuple[Engine, sessionmaker[Session]],
    fresh_db: ScratchDatabase,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, factory = committed
    probe_metadata.create_all(engine)
    store = BlobStore(tmp_path / "blobs")
    before_tmp = set(Path(tempfile.gettempdir()).iterdir())
    with caplog.at_level(logging.DEBUG):
        _fill(factory, store)
    found = scan_files([store.root])
    if fresh_db.path is not None:
        db_file = fresh_db.path
        files = [db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-journal")]
        assert Path(f"{db_file}-wal").exists()  # the WAL holds the rows: scanned before checkpoint
        found += scan_files(files)
    else:
        found += hits(postgres_contents(fresh_db, engine))
    new_tmp = set(Path(tempfile.gettempdir()).iterdir()) - before_tmp
    found += scan_files(p for p in new_tmp if p.is_file())
    found += hits("\n".join(r.getMessage() for r in caplog.records).encode())
    assert found == []


def test_scanner_is_not_blind(
    committed: tuple[Engine, sessionmaker[Session]], fresh_db: ScratchDatabase
) -> None:
    """Control: the same scan does find a canary written in plaintext."""
    engine, _factory = committed
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE plain_control (v TEXT)"))
        conn.execute(text("INSERT INTO plain_control VALUES (:v)"), {"v": CANARIES[1]})
    if fresh_db.path is not None:
        assert scan_files([fresh_db.path, Path(f"{fresh_db.path}-wal")])
    else:
        assert hits(postgres_contents(fresh_db, engine))
