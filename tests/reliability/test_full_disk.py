"""A full disk, for the blob folder (ENOSPC injected into the blob writer) and for the
SQLite database (its size capped with `max_page_count`, which SQLite reports exactly as a
full disk): a clear 507 `storage_full`, no partial blob, no half-written case, the audit log
intact, and the service writing again once space returns."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.audit.checkpoints import verifier_key
from app.audit.verify import verify_log
from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.documents import blobs
from app.documents.models import Document
from app.main import create_app
from app.migrate import upgrade
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.conftest import new_database
from tests.factories import auth, bearer, make_team, make_user

ORIGIN = "haven.test/full"


def _verifies(factory: sessionmaker[Session], keyring: Keyring, origin: str) -> bool:
    with transaction(factory) as s:
        return verify_log(s, keys=[verifier_key(keyring, origin)], origin=origin).ok


def _worker(factory: sessionmaker[Session], keyring: Keyring, settings: Settings) -> dict[str, str]:
    with transaction(factory) as s:
        s.info["keyring"] = keyring
        team = make_team(s)
        user = make_user(s, Role.CASEWORKER, teams=[team], keyring=keyring)
        return auth(bearer(s, user, clock=FrozenClock(), settings=settings))


@pytest.fixture
def service(
    tmp_path: Path, settings: Settings, keyring: Keyring
) -> Iterator[tuple[TestClient, sessionmaker[Session], Engine, list[int]]]:
    """The app on a SQLite file of its own whose size can be capped (pages; 0: no cap)."""
    db = new_database("sqlite", tmp_path)
    upgrade(db.url)
    cap = [0]
    engine = make_engine(db.url)

    @event.listens_for(engine, "connect")
    def _cap(dbapi_connection: Any, _record: Any) -> None:
        if cap[0]:
            dbapi_connection.execute(f"PRAGMA max_page_count = {cap[0]}")

    factory = make_sessionmaker(engine)
    settings = settings.model_copy(
        update={"database_url": db.url, "blob_dir": tmp_path / "blobs", "audit_origin": ORIGIN}
    )
    app = create_app(settings, engine=engine, session_factory=factory, keyring=keyring)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        client.headers.update(_worker(factory, keyring, settings))
        yield client, factory, engine, cap
    engine.dispose()


def _count(factory: sessionmaker[Session], model: type[Any]) -> int:
    with transaction(factory) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_blob_folder_full(
    service: tuple[TestClient, sessionmaker[Session], Engine, list[int]],
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    client, factory, _, _ = service
    case = client.post("/api/v1/cases", json={"family": "before the disk filled"}).json()
    url = f"/api/v1/cases/{case['id']}/documents"
    real = blobs.BlobWriter.write

    def full(self: blobs.BlobWriter, sealed: bytes) -> None:
        if self.size > 4096:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, sealed)

    monkeypatch.setattr(blobs.BlobWriter, "write", full)
    body = b"%PDF-1.4 " + b"x" * 200_000
    r = client.post(url, files={"file": ("scan.pdf", body, "application/pdf")})
    assert r.status_code == 507, r.text
    assert r.json()["code"] == "storage_full"
    assert list((tmp_path / "blobs").iterdir()) == []  # no partial blob left
    assert _count(factory, Document) == 0
    assert client.get(f"/api/v1/cases/{case['id']}").json()["family"] == "before the disk filled"
    monkeypatch.setattr(blobs.BlobWriter, "write", real)  # space returns
    again = client.post(url, files={"file": ("scan.pdf", body, "application/pdf")})
    assert again.status_code == 201, again.text
    assert _verifies(factory, keyring, ORIGIN)


def test_database_full(
    service: tuple[TestClient, sessionmaker[Session], Engine, list[int]], keyring: Keyring
) -> None:
    client, factory, engine, cap = service
    before = client.post("/api/v1/cases", json={"family": "kept"})
    assert before.status_code == 201
    with engine.connect() as conn:
        pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())
    cap[0] = pages + 2
    engine.dispose()  # new connections take the cap
    statuses = []
    for n in range(40):
        r = client.post(
            "/api/v1/cases", json={"family": "x" * 2000, "intake_notes": "y" * 3000 + str(n)}
        )
        statuses.append(r.status_code)
        if r.status_code != 201:
            assert r.status_code == 507, r.text
            assert r.json()["code"] == "storage_full"
            assert "Traceback" not in r.text
            break
    assert 507 in statuses, f"the cap was never reached: {statuses}"
    created = statuses.count(201)
    assert _count(factory, Case) == 1 + created  # the refused case left nothing behind
    assert client.get(f"/api/v1/cases/{before.json()['id']}").status_code in (200, 507)
    cap[0] = 0
    engine.dispose()  # space returns
    r = client.post("/api/v1/cases", json={"family": "after"})
    assert r.status_code == 201, r.text
    assert _count(factory, Case) == 2 + created
    assert _verifies(factory, keyring, ORIGIN)
