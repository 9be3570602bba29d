"""What a coordinator's day needs of the API: consents one at a time, a case's whole timeline,
a 409 that names the assignment and the stage, and lists people can sort and page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.security.clock import FrozenClock
from tests.casework import PERSON, Staff, audit_count, make_staff, new_case

GIVEN = "2026-11-20T10:00:00+02:00"
STORE = {"purpose": "store", "legal_basis": "consent", "given_at": GIVEN}
CONTACT = {"purpose": "contact", "legal_basis": "consent", "given_at": GIVEN}


@pytest.fixture
def staff(db: Session, clock: FrozenClock, settings: Settings) -> Staff:
    return make_staff(db, clock=clock, settings=settings)


def _case(client: TestClient, staff: Staff, who: str = "caseworker") -> dict[str, Any]:
    r = client.get(f"/api/v1/cases/{new_case(client, staff)['id']}", headers=staff.h(who))
    body: dict[str, Any] = r.json()
    return body


def _consents(client: TestClient, staff: Staff, case_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(
        f"/api/v1/cases/{case_id}", headers=staff.h("caseworker")
    ).json()["consents"]
    return found


def test_consents_are_recorded_and_withdrawn_one_at_a_time(
    client: TestClient, staff: Staff, db: Session
) -> None:
    case = _case(client, staff)
    url = f"/api/v1/cases/{case['id']}/consents"
    h = staff.h("caseworker")
    store = client.post(url, json=STORE, headers=h)
    assert store.status_code == 201, store.text
    assert store.json()["recorded_by"] == str(staff.caseworker.id)
    assert store.json()["given_at"] == "2026-11-20T08:00:00Z"  # one format for every time
    contact = client.post(url, json=CONTACT, headers=h).json()
    # A second consent leaves the first alone (a whole-list PATCH used to drop it).
    assert {c["purpose"] for c in _consents(client, staff, case["id"])} == {"store", "contact"}
    withdrawn = client.post(f"{url}/{contact['id']}/withdraw", headers=staff.h("coordinator"))
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_by"] == str(staff.coordinator.id)
    assert withdrawn.json()["withdrawn_at"].endswith("Z")
    now = {c["purpose"]: c for c in _consents(client, staff, case["id"])}
    assert now["store"]["withdrawn_at"] is None  # untouched
    assert now["contact"]["withdrawn_at"] is not None  # kept, marked withdrawn
    again = client.post(f"{url}/{contact['id']}/withdraw", headers=h)
    assert again.status_code == 409
    unknown = client.post(f"{url}/{case['id']}/withdraw", headers=h)
    assert unknown.status_code == 404
    assert audit_count(db, "case.updated") >= 3


def test_a_whole_consents_list_cannot_drop_or_revive_one(client: TestClient, staff: Staff) -> None:
    case = _case(client, staff)
    url = f"/api/v1/cases/{case['id']}"
    h = staff.h("caseworker")
    stored = client.post(f"{url}/consents", json=STORE, headers=h).json()
    version = client.get(url, headers=h).json()["version"]
    # The old way: one new consent sent alone would have replaced the store consent.
    dropped = client.patch(url, json={"version": version, "consents": [CONTACT]}, headers=h)
    assert dropped.status_code == 409
    assert dropped.json()["consent_ids"] == [stored["id"]]
    assert [c["id"] for c in _consents(client, staff, case["id"])] == [stored["id"]]
    # Sending the list back with the store consent in it and one more is fine.
    both = client.patch(url, json={"version": version, "consents": [stored, CONTACT]}, headers=h)
    assert both.status_code == 200, both.text
    withdrawn = client.post(f"{url}/consents/{stored['id']}/withdraw", headers=h).json()
    version = client.get(url, headers=h).json()["version"]
    revived = {**withdrawn, "withdrawn_at": None, "withdrawn_by": None}
    refused = client.patch(url, json={"version": version, "consents": [revived]}, headers=h)
    assert refused.status_code == 409


def test_the_timeline_tells_everything_in_order_with_who_and_when(
    client: TestClient, staff: Staff, clock: FrozenClock
) -> None:
    case = _case(client, staff)
    url = f"/api/v1/cases/{case['id']}"
    coord, worker = staff.h("coordinator"), staff.h("caseworker")
    clock.advance(timedelta(minutes=1))
    client.post(f"{url}/consents", json=STORE, headers=worker)
    clock.advance(timedelta(minutes=1))
    assert client.post(f"{url}/assign", json={"user_id": None}, headers=coord).status_code == 200
    clock.advance(timedelta(minutes=1))
    worker_id = str(staff.caseworker.id)
    assert client.post(f"{url}/assign", json={"user_id": worker_id}, headers=coord).is_success
    clock.advance(timedelta(minutes=1))
    version = client.get(url, headers=worker).json()["version"]
    client.patch(url, json={"version": version, "risk_level": "high"}, headers=worker)
    clock.advance(timedelta(minutes=1))
    moved = client.post(f"{url}/transition", json={"to": "documentation"}, headers=worker)
    assert moved.status_code == 200, moved.text
    clock.advance(timedelta(minutes=1))
    task = {
        "case_id": case["id"],
        "assigned_to": str(staff.volunteer.id),
        "title": "Meet at the station",
        "instructions": "Bring a SIM card.",
    }
    assert client.post("/api/v1/tasks", json=task, headers=worker).status_code == 201
    events = client.get(f"{url}/timeline", headers=coord).json()["items"]
    kinds = [e["kind"] for e in events]
    assert kinds == ["created", "consent", "assigned", "assigned", "updated", "stage", "task"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assigned = events[3]
    assert assigned["actor_id"] == str(staff.coordinator.id)
    assert assigned["changes"]["assigned_to"] == {"old": None, "new": worker_id}
    assert events[5]["changes"]["stage"] == {"old": "intake", "new": "documentation"}
    assert events[0]["changes"]["legal_name"]["new"] == PERSON["legal_name"]
    assert events[-1]["object_type"] == "task"
    assert events[-1]["status"] == "open"
    # The history is the field revisions: stage and assignment included, newest first.
    history = client.get(f"{url}/history", headers=coord).json()["items"]
    assert history[0]["fields"] == ["stage"]
    assert client.get(f"{url}/timeline", headers=staff.h("volunteer")).status_code == 403
    outsider = staff.h("outsider_coordinator")
    assert client.get(f"{url}/timeline", headers=outsider).status_code == 404


def test_a_stale_writer_is_told_of_the_assignment_and_the_stage(
    client: TestClient, staff: Staff
) -> None:
    case = _case(client, staff)
    url = f"/api/v1/cases/{case['id']}"
    worker, coord = staff.h("caseworker"), staff.h("coordinator")
    read = client.get(url, headers=worker).json()["version"]
    client.post(f"{url}/consents", json=STORE, headers=worker)
    v = client.get(url, headers=worker).json()["version"]
    client.patch(url, json={"version": v, "risk_level": "medium"}, headers=worker)
    assert client.post(f"{url}/transition", json={"to": "documentation"}, headers=coord).is_success
    client.post(f"{url}/assign", json={"user_id": None}, headers=coord)
    stale = client.patch(url, json={"version": read, "unit": "another unit"}, headers=coord)
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert stale.json()["changed_fields"] == ["assigned_to", "consents", "risk_level", "stage"]


def test_lists_sort_page_and_answer_one_envelope(
    client: TestClient, staff: Staff, clock: FrozenClock
) -> None:
    made = []
    for risk in ("low", "critical", "medium"):
        clock.advance(timedelta(minutes=1))
        made.append(new_case(client, staff, situation="deserted", risk_level=risk))
    soon = (date.today() + timedelta(days=3)).isoformat()  # noqa: DTZ011 - a calendar day
    later = (date.today() + timedelta(days=30)).isoformat()  # noqa: DTZ011 - a calendar day
    for case, day in ((made[0], later), (made[2], soon)):
        v = client.get(f"/api/v1/cases/{case['id']}", headers=staff.h("caseworker")).json()
        body = {
            "version": v["version"],
            "protection": {"hearings": [{"on": day}], "deadlines": []},
        }
        r = client.patch(f"/api/v1/cases/{case['id']}", json=body, headers=staff.h("caseworker"))
        assert r.status_code == 200, r.text
    h = staff.h("coordinator")

    def ids(query: str) -> list[str]:
        page = client.get(f"/api/v1/cases?{query}", headers=h).json()
        assert set(page) == {"items", "page", "per_page", "total", "total_capped"}
        return [c["id"] for c in page["items"]]

    a, b, c = (m["id"] for m in made)
    assert ids("sort=-risk") == [b, c, a]
    assert ids("sort=risk") == [a, c, b]
    assert ids("sort=due") == [c, a, b]  # the nearest hearing first, none last
    assert ids("sort=created") == [a, b, c]
    assert ids("sort=-created") == [c, b, a]
    assert ids("per_page=2&sort=created") == [a, b]
    assert ids("per_page=2&page=2&sort=created") == [c]
    assert client.get("/api/v1/cases?per_page=201", headers=h).status_code == 422
    assert client.get("/api/v1/cases?sort=name", headers=h).status_code == 422
    # "My cases": the caseworker's own; a coordinator is assigned none.
    assert set(ids("mine=true")) == set()
    mine = client.get("/api/v1/cases?mine=true", headers=staff.h("caseworker")).json()
    assert mine["total"] == 3
    # Every list answers the envelope (and whether counting stopped at the cap); times end
    # in Z.
    for url in ("/api/v1/tasks", "/api/v1/partners", "/api/v1/break-glass"):
        page = client.get(url, headers=h).json()
        assert set(page) == {"items", "page", "per_page", "total", "total_capped"}, url
        assert page["total_capped"] is False
    item = client.get("/api/v1/cases?per_page=1", headers=h).json()["items"][0]
    assert item["created_at"].endswith("Z")
    assert datetime.fromisoformat(item["created_at"]).tzinfo == UTC
