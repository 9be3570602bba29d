"""Canary through the API: a document whose body and file name carry the canaries (ASCII and
Cyrillic), and a referral whose note and shared name carry them, leave no trace as bytes
(UTF-8, UTF-16, base64) in the SQLite file and its WAL/journal, the PostgreSQL table contents
and a pg_dump, the blob folder, new temporary files or the logs."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Environment, Settings
from app.crypto.keyring import Keyring
from app.db import transaction
from app.main import create_app
from app.referrals.packet import encode_public_key, open_packet
from app.security.clock import FrozenClock
from tests.conftest import ScratchDatabase
from tests.crypto.canary import CANARIES, hits, postgres_contents, scan_files
from tests.factories import CaseWorld, case_world

ASCII, CYRILLIC = CANARIES
GIVEN = "2026-11-01T10:00:00+00:00"


def _journey(client: TestClient, world: CaseWorld) -> None:
    """Upload the canary document, then refer the canary name with a canary note, and send."""
    worker = world.headers["worker"]
    case_url = f"/api/v1/cases/{world.case_a.id}"
    body = f"{ASCII} {CYRILLIC}\n".encode() * 5000  # ~150 KiB: three stream chunks
    up = client.post(
        f"{case_url}/documents",
        files={"file": (f"{CYRILLIC} {ASCII}.txt", body, "text/plain")},
        headers=worker,
    )
    assert up.status_code == 201, up.text
    assert up.json()["name"] == f"{CYRILLIC} {ASCII}.txt"
    got = client.get(f"{case_url}/documents/{up.json()['id']}", headers=worker)
    assert got.content == body  # the data is really there, only never readable at rest

    key = X25519PrivateKey.generate()
    partner = client.post(
        "/api/v1/partners",
        json={
            "name": "Synthetic Asylum Lawyers",
            "public_key": encode_public_key(key.public_key()),
        },
        headers=world.headers["coord"],
    ).json()["id"]
    consent = {"purpose": "share_with_partner", "partner": partner, "legal_basis": "consent",
               "given_at": GIVEN}  # fmt: skip
    version = client.get(case_url, headers=worker).json()["version"]
    patched = client.patch(
        case_url,
        json={"version": version, "legal_name": f"{CYRILLIC} {ASCII}", "consents": [consent]},
        headers=worker,
    )
    assert patched.status_code == 200, patched.text
    ref = client.post(
        f"{case_url}/referrals",
        json={"partner_id": partner, "fields": ["legal_name"], "note": f"{ASCII} {CYRILLIC}"},
        headers=worker,
    ).json()["id"]
    assert client.patch(
        f"/api/v1/referrals/{ref}", json={"status": "sent"}, headers=worker
    ).is_success
    packet = client.get(f"/api/v1/referrals/{ref}/packet", headers=worker).content
    assert open_packet(packet, key).body["note"] == f"{ASCII} {CYRILLIC}"


def test_document_and_referral_canaries_appear_nowhere_at_rest(
    committed: tuple[Engine, sessionmaker[Session]],
    fresh_db: ScratchDatabase,
    tmp_path: Path,
    root_key: bytes,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, factory = committed
    keyring = Keyring()
    keyring.unseal_with_root(root_key)
    settings = Settings(
        env=Environment.TEST,
        database_url=fresh_db.url,
        blob_dir=tmp_path / "blobs",
        key_file=tmp_path / "root.key",
    )
    app = create_app(settings, engine=engine, session_factory=factory, keyring=keyring, clock=clock)
    with transaction(factory) as db:
        world = case_world(db, keyring=keyring, clock=clock, settings=settings)
    before_tmp = set(Path(tempfile.gettempdir()).iterdir())
    with caplog.at_level(logging.DEBUG):
        _journey(TestClient(app, base_url="https://testserver"), world)

    found = scan_files([settings.blob_dir])
    assert list(settings.blob_dir.iterdir())  # the scan looked at a real blob
    if fresh_db.path is not None:
        wal = Path(f"{fresh_db.path}-wal")
        assert wal.exists()
        found += scan_files([fresh_db.path, wal, Path(f"{fresh_db.path}-journal")])
    else:
        found += hits(postgres_contents(fresh_db, engine))
    new_tmp = set(Path(tempfile.gettempdir()).iterdir()) - before_tmp
    found += scan_files(p for p in new_tmp if p.is_file())
    found += hits("\n".join(r.getMessage() for r in caplog.records).encode())
    assert found == []
