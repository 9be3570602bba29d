"""Subject access export: coordinators only, after re-authentication; everything held about
the person; an attachment that is never cached; audited without values."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.security.clock import FrozenClock
from tests.casework import PERSON, Staff, make_staff, new_case
from tests.factories import auth, bearer


@pytest.fixture
def staff(db: Session, clock: FrozenClock, settings: Settings) -> Staff:
    return make_staff(db, clock=clock, settings=settings)


def test_export_holds_everything_about_the_person(
    client: TestClient, db: Session, staff: Staff
) -> None:
    case = new_case(client, staff)
    url = f"/api/v1/cases/{case['id']}"
    client.patch(url, json={"version": 1, "unit": "в/ч 11111"}, headers=staff.h("caseworker"))
    task = {
        "case_id": case["id"],
        "assigned_to": str(staff.volunteer.id),
        "title": "Buy a ticket",
        "instructions": "One ticket for Saturday.",
    }
    assert client.post("/api/v1/tasks", json=task, headers=staff.h("caseworker")).status_code == 201
    r = client.get(f"{url}/export", headers=staff.h("coordinator"))
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'attachment; filename="{case["case_code"]}.json"'
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["case"]["legal_name"] == PERSON["legal_name"]
    assert body["case"]["unit"] == "в/ч 11111"
    assert [rev["version"] for rev in body["revisions"]] == [1, 2]
    assert body["revisions"][1]["changes"]["unit"]["old"] == PERSON["unit"]
    assert body["stage_history"][0]["to"] == "intake"
    assert body["tasks"][0]["instructions"] == "One ticket for Saturday."
    assert body["documents"] == []
    assert body["referrals"] == []
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "case.exported")).one()
    assert entry.actor_id == staff.coordinator.id
    assert PERSON["legal_name"] not in str(entry.fields)


def test_export_is_for_re_authenticated_coordinators_of_the_case(
    client: TestClient, db: Session, staff: Staff, clock: FrozenClock, settings: Settings
) -> None:
    case = new_case(client, staff)
    url = f"/api/v1/cases/{case['id']}/export"
    assert client.get(url, headers=staff.h("caseworker")).status_code == 403
    assert client.get(url, headers=staff.h("volunteer")).status_code == 403
    assert client.get(url, headers=staff.h("outsider_coordinator")).status_code == 404
    stale = auth(bearer(db, staff.coordinator, clock=clock, settings=settings, reauth=False))
    r = client.get(url, headers=stale)
    assert r.status_code == 403
    assert r.json()["code"] == "reauth_required"
    assert PERSON["legal_name"] not in r.text
