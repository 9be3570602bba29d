"""Volunteer tasks through the API: the leak guard refuses identifying text (naming the
field and kind, never the data), volunteers see exactly their own tasks in the contract
shape, and each role may change only what it should. Invented people only."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.crypto.keyring import Keyring
from app.security.clock import FrozenClock
from app.tasks import service
from app.tasks.errors import TaskMoveNotAllowed
from app.tasks.models import Task
from app.users.models import TeamMembership
from tests.casework import PERSON, Staff, audit_count, make_staff, new_case
from tests.factories import actor_of, changed_meanwhile

CONTRACT_SHAPE = {"id", "case_code", "title", "instructions", "place", "due", "status", "note"}
CLEAN = {
    "title": "Meet at the railway station",
    "instructions": "Thursday 14:00 under the clock; bring a SIM card; ask for 'Misha'.",
    "place": "Astana, central station",
    "due": "2026-12-03T14:00:00+05:00",
}


@pytest.fixture
def staff(db: Session, clock: FrozenClock, settings: Settings) -> Staff:
    return make_staff(db, clock=clock, settings=settings)


@pytest.fixture
def case(client: TestClient, staff: Staff) -> dict[str, Any]:
    return new_case(client, staff)


def _create(client: TestClient, staff: Staff, case: dict[str, Any], **over: Any) -> Any:
    body = {"case_id": case["id"], "assigned_to": str(staff.volunteer.id), **CLEAN, **over}
    return client.post("/api/v1/tasks", json=body, headers=staff.h("caseworker"))


def _tasks(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Task)) or 0)


def test_caseworker_creates_a_task_encrypted_and_audited(
    client: TestClient, db: Session, staff: Staff, case: dict[str, Any]
) -> None:
    r = _create(client, staff, case)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "open"
    assert body["case_code"] == case["case_code"]
    assert body["title"] == CLEAN["title"]
    assert audit_count(db, "task.created") == 1
    raw = db.execute(text("SELECT title, instructions, place FROM tasks")).one()
    for column in raw:
        assert b"railway" not in bytes(column)
        assert b"Misha" not in bytes(column)
        assert b"Astana" not in bytes(column)


LEAKS = [
    ("title", "Meet Всеволод at the station", "name"),
    ("title", "Meet Przhevaltsev at the station", "name"),
    ("instructions", "Ask for P r z h e v a l t s e v at the desk", "name"),
    ("instructions", "Ask for Сева\u200b Жук", "alias"),
    ("instructions", "Write to him on @sevazhuk_tg first", "handle"),
    ("instructions", "Call +7 916 555-01-23 when there", "phone"),
    ("place", "Born 23.07.1991 — ask at the desk", "birth_date"),
    ("place", "Meet Vsevolod", "name"),
]


@pytest.mark.parametrize(("field", "value", "kind"), LEAKS)
def test_leak_guard_refuses_identifying_text_on_create(
    client: TestClient,
    db: Session,
    staff: Staff,
    case: dict[str, Any],
    field: str,
    value: str,
    kind: str,
) -> None:
    before = _tasks(db)
    r = _create(client, staff, case, **{field: value})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "identifying_data"
    [error] = [e for e in body["errors"] if e["field"] == field]
    assert kind in error["kinds"]
    # The answer names the field and the kind, never the data found.
    for secret in (value, "Всеволод", "Przhevaltsev", "sevazhuk", "555", "1991", "Сева"):
        assert secret not in r.text
    assert _tasks(db) == before
    assert audit_count(db, "task.created") == 0


def test_volunteer_sees_exactly_the_contract_shape_and_nothing_of_the_person(
    client: TestClient, staff: Staff, case: dict[str, Any]
) -> None:
    assert _create(client, staff, case).status_code == 201
    r = client.get("/api/v1/tasks", headers=staff.h("volunteer"))
    assert r.status_code == 200
    [task] = r.json()["items"]
    assert set(task) == CONTRACT_SHAPE
    # The whole answer, every byte: no value of the case but its code.
    for value in _leaf_values(PERSON):
        assert value not in r.text, value
    assert case["id"] not in r.text
    assert str(staff.caseworker.id) not in r.text


def _leaf_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for x in value.values() for v in _leaf_values(x)]
    if isinstance(value, list):
        return [v for x in value for v in _leaf_values(x)]
    text_value = str(value)
    return [text_value, json.dumps(text_value)[1:-1]]


def test_staff_see_the_full_task_of_cases_in_scope(
    client: TestClient, staff: Staff, case: dict[str, Any]
) -> None:
    assert _create(client, staff, case).status_code == 201
    for who in ("caseworker", "coordinator"):
        [task] = client.get("/api/v1/tasks", headers=staff.h(who)).json()["items"]
        assert task["case_id"] == case["id"]
        assert task["assigned_to"] == str(staff.volunteer.id)
    assert (
        client.get("/api/v1/tasks", headers=staff.h("outsider_coordinator")).json()["items"] == []
    )


def test_volunteer_cannot_reach_another_volunteers_task(
    client: TestClient, staff: Staff, case: dict[str, Any]
) -> None:
    task_id = _create(client, staff, case).json()["id"]
    for who in ("volunteer2", "outsider_volunteer"):
        assert client.get("/api/v1/tasks", headers=staff.h(who)).json()["items"] == []
        r = client.patch(
            f"/api/v1/tasks/{task_id}", json={"status": "accepted"}, headers=staff.h(who)
        )
        assert r.status_code == 404
    missing = client.patch(
        f"/api/v1/tasks/{uuid.uuid4()}", json={"note": "x"}, headers=staff.h("volunteer")
    )
    assert missing.status_code == 404


def test_volunteer_accepts_completes_and_notes(
    client: TestClient, db: Session, staff: Staff, case: dict[str, Any]
) -> None:
    task_id = _create(client, staff, case).json()["id"]
    url, vol = f"/api/v1/tasks/{task_id}", staff.h("volunteer")
    early = client.patch(url, json={"status": "done"}, headers=vol)
    assert early.status_code == 409
    assert early.json()["allowed"] == ["accepted"]
    r = client.patch(url, json={"status": "accepted"}, headers=vol)
    assert r.status_code == 200
    assert set(r.json()) == CONTRACT_SHAPE
    r = client.patch(url, json={"status": "done", "note": "Handed over the SIM card."}, headers=vol)
    assert r.json()["status"] == "done"
    assert r.json()["note"] == "Handed over the SIM card."
    assert audit_count(db, "task.updated") == 2


@pytest.mark.parametrize(
    "body",
    [
        {"title": "Something else"},
        {"instructions": "Other"},
        {"status": "cancelled"},
        {"assigned_to": str(uuid.uuid4())},
        {"due": "2026-12-04T10:00:00+00:00"},
    ],
)
def test_volunteer_may_not_edit_the_task(
    client: TestClient, staff: Staff, case: dict[str, Any], body: dict[str, Any]
) -> None:
    task_id = _create(client, staff, case).json()["id"]
    r = client.patch(f"/api/v1/tasks/{task_id}", json=body, headers=staff.h("volunteer"))
    assert r.status_code in (403, 409), r.text
    after = client.get("/api/v1/tasks", headers=staff.h("caseworker")).json()["items"][0]
    assert after["title"] == CLEAN["title"]
    assert after["status"] == "open"


def test_a_volunteers_attempt_at_the_case_teams_fields_is_recorded(
    client: TestClient, db: Session, staff: Staff, case: dict[str, Any]
) -> None:
    """A volunteer rewriting a task's text or handing it on is refused and recorded, as any
    refused access is: a pattern of such attempts is what the auditor looks for."""
    task_id = _create(client, staff, case).json()["id"]
    url = f"/api/v1/tasks/{task_id}"
    for body in ({"title": "Something else"}, {"assigned_to": str(staff.volunteer2.id)}):
        assert client.patch(url, json=body, headers=staff.h("volunteer")).status_code == 403
    reasons = db.scalars(
        select(AuditEntry.reason_code).where(
            AuditEntry.action == "access.denied", AuditEntry.object_id == task_id
        )
    )
    assert sorted(reasons) == ["volunteer_field:assigned_to", "volunteer_field:title"]


def test_volunteer_note_is_checked_for_contact_details_only(
    client: TestClient, staff: Staff, case: dict[str, Any]
) -> None:
    """Contact details are refused; the person's identity is not checked in a volunteer's
    own note, so a refusal cannot confirm a guessed name
    (tests/tasks/test_volunteer_note_confirms_no_guess.py)."""
    task_id = _create(client, staff, case).json()["id"]
    r = client.patch(
        f"/api/v1/tasks/{task_id}",
        json={"note": "He asked me to call +7 916 123-45-67 later"},
        headers=staff.h("volunteer"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "note"
    assert "916" not in r.text
    long = client.patch(
        f"/api/v1/tasks/{task_id}", json={"note": "x" * 501}, headers=staff.h("volunteer")
    )
    assert long.status_code == 422


def test_a_volunteer_taken_off_the_team_reaches_none_of_its_tasks_at_once(
    client: TestClient, db: Session, staff: Staff, case: dict[str, Any]
) -> None:
    """Taking a suspected infiltrator off the team applies at once: their task of the team's
    case is gone from their list and answers 404, and the meeting point the coordinator
    moves afterwards never reaches them."""
    task_id = _create(client, staff, case).json()["id"]
    url, vol = f"/api/v1/tasks/{task_id}", staff.h("volunteer")
    assert [t["id"] for t in client.get("/api/v1/tasks", headers=vol).json()["items"]] == [task_id]
    db.execute(delete(TeamMembership).where(TeamMembership.user_id == staff.volunteer.id))
    db.flush()
    moved = {"place": "Astana, the bus station instead"}
    assert client.patch(url, json=moved, headers=staff.h("coordinator")).status_code == 200
    listed = client.get("/api/v1/tasks", headers=vol)
    assert listed.status_code == 200
    assert listed.json()["items"] == []
    assert "bus station" not in listed.text
    for body in ({"status": "accepted"}, {"note": "On my way."}):
        assert client.patch(url, json=body, headers=vol).status_code == 404
    assert client.get(f"/tasks/{task_id}", headers=vol).status_code in (403, 404)


def test_a_reassigned_task_brings_no_identifying_note_to_the_next_volunteer(
    client: TestClient, staff: Staff, case: dict[str, Any]
) -> None:
    """A volunteer's own note is checked for contact details only (no oracle for a guessed
    name): before another volunteer reads it, it is checked against the person in full."""
    task_id = _create(client, staff, case).json()["id"]
    url = f"/api/v1/tasks/{task_id}"
    note = {"note": f"Met {PERSON['legal_name']} as agreed."}
    assert client.patch(url, json=note, headers=staff.h("volunteer")).status_code == 200
    onward = {"assigned_to": str(staff.volunteer2.id)}
    refused = client.patch(url, json=onward, headers=staff.h("coordinator"))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["note"]
    assert str(PERSON["legal_name"]) not in refused.text
    assert client.get("/api/v1/tasks", headers=staff.h("volunteer2")).json()["items"] == []
    # Sent with a rewritten note (or null), the change goes through, the note as rewritten.
    rewritten = onward | {"note": "The first meeting took place as agreed."}
    assert client.patch(url, json=rewritten, headers=staff.h("coordinator")).status_code == 200
    (seen,) = client.get("/api/v1/tasks", headers=staff.h("volunteer2")).json()["items"]
    assert seen["note"] == rewritten["note"]
    # A note that names nobody goes with the task as it is.
    back = {"assigned_to": str(staff.volunteer.id)}
    assert client.patch(url, json=back, headers=staff.h("coordinator")).status_code == 200
    (seen,) = client.get("/api/v1/tasks", headers=staff.h("volunteer")).json()["items"]
    assert seen["note"] == rewritten["note"]


def test_a_volunteers_accept_after_the_team_called_the_task_off_is_refused(
    client: TestClient, db: Session, staff: Staff, case: dict[str, Any], keyring: Keyring,
    clock: FrozenClock,
) -> None:  # fmt: skip
    """The team calls the task off while the volunteer's accept is on its way, read from the
    open task: the move is made only from the status read, so the accept is refused and the
    task stays called off (it would have reopened it)."""
    task_id = _create(client, staff, case).json()["id"]
    held = db.get_one(Task, uuid.UUID(task_id))
    assert held.status == "open"  # as the volunteer's request read it
    changed_meanwhile(db, held, status="cancelled")
    with pytest.raises(TaskMoveNotAllowed):
        service.update_task(
            db, keyring=keyring, actor=actor_of(db, staff.volunteer), task=held,
            changes={"status": "accepted", "note": "On my way."}, now=clock.now(),
        )  # fmt: skip
    db.expire_all()
    stored = db.get_one(Task, held.id)
    assert (stored.status, stored.note) == ("cancelled", None)


def test_case_team_edits_and_cancels(
    client: TestClient, staff: Staff, case: dict[str, Any]
) -> None:
    task_id = _create(client, staff, case).json()["id"]
    url = f"/api/v1/tasks/{task_id}"
    leak = client.patch(url, json={"title": "Bring Сева Жук"}, headers=staff.h("caseworker"))
    assert leak.status_code == 422
    r = client.patch(url, json={"title": "Meet at the bus station"}, headers=staff.h("caseworker"))
    assert r.json()["title"] == "Meet at the bus station"
    r = client.patch(url, json={"status": "cancelled"}, headers=staff.h("coordinator"))
    assert r.json()["status"] == "cancelled"
    r = client.patch(url, json={"note": "ok"}, headers=staff.h("volunteer"))
    assert r.status_code == 409  # a cancelled task is closed to its volunteer


def test_assignee_must_be_a_volunteer_of_the_case_team(
    client: TestClient, db: Session, staff: Staff, case: dict[str, Any]
) -> None:
    for who in (staff.caseworker, staff.outsider_volunteer):
        r = _create(client, staff, case, assigned_to=str(who.id))
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "assigned_to"
    assert _tasks(db) == 0


def test_task_on_a_case_out_of_scope_is_404(
    client: TestClient, staff: Staff, case: dict[str, Any]
) -> None:
    body = {"case_id": case["id"], "assigned_to": str(staff.volunteer.id), **CLEAN}
    r = client.post("/api/v1/tasks", json=body, headers=staff.h("outsider_coordinator"))
    assert r.status_code == 404
    r = client.post("/api/v1/tasks", json=body, headers=staff.h("volunteer"))
    assert r.status_code == 403


@pytest.mark.parametrize(
    "bad",
    [
        {"title": ""},
        {"due": "2026-12-03T14:00:00"},
        {"instructions": "x" * 4001},
        {"colour": "red"},
    ],
)
def test_bad_input_names_the_field(
    client: TestClient, db: Session, staff: Staff, case: dict[str, Any], bad: dict[str, Any]
) -> None:
    r = _create(client, staff, case, **bad)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == next(iter(bad))
    assert _tasks(db) == 0


def test_listing_tasks_is_audited_per_case(
    client: TestClient, staff: Staff, case: dict[str, Any], db: Session
) -> None:
    _create(client, staff, case)
    assert client.get("/api/v1/tasks", headers=staff.h("volunteer")).status_code == 200
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "task.listed").order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None
    assert entry.object_type == "case"
    assert entry.object_id == case["id"]
    assert entry.actor_id == staff.volunteer.id
