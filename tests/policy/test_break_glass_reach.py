"""F5: a break-glass grant opens another team's case for reading only. Every write through
the grant answers the same 404 as any out-of-scope case, changes nothing, and is audited as
denied (`break_glass_read_only`). Attacked with a live grant, on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.documents.models import Document
from app.referrals.models import Referral
from app.security.clock import FrozenClock
from app.tasks.models import Task
from tests.factories import CaseWorld, case_world, make_document, make_task
from tests.referrals.test_api import PERSON, add_partner, keygen, patch_case, refer, share, store

REASON = "Client phoned the night line; the team is unreachable until morning"
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


@pytest.fixture
def world(db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings) -> CaseWorld:
    """Two teams, every role, one case per team."""
    return case_world(db, keyring=keyring, clock=clock, settings=settings)


@pytest.fixture
def grant_world(
    client: TestClient, db: Session, keyring: Keyring, world: CaseWorld, tmp_path: Path
) -> dict[str, str]:
    """Case A (team A) with consents, a draft referral, a document and a task; worker_b and
    coord_b (team B) each hold a live break-glass grant on it."""
    public_key, _ = keygen(tmp_path)
    partner = add_partner(client, world, public_key).json()["id"]
    patch_case(client, world, {**PERSON, "consents": [store(), share(partner)]})
    ref = refer(client, world, partner)
    assert ref.status_code == 201, ref.text
    doc = make_document(
        db, keyring=keyring, case=world.case_a, store=world.store, by=world.users["worker"]
    )
    task = make_task(db, keyring=keyring, case=world.case_a, volunteer=world.users["volunteer"])
    for who in ("worker_b", "coord_b"):
        r = client.post(
            f"/api/v1/cases/{world.case_a.id}/break-glass",
            json={"reason": REASON},
            headers=world.headers[who],
        )
        assert r.status_code == 201, r.text
    return {
        "partner": partner,
        "referral": ref.json()["id"],
        "doc": str(doc.id),
        "task": str(task.id),
    }


def test_a_grant_reads_the_case(
    client: TestClient, world: CaseWorld, grant_world: dict[str, str]
) -> None:
    case = f"/api/v1/cases/{world.case_a.id}"
    h = world.headers["worker_b"]
    assert client.get(case, headers=h).json()["legal_name"] == PERSON["legal_name"]
    assert client.get(f"{case}/history", headers=h).status_code == 200
    assert client.get(f"{case}/documents", headers=h).status_code == 200
    assert client.get(f"{case}/documents/{grant_world['doc']}", headers=h).status_code == 200
    assert [r["id"] for r in client.get(f"{case}/referrals", headers=h).json()["items"]] == [
        grant_world["referral"]
    ]
    listed = client.post("/api/v1/cases/search", json={"code": world.case_a.case_code}, headers=h)
    assert [c["id"] for c in listed.json()["items"]] == [str(world.case_a.id)]
    tasks = client.get("/api/v1/tasks", headers=h).json()["items"]
    assert grant_world["task"] in [t["id"] for t in tasks]


def _writes(world: CaseWorld, ids: dict[str, str]) -> list[tuple[str, str, str, dict[str, object]]]:
    case = f"/api/v1/cases/{world.case_a.id}"
    return [
        ("worker_b", "PATCH", case, {"json": {"version": world.case_a.version, "unit": "x"}}),
        ("worker_b", "POST", f"{case}/transition", {"json": {"to": "vetting"}}),
        ("worker_b", "POST", f"{case}/documents", {"files": {"file": ("a.txt", b"hi")}}),
        (
            "worker_b",
            "POST",
            f"{case}/referrals",
            {"json": {"partner_id": ids["partner"], "fields": ["legal_name"]}},
        ),
        ("worker_b", "PATCH", f"/api/v1/referrals/{ids['referral']}", {"json": {"status": "sent"}}),
        ("worker_b", "PATCH", f"/api/v1/tasks/{ids['task']}", {"json": {"status": "cancelled"}}),
        ("coord_b", "POST", f"{case}/assign", {"json": {"user_id": None}}),
        ("coord_b", "GET", f"{case}/export", {}),
        ("coord_b", "DELETE", case, {}),
    ]


def test_every_write_through_a_grant_is_404_changes_nothing_and_is_audited(
    client: TestClient, db: Session, world: CaseWorld, grant_world: dict[str, str]
) -> None:
    case = db.get_one(Case, world.case_a.id)
    db.refresh(case)
    before = (case.version, case.stage, case.assigned_to, case.erasure_requested_by)
    docs = db.scalar(select(func.count()).select_from(Document))
    refs = db.scalar(select(func.count()).select_from(Referral))
    for who, method, url, kwargs in _writes(world, grant_world):
        r = client.request(method, url, headers=world.headers[who], **kwargs)  # type: ignore[arg-type]
        assert (r.status_code, r.json()) == (404, NOT_FOUND), f"{who} {method} {url}: {r.text}"
    db.expire_all()
    case = db.get_one(Case, world.case_a.id)
    assert (case.version, case.stage, case.assigned_to, case.erasure_requested_by) == before
    assert db.scalar(select(func.count()).select_from(Document)) == docs
    assert db.scalar(select(func.count()).select_from(Referral)) == refs
    assert db.get_one(Referral, uuid.UUID(grant_world["referral"])).status == "draft"
    assert db.get_one(Task, uuid.UUID(grant_world["task"])).status == "open"
    denied = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "access.denied",
            AuditEntry.reason_code == "break_glass_read_only",
        )
    ).all()
    assert len(denied) == len(_writes(world, grant_world))
    assert {e.outcome for e in denied} == {"denied"}


def test_a_task_cannot_be_created_through_a_grant(
    client: TestClient, world: CaseWorld, grant_world: dict[str, str]
) -> None:
    body = {
        "case_id": str(world.case_a.id),
        "assigned_to": str(world.users["volunteer"].id),
        "title": "Bring the papers",
        "instructions": "Tuesday morning at the office",
    }
    r = client.post("/api/v1/tasks", json=body, headers=world.headers["worker_b"])
    assert r.status_code == 404, r.text


def test_the_grant_still_expires_for_reads(
    client: TestClient, world: CaseWorld, grant_world: dict[str, str], clock: FrozenClock
) -> None:
    url = f"/api/v1/cases/{world.case_a.id}"
    assert client.get(url, headers=world.headers["worker_b"]).status_code == 200
    clock.advance(timedelta(hours=1))
    assert client.get(url, headers=world.headers["worker_b"]).status_code == 404


def test_the_only_grant_holder_finds_the_granted_case_in_the_list(
    client: TestClient, world: CaseWorld
) -> None:
    """The case list adds the grant clause only for someone who holds a live grant; with a
    single grant in the whole system (no other holder whose grant could stand in for theirs),
    its holder finds the case by its code, and a teammate of theirs does not."""
    r = client.post(
        f"/api/v1/cases/{world.case_a.id}/break-glass",
        json={"reason": REASON},
        headers=world.headers["worker_b"],
    )
    assert r.status_code == 201, r.text
    code = {"code": world.case_a.case_code}
    found = client.post("/api/v1/cases/search", json=code, headers=world.headers["worker_b"])
    assert [c["id"] for c in found.json()["items"]] == [str(world.case_a.id)]
    other = client.post("/api/v1/cases/search", json=code, headers=world.headers["coord_b"])
    assert other.json()["items"] == []
