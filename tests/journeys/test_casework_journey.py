"""The whole path of one person through Haven, over the API, on both databases: public
self-referral -> triage queue -> assignment -> duplicate check -> gates refusing with
reasons, then opening -> volunteer task -> closure -> erasure by two coordinators.

Every refusal on the way is a 4xx naming the field or what is missing, and the database is
checked after each one: nothing half-written. On the way: a summons uploaded and read back,
a volunteer task past the leak guard, and a referral whose packet the partner opens with
their own key, off the server. Invented people only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import Case, CaseRevision, StageChange
from app.config import Settings
from app.referrals.packet import PacketError, encode_public_key, open_packet
from app.security.clock import FrozenClock
from app.tasks.models import Task
from tests.casework import Staff, make_staff

REQUEST = {
    "pseudonym": "Лесник",
    "contacts": [{"channel": "telegram", "value": "@lesnik_safe"}],
    "message": "Ушёл из части под Белгородом, сейчас в Тбилиси.",
    "citizenship": "RU",
}
CONSENT = {"purpose": "store", "legal_basis": "consent", "given_at": "2026-11-20T10:00:00+00:00"}


@pytest.fixture
def staff(db: Session, clock: FrozenClock, settings: Settings) -> Staff:
    made = make_staff(db, clock=clock, settings=settings)
    settings.intake_team = made.team.name
    return made


def snapshot(db: Session, case_id: uuid.UUID) -> tuple[Any, ...]:
    """Everything a refused request could have half-written."""
    db.expire_all()
    case = db.get_one(Case, case_id)

    def count(model: Any) -> int:
        stmt = select(func.count()).select_from(model).where(model.case_id == case_id)
        return int(db.scalar(stmt) or 0)

    return (
        case.version,
        case.stage,
        case.assigned_to,
        case.risk_level,
        tuple(case.needs or ()),
        case.erasure_requested_by,
        count(CaseRevision),
        count(StageChange),
        count(Task),
    )


class Journey:
    """The client, the staff and the case under way, with refusal checks."""

    def __init__(self, client: TestClient, db: Session, staff: Staff) -> None:
        self.client, self.db, self.staff = client, db, staff
        self.case_id = uuid.uuid4()

    @property
    def url(self) -> str:
        return f"/api/v1/cases/{self.case_id}"

    def refused(self, method: str, path: str, who: str, body: Any, status: int) -> dict[str, Any]:
        """Send a request that must be refused with `status`, changing nothing."""
        before = snapshot(self.db, self.case_id)
        r = self.client.request(method, path, json=body, headers=self.staff.h(who))
        assert r.status_code == status, r.text
        assert snapshot(self.db, self.case_id) == before
        out: dict[str, Any] = r.json()
        return out

    def ok(self, method: str, path: str, who: str, body: Any = None, status: int = 200) -> Any:
        r = self.client.request(method, path, json=body, headers=self.staff.h(who))
        assert r.status_code == status, r.text
        return r.json()

    def version(self) -> int:
        self.db.expire_all()
        return self.db.get_one(Case, self.case_id).version

    def patch(self, who: str, **changes: Any) -> Any:
        return self.ok("PATCH", self.url, who, {"version": self.version(), **changes})

    def move(self, to: str) -> Any:
        return self.ok("POST", f"{self.url}/transition", "caseworker", {"to": to})

    def refused_move(self, to: str, missing: list[str]) -> None:
        body = self.refused("POST", f"{self.url}/transition", "caseworker", {"to": to}, 409)
        assert body["code"] == "stage_gate_failed"
        assert [m.split(":")[0] for m in body["missing"]] == missing


def test_a_person_from_self_referral_to_erasure(
    client: TestClient, db: Session, staff: Staff
) -> None:
    j = Journey(client, db, staff)
    # A public request; the answer says nothing about the case.
    assert client.post("/api/v1/requests", json={**REQUEST, "contacts": []}).status_code == 422
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    assert client.post("/api/v1/requests", json=REQUEST).status_code == 202
    # The coordinator finds it in the unassigned queue.
    queue = j.ok("GET", "/api/v1/cases?assigned_to=none", "coordinator")
    [item] = queue["items"]
    j.case_id = uuid.UUID(item["id"])
    assert item["stage"] == "intake"
    assert "aliases" not in item  # the list shape carries nothing identifying
    assert j.ok("GET", "/api/v1/cases?assigned_to=none", "caseworker")["items"] == []
    # Assignment: only to a caseworker of the team, only by a coordinator.
    body = j.refused(
        "POST", f"{j.url}/assign", "coordinator", {"user_id": str(staff.volunteer.id)}, 422
    )
    assert body["errors"][0]["field"] == "user_id"
    j.refused("POST", f"{j.url}/assign", "caseworker", {"user_id": str(staff.caseworker.id)}, 403)
    # Nobody contacts the person before the request is judged.
    unjudged = j.refused(
        "POST", f"{j.url}/assign", "coordinator", {"user_id": str(staff.caseworker.id)}, 409
    )
    assert unjudged["code"] == "vetting_required"
    j.ok("POST", f"{j.url}/vetting", "coordinator", {"status": "verified", "version": 1})
    j.ok("POST", f"{j.url}/assign", "coordinator", {"user_id": str(staff.caseworker.id)})
    assert j.ok("GET", "/api/v1/cases?assigned_to=none", "coordinator")["items"] == []
    # Duplicate check on the handle the person gave.
    j.refused("POST", "/api/v1/cases/duplicates", "caseworker", {}, 422)
    dup = j.ok("POST", "/api/v1/cases/duplicates", "caseworker", {"handle": "lesnik_safe"})
    assert [m["id"] for m in dup["matches"]] == [str(j.case_id)]
    # Documentation is refused until consent and risk are recorded.
    j.refused_move("documentation", ["consents", "risk_level"])
    bad = j.refused(
        "PATCH", j.url, "caseworker", {"version": 1, "consents": [{"purpose": "store"}]}, 422
    )
    assert bad["errors"][0]["field"].startswith("consents.0")
    bad = j.refused("PATCH", j.url, "caseworker", {"version": 1, "risk_level": "extreme"}, 422)
    assert bad["errors"][0]["field"] == "risk_level"
    j.patch("caseworker", legal_name="Тимур Рашидович Галиев", date_of_birth="1996-05-02")
    stale = j.refused("PATCH", j.url, "caseworker", {"version": 1, "risk_level": "high"}, 409)
    # The 409 names everything changed since version 1, the judgement and assignment included.
    assert stale["changed_fields"] == ["assigned_to", "date_of_birth", "legal_name", "vetting"]
    stored = j.ok("POST", f"{j.url}/consents", "caseworker", CONSENT, status=201)
    assert stored["recorded_by"] == str(staff.caseworker.id)
    j.patch("caseworker", risk_level="high")
    assert j.move("documentation")["stage"] == "documentation"
    # A photo of the summons, encrypted on the way in, identical on the way out.
    summons = b"\x89PNG\r\n\x1a\n" + b"synthetic summons scan " * 2000
    up = client.post(
        f"{j.url}/documents",
        files={"file": ("summons.png", summons, "image/png")},
        headers=staff.h("caseworker"),
    )
    assert up.status_code == 201, up.text
    assert up.json()["content_type"] == "image/png"
    back = client.get(f"{j.url}/documents/{up.json()['id']}", headers=staff.h("caseworker"))
    assert back.content == summons
    assert client.get(f"{j.url}/documents", headers=staff.h("volunteer")).status_code == 403
    # A volunteer task: the guard refuses the person's name, then the volunteer does it.
    task = {"case_id": str(j.case_id), "assigned_to": str(staff.volunteer.id)}
    leak = {**task, "title": "Meet Timur Galiev", "instructions": "At the station."}
    assert j.refused("POST", "/api/v1/tasks", "caseworker", leak, 422)["errors"][0]["field"] == (
        "title"
    )
    clean = {**task, "title": "Meet at the station", "instructions": "Thursday, 14:00."}
    made = j.ok("POST", "/api/v1/tasks", "caseworker", clean, status=201)
    for status in ("accepted", "done"):
        j.ok("PATCH", f"/api/v1/tasks/{made['id']}", "volunteer", {"status": status})
    # Referral needs a documented need.
    j.refused_move("referral", ["needs"])
    j.refused("PATCH", j.url, "caseworker", {"version": j.version(), "needs": ["legal", "x"]}, 422)
    j.patch("caseworker", needs=["legal", "asylum"])
    assert j.move("referral")["stage"] == "referral"
    j.refused_move("follow_up", ["referrals"])
    # A referral to an asylum lawyer: only with consent to share with exactly that partner,
    # only the fields ticked, as a packet the partner opens with their own key.
    partner_key = X25519PrivateKey.generate()
    partner = j.ok(
        "POST",
        "/api/v1/partners",
        "coordinator",
        {
            "name": "Synthetic asylum lawyers e.V.",
            "services": ["asylum", "legal"],
            "countries": ["DE"],
            "public_key": encode_public_key(partner_key.public_key()),
        },
        status=201,
    )
    ticked = ["legal_name", "date_of_birth", "situation", "criminal_case"]
    referral = {"partner_id": partner["id"], "fields": ticked, "note": "Hearing soon."}
    j.refused("POST", f"{j.url}/referrals", "caseworker", referral, 409)
    share = {
        "purpose": "share_with_partner",
        "partner": partner["id"],
        "legal_basis": "consent",
        "given_at": "2026-11-21T10:00:00+00:00",
    }
    # Sending a whole list without the store consent would drop it: refused, nothing lost.
    dropped = j.refused(
        "PATCH", j.url, "caseworker", {"version": j.version(), "consents": [share]}, 409
    )
    assert dropped["consent_ids"] == [stored["id"]]
    j.ok("POST", f"{j.url}/consents", "caseworker", share, status=201)
    j.patch("caseworker", criminal_case={"article": "337"})
    made_ref = j.ok("POST", f"{j.url}/referrals", "caseworker", referral, status=201)
    assert made_ref["status"] == "draft"
    j.refused_move("follow_up", ["referrals"])  # a draft is not a sent referral
    ref_url = f"/api/v1/referrals/{made_ref['id']}"
    j.ok("PATCH", ref_url, "coordinator", {"status": "sent"})
    packet = client.get(f"{ref_url}/packet", headers=staff.h("coordinator"))
    assert packet.status_code == 200
    assert "Галиев".encode() not in packet.content
    opened = open_packet(packet.content, partner_key).body
    assert set(opened["fields"]) == set(ticked)
    assert opened["fields"]["legal_name"] == "Тимур Рашидович Галиев"
    assert opened["fields"]["criminal_case"]["article"] == "337"
    with pytest.raises(PacketError):
        open_packet(packet.content, X25519PrivateKey.generate())
    assert j.move("follow_up")["stage"] == "follow_up"
    # Closure needs an outcome and a closing note.
    j.refused_move("closed", ["outcome", "closing_note"])
    j.patch("caseworker", outcome="Asylum claim lodged in Germany.")
    j.refused_move("closed", ["closing_note"])
    j.patch("caseworker", closing_note="Handed over to the asylum lawyer; closed.")
    assert j.move("closed")["stage"] == "closed"
    history = j.ok("GET", f"{j.url}/history", "coordinator")["items"]
    assert len(history) >= 6
    assert {"stage", "assigned_to"} <= {f for rev in history for f in rev["fields"]}
    # Erasure: four eyes.
    j.refused("DELETE", j.url, "caseworker", None, 403)
    assert j.ok("DELETE", j.url, "coordinator", status=202)["status"] == (
        "awaiting_second_coordinator"
    )
    j.refused("DELETE", j.url, "coordinator", None, 409)
    assert j.ok("DELETE", j.url, "coordinator2")["status"] == "erased"
    for who in ("coordinator", "caseworker"):
        r = client.get(j.url, headers=staff.h(who))
        assert r.status_code == 404
    assert client.get("/api/v1/tasks", headers=staff.h("volunteer")).json()["items"] == []
    db.expire_all()
    assert db.get(Case, j.case_id) is None
