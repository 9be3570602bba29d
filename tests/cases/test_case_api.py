"""The case API: intake, full read, versioned updates, history, stages, assignment, search.

All people here are invented."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases.models import Case, CaseRevision
from tests.cases.conftest import Org

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC).isoformat()
PERSON: dict[str, Any] = {
    "legal_name": "Тимофей Андреевич Колосовский",
    "aliases": ["Timofey Kolosovsky"],
    "date_of_birth": "1994-03-14",
    "citizenship": "RU",
    "current_country": "GE",
    "current_city": "Tbilisi",
    "situation": "deserted",
    "contacts": [
        {"channel": "phone", "value": "+7 916 123-45-67"},
        {"channel": "telegram", "value": "@kolos_tim77"},
    ],
    "service_status": "mobilised",
    "unit": "Invented unit 00000",
    "criminal_case": {"article": "337", "status": "opened"},
    "intake_notes": "Left the unit in Belgorod region (synthetic).",
}
STORE_CONSENT = {"purpose": "store", "legal_basis": "consent", "given_at": NOW}


def _create(client: TestClient, org: Org, who: str = "caseworker", **extra: Any) -> dict[str, Any]:
    r = client.post("/api/v1/cases", json={**PERSON, **extra}, headers=org.headers[who])
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_caseworker_intake_is_encrypted_assigned_and_read_back(
    client: TestClient, org: Org, db: Session
) -> None:
    body = _create(client, org)
    assert body["stage"] == "intake"
    assert body["assigned_to"] == str(org.caseworker.id)
    assert body["legal_name"] == PERSON["legal_name"]
    assert body["contacts"] == PERSON["contacts"]
    assert body["case_code"].startswith("HV-")
    case = db.get(Case, uuid.UUID(body["id"]))
    assert case is not None
    assert repr(case.legal_name).startswith("Ciphertext(")
    assert PERSON["legal_name"].encode() not in (case.legal_name.data if case.legal_name else b"")
    again = client.get(f"/api/v1/cases/{body['id']}", headers=org.headers["caseworker"]).json()
    assert again["criminal_case"] == {"article": "337", "status": "opened", "notes": None}


def test_coordinator_intake_lands_unassigned_in_the_queue(client: TestClient, org: Org) -> None:
    body = _create(client, org, who="coordinator")
    assert body["assigned_to"] is None
    queue = client.get("/api/v1/cases?assigned_to=none", headers=org.headers["coordinator"])
    assert body["id"] in {c["id"] for c in queue.json()["items"]}


def test_bad_input_names_the_field_and_writes_nothing(
    client: TestClient, org: Org, db: Session
) -> None:
    before = db.scalar(select(func.count()).select_from(Case))
    r = client.post(
        "/api/v1/cases",
        json={**PERSON, "date_of_birth": "1994-02-30", "citizenship": "XX"},
        headers=org.headers["caseworker"],
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"date_of_birth", "citizenship"}
    assert "Колосовский" not in r.text
    assert db.scalar(select(func.count()).select_from(Case)) == before


def test_the_list_shape_has_no_identifying_field(client: TestClient, org: Org) -> None:
    _create(client, org)
    items = client.get("/api/v1/cases", headers=org.headers["caseworker"]).json()["items"]
    assert items
    for item in items:
        assert not {"legal_name", "aliases", "date_of_birth", "contacts", "unit"} & set(item)


def test_personal_terms_in_a_url_are_refused(client: TestClient, org: Org) -> None:
    r = client.get("/api/v1/cases?name=Kolosovsky", headers=org.headers["caseworker"])
    assert r.status_code == 422


def test_update_needs_the_current_version_and_names_what_changed(
    client: TestClient, org: Org
) -> None:
    body = _create(client, org)
    url, h = f"/api/v1/cases/{body['id']}", org.headers["caseworker"]
    first = client.patch(url, json={"version": body["version"], "unit": "Other unit"}, headers=h)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == body["version"] + 1
    stale = client.patch(url, json={"version": body["version"], "risk_level": "high"}, headers=h)
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert stale.json()["changed_fields"] == ["unit"]
    assert client.get(url, headers=h).json()["risk_level"] is None


def test_history_keeps_old_and_new_values_encrypted(
    client: TestClient, org: Org, db: Session
) -> None:
    body = _create(client, org)
    url, h = f"/api/v1/cases/{body['id']}", org.headers["caseworker"]
    client.patch(url, json={"version": body["version"], "unit": "Other unit"}, headers=h)
    history = client.get(f"{url}/history", headers=h).json()["items"]
    assert history[0]["fields"] == ["unit"]
    assert history[0]["changes"]["unit"] == {"old": "Invented unit 00000", "new": "Other unit"}
    assert history[-1]["changes"]["legal_name"]["new"] == PERSON["legal_name"]
    raw = db.scalars(select(CaseRevision.changes)).all()
    assert all(b"Other unit" not in ct.data for ct in raw)


def test_gates_name_what_is_missing_then_open(client: TestClient, org: Org) -> None:
    body = _create(client, org)
    url, h = f"/api/v1/cases/{body['id']}", org.headers["caseworker"]
    refused = client.post(f"{url}/transition", json={"to": "documentation"}, headers=h)
    assert refused.status_code == 409
    assert refused.json()["code"] == "stage_gate_failed"
    assert refused.json()["missing"] == [
        "consents: recorded consent (or legal basis) to store",
        "risk_level",
    ]
    patch = {"version": body["version"], "risk_level": "high", "consents": [STORE_CONSENT]}
    assert client.patch(url, json=patch, headers=h).status_code == 200
    moved = client.post(f"{url}/transition", json={"to": "documentation"}, headers=h)
    assert moved.status_code == 200, moved.text
    assert moved.json()["stage"] == "documentation"
    skip = client.post(f"{url}/transition", json={"to": "follow_up"}, headers=h)
    assert skip.status_code == 409
    assert skip.json()["code"] == "transition_not_allowed"


def test_closure_needs_outcome_and_note_and_only_a_coordinator_reopens(
    client: TestClient, org: Org
) -> None:
    body = _create(client, org)
    url = f"/api/v1/cases/{body['id']}"
    cw, co = org.headers["caseworker"], org.headers["coordinator"]
    refused = client.post(f"{url}/transition", json={"to": "closed"}, headers=cw)
    assert refused.json()["missing"] == ["outcome", "closing_note"]
    patch = {"version": body["version"], "outcome": "Reached safety", "closing_note": "Done."}
    assert client.patch(url, json=patch, headers=cw).status_code == 200
    closed = client.post(f"{url}/transition", json={"to": "closed"}, headers=cw)
    assert closed.status_code == 200, closed.text
    assert client.post(f"{url}/transition", json={"to": "intake"}, headers=cw).status_code == 409
    wrong = client.post(f"{url}/transition", json={"to": "referral"}, headers=co)
    assert wrong.status_code == 409
    assert wrong.json()["allowed"] == ["intake"]
    reopened = client.post(f"{url}/transition", json={"to": "intake"}, headers=co)
    assert reopened.status_code == 200
    assert reopened.json()["stage"] == "intake"


def test_assignment_only_to_a_caseworker_of_the_team(client: TestClient, org: Org) -> None:
    body = _create(client, org, who="coordinator")
    url, h = f"/api/v1/cases/{body['id']}/assign", org.headers["coordinator"]
    for wrong in (org.outsider.id, org.volunteer.id, org.coordinator2.id):
        r = client.post(url, json={"user_id": str(wrong)}, headers=h)
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "user_id"
    ok = client.post(url, json={"user_id": str(org.caseworker2.id)}, headers=h)
    assert ok.json()["assigned_to"] == str(org.caseworker2.id)
    assert client.get(f"/api/v1/cases/{body['id']}", headers=org.headers["caseworker2"]).is_success
    denied = client.post(url, json={"user_id": None}, headers=org.headers["caseworker2"])
    assert denied.status_code == 403


def test_search_by_name_crosses_scripts_and_spellings(client: TestClient, org: Org) -> None:
    body = _create(client, org)
    h = org.headers["caseworker"]
    for query in ("Колосовский", "Kolosovskiy", "KOLOSOVSKY Timofei", "Тимофей"):
        r = client.post("/api/v1/cases/search", json={"name": query}, headers=h)
        assert [c["id"] for c in r.json()["items"]] == [body["id"]], query
        assert "legal_name" not in r.json()["items"][0]
    miss = client.post("/api/v1/cases/search", json={"name": "Petrov"}, headers=h)
    assert miss.json()["items"] == []
    # The Russian trunk prefix 8 dials the same number as +7.
    for number in ("89161234567", "+7 (916) 1234567"):
        phone = client.post("/api/v1/cases/search", json={"phone": number}, headers=h)
        assert [c["id"] for c in phone.json()["items"]] == [body["id"]]
    other = client.post("/api/v1/cases/search", json={"phone": "+7 916 765-43-21"}, headers=h)
    assert other.json()["total"] == 0


def test_search_is_audited_without_the_terms(client: TestClient, org: Org, db: Session) -> None:
    client.post(
        "/api/v1/cases/search", json={"name": "Kolosovsky"}, headers=org.headers["caseworker"]
    )
    entry = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "case.searched")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None
    assert entry.fields == ["name"]
    assert "Kolosovsky" not in str(entry.__dict__)


def test_duplicates_in_and_out_of_scope(client: TestClient, org: Org) -> None:
    body = _create(client, org)
    probe = {"legal_name": "Kolosovsky Timofey", "date_of_birth": "1994-03-14"}
    mine = client.post("/api/v1/cases/duplicates", json=probe, headers=org.headers["caseworker"])
    assert [m["id"] for m in mine.json()["matches"]] == [body["id"]]
    assert mine.json()["outside_scope"] is False
    theirs = client.post("/api/v1/cases/duplicates", json=probe, headers=org.headers["outsider"])
    assert theirs.json() == {"matches": [], "outside_scope": True}
    by_handle = client.post(
        "/api/v1/cases/duplicates", json={"handle": "KOLOS_TIM77"}, headers=org.headers["outsider"]
    )
    assert by_handle.json()["outside_scope"] is True
    other = client.post(
        "/api/v1/cases/duplicates",
        json={"legal_name": "Kolosovsky Timofey", "date_of_birth": "1994-03-15"},
        headers=org.headers["caseworker"],
    )
    assert other.json() == {"matches": [], "outside_scope": False}
    empty = client.post("/api/v1/cases/duplicates", json={}, headers=org.headers["caseworker"])
    assert empty.status_code == 422


def test_out_of_scope_case_is_404_for_every_case_route(client: TestClient, org: Org) -> None:
    body = _create(client, org)
    h = org.headers["outsider"]
    url = f"/api/v1/cases/{body['id']}"
    assert client.get(url, headers=h).status_code == 404
    assert client.get(f"{url}/history", headers=h).status_code == 404
    assert client.patch(url, json={"version": 1, "unit": "x"}, headers=h).status_code == 404
    assert client.post(f"{url}/transition", json={"to": "closed"}, headers=h).status_code == 404
