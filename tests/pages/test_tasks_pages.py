"""Tasks as pages. The case team gives a task to a volunteer of the case's team; the leak
guard's refusal stands beside the field that identifies the person, with the input kept and
nothing written. The volunteer, on a phone, reads the list and the task, accepts it, notes
and completes it; nothing else of the case exists on any page they can reach (a canary in
every case field, every link they can follow and every page route fetched)."""

from __future__ import annotations

import re
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases import service as case_service
from app.cases.models import Case
from app.config import Settings
from app.documents.blobs import BlobStore
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.tasks.models import Task
from app.users.models import User
from tests.conftest import StatementCounter
from tests.factories import (
    make_case,
    make_document,
    make_draft_referral,
    make_partner,
    make_task,
    make_team,
    make_user,
)
from tests.pages.registry import PAGES, Visitor
from tests.pages.test_canaries import CANARIES, DOCUMENT_NAME, SECRETS, page_paths
from tests.pages.visits.attachments import TASK_TITLE, Desk, add_task, desk, keyring_of, team_of

LINK = re.compile(r'href="(/[^"#?]*)(?:\?[^"#]*)?"')


@pytest.fixture
def v(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    """A browser in English."""
    return Visitor(client=client, db=db, clock=clock, locale="en")


def _tasks(db: Session, d: Desk) -> int:
    return db.scalar(select(func.count()).where(Task.case_id == d.case.id)) or 0


# --- the case team ----------------------------------------------------------------------


def test_a_task_is_given_to_a_volunteer_of_the_team(v: Visitor, db: Session) -> None:
    d = desk(v, Role.CASEWORKER, volunteer=True)
    assert d.volunteer is not None
    page = v.client.get(d.url + "/tasks")
    assert f'<option value="{d.volunteer.id}">' in page.text
    data = {
        "csrf_token": v.csrf(page.text),
        "assigned_to": str(d.volunteer.id),
        "title": TASK_TITLE,
        "instructions": "Thursday 14:00, bring a SIM card.",
        "place": "Astana, railway station",
        "due": "2026-12-10T14:00",
    }
    r = v.client.post(d.url + "/tasks", data=data, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"{d.url}/tasks?done=task_created"
    task = db.scalars(select(Task).where(Task.case_id == d.case.id)).one()
    assert task.assigned_to == d.volunteer.id
    assert task.due == datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
    listed = v.client.get(d.url + "/tasks").text
    assert TASK_TITLE in listed
    assert "Astana, railway station" in listed


def test_the_leak_guard_refuses_beside_the_field_keeps_the_input_and_writes_nothing(
    v: Visitor, db: Session
) -> None:
    d = desk(v, Role.COORDINATOR, volunteer=True, values={"legal_name": "Ivan Sample-Testov"})
    assert d.volunteer is not None
    page = v.client.get(d.url + "/tasks")
    data = {
        "csrf_token": v.csrf(page.text),
        "assigned_to": str(d.volunteer.id),
        "title": "Meet Ivan at the bus stop",
        "instructions": "Call him on +995 555 12 34 56 first.",
        "place": "Tbilisi",
        "due": "2026-12-10T14:00",
    }
    r = v.client.post(d.url + "/tasks", data=data)
    assert r.status_code == 422
    assert 'id="f-title-error"' in r.text
    assert "the person&#39;s name" in r.text
    assert 'id="f-instructions-error"' in r.text
    assert "a phone number" in r.text
    assert "f-title-hint f-title-error" in r.text
    assert "Meet Ivan at the bus stop" in r.text, "the input was not kept"
    assert 'value="2026-12-10T14:00"' in r.text
    assert f'<option value="{d.volunteer.id}" selected>' in r.text
    assert _tasks(db, d) == 0


def test_plain_errors_for_missing_and_malformed_fields(v: Visitor, db: Session) -> None:
    d = desk(v, Role.CASEWORKER, volunteer=True)
    token = v.csrf(v.client.get(d.url + "/tasks").text)
    data = {"csrf_token": token, "assigned_to": str(uuid.uuid4()), "title": "", "due": "soon"}
    r = v.client.post(d.url + "/tasks", data=data)
    assert r.status_code == 422
    for name in ("title", "instructions", "due"):
        assert f'id="f-{name}-error"' in r.text, name
    assert "Write a date and time" in r.text
    # A volunteer of another team (the service refuses) and a forged id read the same.
    outsider = v.person(Role.VOLUNTEER)
    data |= {"assigned_to": str(outsider.id), "title": "Buy a ticket", "instructions": "Kyiv bus"}
    data["due"] = ""
    r = v.client.post(d.url + "/tasks", data=data)
    assert r.status_code == 422
    assert "Choose a volunteer from the list." in r.text
    assert _tasks(db, d) == 0
    # Refused for a missing field, a text that names the person is named too.
    d2 = desk(v, Role.CASEWORKER, volunteer=True, values={"legal_name": "Ivan Sample-Testov"})
    token = v.csrf(v.client.get(d2.url + "/tasks").text)
    data2 = {"csrf_token": token, "title": "", "instructions": "Ask for Ivan Sample-Testov"}
    r = v.client.post(d2.url + "/tasks", data=data2)
    assert r.status_code == 422
    assert "the person&#39;s name" in r.text.split('id="f-instructions-error"')[1][:300]
    assert _tasks(db, d2) == 0


def test_case_tasks_roles_scopes_and_csrf(v: Visitor, db: Session) -> None:
    other = make_case(db, keyring=keyring_of(v), team=make_team(db))
    d = desk(v, Role.COORDINATOR, volunteer=True)
    assert d.volunteer is not None
    token = v.csrf(v.client.get(d.url + "/tasks").text)
    assert v.client.get(f"/cases/{other.id}/tasks").status_code == 404
    assert v.client.get(f"/cases/{uuid.uuid4()}/tasks").status_code == 404
    data = {"assigned_to": str(d.volunteer.id), "title": "Buy a ticket", "instructions": "Bus"}
    assert (
        v.client.post(f"/cases/{other.id}/tasks", data=data | {"csrf_token": token}).status_code
        == 404
    )
    assert v.client.post(d.url + "/tasks", data=data).status_code == 403
    assert v.client.post(d.url + "/tasks", data=data | {"csrf_token": "x"}).status_code == 403
    assert _tasks(db, d) == 0
    for role in (Role.VOLUNTEER, Role.ADMIN, Role.AUDITOR):
        v.client.cookies.clear()
        v.signed_in(role)
        assert v.client.get(d.url + "/tasks").status_code == 403
        assert v.client.post(d.url + "/tasks", data=data).status_code == 403


def test_the_case_list_sends_as_many_statements_for_five_tasks_as_for_one(
    v: Visitor, sql_statements: StatementCounter
) -> None:
    d = desk(v, Role.COORDINATOR, volunteer=True)
    assert d.volunteer is not None
    add_task(v, d, d.volunteer)
    with sql_statements.counting() as one:
        assert v.client.get(d.url + "/tasks").status_code == 200
    for _ in range(4):
        add_task(v, d, d.volunteer)
    with sql_statements.counting() as five:
        assert v.client.get(d.url + "/tasks").text.count('href="/tasks/') == 5
    assert len(five) == len(one), "\n".join(five)


# --- the volunteer ----------------------------------------------------------------------


def _volunteer_tasks(v: Visitor, n: int = 1) -> list[Task]:
    volunteer = v.signed_in(Role.VOLUNTEER)
    case = make_case(v.db, keyring=keyring_of(v), team=team_of(v, volunteer))
    return [
        make_task(v.db, keyring=keyring_of(v), case=case, volunteer=volunteer, title=TASK_TITLE)
        for _ in range(n)
    ]


def test_the_volunteer_accepts_notes_and_completes_a_task(v: Visitor, db: Session) -> None:
    (task,) = _volunteer_tasks(v)
    listed = v.client.get("/tasks")
    assert f'href="/tasks/{task.id}"' in listed.text
    page = v.client.get(f"/tasks/{task.id}")
    assert TASK_TITLE in page.text
    assert "Mark as done" not in page.text, "done before accepting"
    token = v.csrf(page.text)
    r = v.client.post(
        f"/tasks/{task.id}/accept", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.headers["location"] == f"/tasks/{task.id}?done=task_accepted"
    page = v.client.get(f"/tasks/{task.id}")
    assert "Accept the task" not in page.text
    note = {"csrf_token": token, "note": "Met as planned; SIM card handed over."}
    assert v.client.post(f"/tasks/{task.id}/note", data=note).status_code == 200
    r = v.client.post(f"/tasks/{task.id}/done", data={"csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == f"/tasks/{task.id}?done=task_done"
    db.refresh(task)
    assert task.status == "done"
    page = v.client.get(f"/tasks/{task.id}")
    assert "Met as planned; SIM card handed over." in page.text
    assert "Mark as done" not in page.text


def test_a_note_with_contact_details_is_refused_beside_it_and_kept(v: Visitor, db: Session) -> None:
    (task,) = _volunteer_tasks(v)
    token = v.csrf(v.client.get(f"/tasks/{task.id}").text)
    note = "Reach me on @helper_4471 later"
    r = v.client.post(f"/tasks/{task.id}/note", data={"csrf_token": token, "note": note})
    assert r.status_code == 422
    assert 'id="f-note-error"' in r.text
    assert "A note may not hold contact details" in r.text
    assert "a messenger name or e-mail address" in r.text
    assert note in r.text
    r = v.client.post(f"/tasks/{task.id}/note", data={"csrf_token": token, "note": "x" * 501})
    assert r.status_code == 422
    assert "at most 500 characters" in r.text
    db.refresh(task)
    assert task.note is None


def test_the_note_typed_above_mark_as_done_is_kept_with_it(v: Visitor, db: Session) -> None:
    """A volunteer types how it went, then taps "Mark as done": the note goes with it (two
    forms lost it without a word). A note the guard refuses leaves the task as it was, the
    note as typed beside its error."""
    (task,) = _volunteer_tasks(v)
    token = v.csrf(v.client.get(f"/tasks/{task.id}").text)
    v.client.post(f"/tasks/{task.id}/accept", data={"csrf_token": token})
    page = v.client.get(f"/tasks/{task.id}").text
    note_form = page[page.index(f'action="/tasks/{task.id}/note"') :]
    note_form = note_form[: note_form.index("</form>")]
    assert 'name="note"' in note_form
    assert f'formaction="/tasks/{task.id}/done"' in note_form, "done is not sent with the note"
    bad = "Call me on +7 916 555 01 02 afterwards"
    r = v.client.post(f"/tasks/{task.id}/done", data={"csrf_token": token, "note": bad})
    assert r.status_code == 422
    assert 'id="f-note-error"' in r.text
    assert bad in r.text
    db.refresh(task)
    assert (task.status, task.note) == ("accepted", None)
    said = "Met as planned at the clock."
    done = {"csrf_token": token, "note": said}
    r = v.client.post(f"/tasks/{task.id}/done", data=done, follow_redirects=False)
    assert r.headers["location"] == f"/tasks/{task.id}?done=task_done"
    db.refresh(task)
    assert task.status == "done"
    assert said in v.client.get(f"/tasks/{task.id}").text


def test_a_done_task_cannot_be_accepted_again(v: Visitor, db: Session) -> None:
    (task,) = _volunteer_tasks(v)
    token = v.csrf(v.client.get(f"/tasks/{task.id}").text)
    v.client.post(f"/tasks/{task.id}/accept", data={"csrf_token": token})
    v.client.post(f"/tasks/{task.id}/done", data={"csrf_token": token})
    r = v.client.post(f"/tasks/{task.id}/accept", data={"csrf_token": token})
    assert r.status_code == 409
    assert 'id="f-status-error"' in r.text
    db.refresh(task)
    assert task.status == "done"


def test_volunteer_pages_refuse_what_is_not_theirs(v: Visitor, db: Session) -> None:
    (own,) = _volunteer_tasks(v)
    token = v.csrf(v.client.get(f"/tasks/{own.id}").text)
    other_team = make_team(db)
    other_case = make_case(db, keyring=keyring_of(v), team=other_team)
    someone = make_user(db, Role.VOLUNTEER, teams=[other_team])
    theirs = make_task(db, keyring=keyring_of(v), case=other_case, volunteer=someone)
    assert v.client.get(f"/tasks/{theirs.id}").status_code == 404
    assert v.client.get(f"/tasks/{uuid.uuid4()}").status_code == 404
    for action in ("accept", "done", "note"):
        r = v.client.post(f"/tasks/{theirs.id}/{action}", data={"csrf_token": token, "note": "x"})
        assert r.status_code == 404, action
    # Without the token nothing moves.
    assert v.client.post(f"/tasks/{own.id}/accept").status_code == 403
    assert v.client.post(f"/tasks/{own.id}/accept", data={"csrf_token": "x"}).status_code == 403
    db.refresh(own)
    assert own.status == "open"
    for path in (f"/cases/{own.case_id}", f"/cases/{own.case_id}/documents"):
        assert v.client.get(path).status_code in (403, 404), path
    for role in (Role.ADMIN, Role.AUDITOR):
        v.client.cookies.clear()
        v.signed_in(role)
        assert v.client.get("/tasks").status_code == 403
        assert v.client.get(f"/tasks/{own.id}").status_code == 403


def test_a_stale_session_goes_to_the_sign_in_page(v: Visitor) -> None:
    (task,) = _volunteer_tasks(v)
    token = v.csrf(v.client.get("/tasks").text)
    v.client.post("/logout", data={"csrf_token": token})
    for path in ("/tasks", f"/tasks/{task.id}"):
        r = v.client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login")


def test_the_volunteer_list_is_paged_and_its_sql_does_not_grow(
    v: Visitor, db: Session, sql_statements: StatementCounter
) -> None:
    tasks = _volunteer_tasks(v, 2)
    with sql_statements.counting() as two:
        assert v.client.get("/tasks").text.count('href="/tasks/') == 2
    case = db.get_one(Case, tasks[0].case_id)
    volunteer = db.get_one(User, tasks[0].assigned_to)
    for _ in range(21):
        make_task(db, keyring=keyring_of(v), case=case, volunteer=volunteer, title=TASK_TITLE)
    with sql_statements.counting() as many:
        first = v.client.get("/tasks").text
    assert first.count('href="/tasks/') - first.count('href="/tasks/?') == 20
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert len(many) == len(two), "\n".join(many)
    second = v.client.get("/tasks?page=2").text
    assert second.count(TASK_TITLE) == 3


def test_nothing_else_of_the_case_exists_on_any_page_a_volunteer_reaches(
    v: Visitor,
    app: FastAPI,
    db: Session,
    settings: Settings,
) -> None:
    """A canary in every case field, a document and a referral on the case; the volunteer
    follows every link from the start page and fetches every page route with the case's,
    the document's, the referral's and their own task's ids."""
    volunteer = v.signed_in(Role.VOLUNTEER)
    team = team_of(v, volunteer)
    case = case_service.create_case(
        db,
        keyring=keyring_of(v),
        actor=None,
        team_id=team.id,
        values=case_service.validate_fields(CANARIES),
        now=datetime.now(UTC),
    )
    task = make_task(db, keyring=keyring_of(v), case=case, volunteer=volunteer, title=TASK_TITLE)
    task.due = datetime.now(UTC) + timedelta(days=1)
    worker = v.person(Role.CASEWORKER)
    store = BlobStore(settings.blob_dir)
    doc = make_document(
        db, keyring=keyring_of(v), case=case, store=store, by=worker, name=DOCUMENT_NAME
    )
    partner, _ = make_partner(db)
    referral = make_draft_referral(db, case=case, partner=partner)
    db.flush()
    secrets = [*SECRETS, str(case.id), str(doc.id)]
    seen: dict[str, str] = {}
    queue = deque(["/", "/tasks", f"/tasks/{task.id}"])
    while queue and len(seen) < 200:
        path = queue.popleft()
        if path in seen or path.startswith(("/static/", "/language/", "/logout")):
            continue
        r = v.client.get(path)
        seen[path] = r.text
        queue.extend(m.group(1) for m in LINK.finditer(r.text))
    assert f"/tasks/{task.id}" in seen
    ids = {"case_id": case.id, "doc_id": doc.id, "task_id": task.id, "referral_id": referral.id}
    for route in page_paths(app):
        url = re.sub(r"\{([^}:]+)[^}]*\}", lambda m: str(ids.get(m.group(1), uuid.uuid4())), route)
        seen[url] = v.client.get(url).text
    # An id the volunteer typed into the address comes back in the language switcher's
    # return path: not a leak. Anywhere else, it would be.
    leaks = [
        f"{url}: {s!r}" for url, html in seen.items() for s in secrets if s in html and s not in url
    ]
    assert not leaks, "\n".join(leaks)
    # The task itself is there: the volunteer's shape, and nothing more.
    page = seen[f"/tasks/{task.id}"]
    assert case.case_code in page
    assert TASK_TITLE in page


def test_the_case_team_calls_a_task_off_and_a_volunteer_cannot(v: Visitor, db: Session) -> None:
    d = desk(v, Role.COORDINATOR, volunteer=True)
    assert d.volunteer is not None
    task = add_task(v, d, d.volunteer)
    page = v.client.get(f"/tasks/{task.id}")
    assert f'href="{d.url}/tasks"' in page.text
    assert "Accept the task" not in page.text, "the case team does not do the task"
    token = v.csrf(page.text)
    r = v.client.post(
        f"/tasks/{task.id}/cancel", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.headers["location"] == f"{d.url}/tasks?done=task_cancelled"
    db.refresh(task)
    assert task.status == "cancelled"
    # A volunteer may not call their own task off.
    (own,) = _volunteer_tasks(v)
    token = v.csrf(v.client.get(f"/tasks/{own.id}").text)
    assert "/cancel" not in v.client.get(f"/tasks/{own.id}").text
    r = v.client.post(f"/tasks/{own.id}/cancel", data={"csrf_token": token})
    assert r.status_code == 409
    db.refresh(own)
    assert own.status == "open"


def test_tasks_of_more_cases_add_only_their_audit_entries(
    v: Visitor, db: Session, sql_statements: StatementCounter
) -> None:
    """Each case a volunteer's page reads is audited on its own (the mass-read alert counts
    cases): one INSERT per case, nothing else grows (the data keys load in one statement)."""
    volunteer = v.signed_in(Role.VOLUNTEER)
    team = team_of(v, volunteer)

    def task_on_a_new_case() -> None:
        case = make_case(db, keyring=keyring_of(v), team=team)
        make_task(db, keyring=keyring_of(v), case=case, volunteer=volunteer, title=TASK_TITLE)

    task_on_a_new_case()
    with sql_statements.counting() as one:
        v.client.get("/tasks")
    for _ in range(3):
        task_on_a_new_case()
    listed = select(func.count()).select_from(AuditEntry)
    listed = listed.where(AuditEntry.action == "task.listed")
    before = db.scalar(listed) or 0
    with sql_statements.counting() as four:
        assert v.client.get("/tasks").text.count('href="/tasks/') == 4
    assert (db.scalar(listed) or 0) - before == 4  # one entry per case read
    # At most one more INSERT per case (one statement for all where the driver batches).
    assert len(four) - len(one) <= 3, "\n".join(four)


def test_the_registered_capped_task_list_pages_on_without_a_last_page(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    """The `my-tasks-capped` page state (the cap set to 4 for the visit): a full middle page
    with no last page, previous, where we are, next."""
    (visit,) = (p for p in PAGES if p.name == "my-tasks-capped")
    r = visit.reach(Visitor(client=client, db=db, clock=clock, locale="en"))
    assert r.status_code == 200
    paging = re.search(r'<nav class="pages"[^>]*>(.*?)</nav>', r.text, re.S)
    assert paging, "no paging"
    shown = [" ".join(part.split()) for part in re.findall(r">([^<>]+)<", paging.group(1))]
    assert [p for p in shown if p] == ["Previous page", "Page 2", "Next page"]
    assert 'href="?page=3" rel="next"' in paging.group(1)
