"""Erasure: four eyes (two coordinators of the case's team, within seven days, freshly
re-authenticated), then crypto-shredding: the case answers 404, its rows are gone, its key
is destroyed, and its ciphertexts are found nowhere in the SQLite file or its WAL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases.models import Case, CaseIndex, CaseRevision, StageChange
from app.config import Settings
from app.crypto.keyring import Keyring
from app.crypto.models import DataKey
from app.db import make_engine, make_sessionmaker, transaction
from app.main import create_app
from app.migrate import upgrade
from app.security.clock import FrozenClock
from app.tasks.models import Task
from tests.casework import PERSON, Staff, audit_count, make_staff, new_case
from tests.conftest import ScratchDatabase
from tests.crypto.canary import CANARIES, hits, scan_files
from tests.factories import auth, bearer

TASK = {
    "title": "Meet at the railway station",
    "instructions": "Thursday 14:00 under the clock; bring a SIM card.",
}


@pytest.fixture
def staff(db: Session, clock: FrozenClock, settings: Settings) -> Staff:
    return make_staff(db, clock=clock, settings=settings)


def _rows(db: Session, raw_id: str) -> dict[str, int]:
    db.expire_all()
    case_id = uuid.UUID(raw_id)
    out = {}
    for model in (Case, CaseRevision, CaseIndex, StageChange, Task):
        col = model.id if model is Case else model.case_id  # type: ignore[attr-defined]
        stmt = select(func.count()).select_from(model).where(col == case_id)
        out[model.__tablename__] = int(db.scalar(stmt) or 0)
    return out


def _case_with_task(client: TestClient, staff: Staff) -> dict[str, Any]:
    case = new_case(client, staff)
    body = {"case_id": case["id"], "assigned_to": str(staff.volunteer.id), **TASK}
    assert client.post("/api/v1/tasks", json=body, headers=staff.h("caseworker")).status_code == 201
    return case


def test_four_eyes_then_shredded(client: TestClient, db: Session, staff: Staff) -> None:
    case = _case_with_task(client, staff)
    url = f"/api/v1/cases/{case['id']}"
    assert client.delete(url, headers=staff.h("caseworker")).status_code == 403
    assert client.delete(url, headers=staff.h("outsider_coordinator")).status_code == 404
    first = client.delete(url, headers=staff.h("coordinator"))
    assert first.status_code == 202
    assert first.json()["status"] == "awaiting_second_coordinator"
    assert client.get(url, headers=staff.h("coordinator")).status_code == 200  # still there
    again = client.delete(url, headers=staff.h("coordinator"))
    assert again.status_code == 409
    assert again.json()["code"] == "erasure_awaiting_second_coordinator"
    assert all(_rows(db, case["id"]).values())
    done = client.delete(url, headers=staff.h("coordinator2"))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "erased"
    assert client.get(url, headers=staff.h("coordinator")).status_code == 404
    assert client.delete(url, headers=staff.h("coordinator")).status_code == 404
    assert set(_rows(db, case["id"]).values()) == {0}
    key = db.scalars(select(DataKey).where(DataKey.owner_id == uuid.UUID(case["id"]))).one()
    assert key.wrapped is None
    assert key.destroyed_at is not None
    assert audit_count(db, "case.erasure_requested") == 1
    erased = db.scalars(select(AuditEntry).where(AuditEntry.action == "case.erased")).one()
    assert erased.actor_id == staff.coordinator2.id
    assert erased.fields == []


def test_legal_hold_stops_erasure_by_hand(client: TestClient, db: Session, staff: Staff) -> None:
    case = _case_with_task(client, staff)
    url = f"/api/v1/cases/{case['id']}"
    held = client.patch(
        url, json={"version": case["version"], "legal_hold": True}, headers=staff.h("coordinator")
    )
    assert held.status_code == 200, held.text
    for who in ("coordinator", "coordinator2"):
        r = client.delete(url, headers=staff.h(who))
        assert r.status_code == 409
        assert r.json()["code"] == "legal_hold"
    assert all(_rows(db, case["id"]).values())


def test_request_expires_after_seven_days(
    client: TestClient, db: Session, staff: Staff, clock: FrozenClock, settings: Settings
) -> None:
    case = new_case(client, staff)
    url = f"/api/v1/cases/{case['id']}"
    assert client.delete(url, headers=staff.h("coordinator")).status_code == 202
    clock.advance(timedelta(days=8))
    fresh = auth(bearer(db, staff.coordinator2, clock=clock, settings=settings))
    late = client.delete(url, headers=fresh)
    assert late.status_code == 202  # a new request, by the second coordinator
    db.expire_all()
    assert db.get_one(Case, uuid.UUID(case["id"])).erasure_requested_by == staff.coordinator2.id


def test_erasure_needs_fresh_reauthentication(
    client: TestClient, db: Session, staff: Staff, clock: FrozenClock, settings: Settings
) -> None:
    case = new_case(client, staff)
    stale = auth(bearer(db, staff.coordinator, clock=clock, settings=settings, reauth=False))
    r = client.delete(f"/api/v1/cases/{case['id']}", headers=stale)
    assert r.status_code == 403
    assert r.json()["code"] == "reauth_required"
    db.expire_all()
    assert db.get_one(Case, uuid.UUID(case["id"])).erasure_requested_by is None


# --- the bytes on disk ----------------------------------------------------------------------

CANARY_PERSON = {
    **PERSON,
    "legal_name": f"Всеволод {CANARIES[1]}",
    "family": f"Brother {CANARIES[0]}",
    "intake_notes": f"Notes {CANARIES[0]} {CANARIES[1]}",
}


@pytest.fixture
def committed_app(
    fresh_db: ScratchDatabase, tmp_path: Path, keyring: Keyring, clock: FrozenClock
) -> Iterator[tuple[TestClient, Staff, ScratchDatabase, Any]]:
    upgrade(fresh_db.url)
    engine = make_engine(fresh_db.url)
    factory = make_sessionmaker(engine)
    settings = Settings(
        database_url=fresh_db.url,
        blob_dir=tmp_path / "blobs",
        movement_purge_poll_seconds=0,
        audit_sequence_poll_seconds=0,  # its own writes would start a new WAL after the erasure's
    )
    with transaction(factory) as db:
        db.info["keyring"] = keyring  # the factories encrypt TOTP secrets with it
        staff = make_staff(db, clock=clock, settings=settings)
    app = create_app(settings, engine=engine, session_factory=factory, keyring=keyring, clock=clock)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c, staff, fresh_db, factory
    engine.dispose()


def test_erased_ciphertexts_leave_the_database_file(
    committed_app: tuple[TestClient, Staff, ScratchDatabase, Any],
) -> None:
    client, staff, scratch, factory = committed_app
    case = new_case(client, staff, **CANARY_PERSON)
    with transaction(factory) as db:
        row = db.get_one(Case, uuid.UUID(case["id"]))
        assert row.legal_name is not None
        assert row.intake_notes is not None
        cipher = [row.legal_name.data, row.intake_notes.data]
        revisions = [r.changes.data for r in db.scalars(select(CaseRevision))]
        wrapped = db.scalars(select(DataKey.wrapped).where(DataKey.owner_id == row.id)).one()
    needles = [c[-24:] for c in [*cipher, *revisions]] + [wrapped[-24:]]
    files = [p for p in [scratch.path, Path(f"{scratch.path}-wal")] if p and p.exists()]
    if scratch.path is not None:
        before = b"".join(p.read_bytes() for p in files)
        assert all(n in before for n in needles)  # the scan can see them before erasure
    assert not scan_files(files)  # plaintext never lands, before or after
    url = f"/api/v1/cases/{case['id']}"
    assert client.delete(url, headers=staff.h("coordinator")).status_code == 202
    assert client.delete(url, headers=staff.h("coordinator2")).status_code == 200
    if scratch.path is not None:
        wal = Path(f"{scratch.path}-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed after commit
        after = b"".join(p.read_bytes() for p in files if p.exists())
        assert [n for n in needles if n in after] == []
        assert not hits(after, CANARIES)
    with transaction(factory) as db:
        assert db.get(Case, uuid.UUID(case["id"])) is None
        assert db.scalar(select(func.count()).select_from(CaseRevision)) == 0
        key = db.scalars(select(DataKey).where(DataKey.owner_id == uuid.UUID(case["id"]))).one()
        assert key.wrapped is None
