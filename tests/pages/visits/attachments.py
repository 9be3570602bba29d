"""The documents, referrals and tasks of a case, and the volunteer's task pages, in every
state that renders differently. Synthetic people only; Latin text, so the English page holds
no Cyrillic and no translated page holds a catalog's English."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select

from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.documents.blobs import BlobStore
from app.policy.permissions import Role
from app.referrals.models import Partner
from app.tasks.models import Task
from app.tasks.pages import MY_TASKS_PER_PAGE
from app.users.models import Team, TeamMembership, User
from tests.factories import make_case, make_document, make_partner, make_task, make_user
from tests.pages.registry import PageVisit, Visitor

TASK_TITLE = "Meet at the railway station"
TASK_TEXT = "Thursday 14:00 by the clock; bring a SIM card; ask for 'Misha'."
PARTNER_NAME = "Rechtshilfe Nord e.V."


def keyring_of(v: Visitor) -> Keyring:
    """The app's keyring."""
    keyring: Keyring = v.client.app.state.keyring  # type: ignore[attr-defined]
    return keyring


def settings_of(v: Visitor) -> Settings:
    """The app's settings."""
    settings: Settings = v.client.app.state.settings  # type: ignore[attr-defined]
    return settings


def team_of(v: Visitor, user: User) -> Team:
    """The (first) team of an account."""
    team_id = v.db.scalar(select(TeamMembership.team_id).where(TeamMembership.user_id == user.id))
    return v.db.get_one(Team, team_id)


def share_consent(partner: Partner) -> dict[str, object]:
    """The case field value of a consent to share with partner."""
    given = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    return {
        "purpose": "share_with_partner",
        "partner": str(partner.id),
        "legal_basis": "consent",
        "given_at": given,
    }


@dataclass
class Desk:
    """A signed-in member of a case team, one case of theirs, and what hangs off it."""

    user: User
    case: Case
    partner: Partner | None = None
    volunteer: User | None = None
    partner_key: X25519PrivateKey | None = None

    @property
    def url(self) -> str:
        return f"/cases/{self.case.id}"


def desk(
    v: Visitor,
    role: Role = Role.COORDINATOR,
    *,
    partner: bool = False,
    volunteer: bool = False,
    values: dict[str, object] | None = None,
) -> Desk:
    """Sign in as role and give them a case (assigned to them, in their team)."""
    user = v.signed_in(role)
    team = team_of(v, user)
    name = f"{PARTNER_NAME} {uuid.uuid4().hex[:4]}"
    made_partner, key = make_partner(v.db, name) if partner else (None, None)
    case_values = dict(values or {})
    if made_partner is not None:
        case_values["consents"] = [share_consent(made_partner)]
    case = make_case(v.db, keyring=keyring_of(v), team=team, assigned_to=user, values=case_values)
    helper = make_user(v.db, Role.VOLUNTEER, teams=[team]) if volunteer else None
    return Desk(user=user, case=case, partner=made_partner, volunteer=helper, partner_key=key)


def add_document(v: Visitor, d: Desk, name: str = "summons-scan.pdf") -> None:
    """A document stored through the service, uploaded by the desk's user."""
    store = BlobStore(settings_of(v).blob_dir)
    make_document(v.db, keyring=keyring_of(v), case=d.case, store=store, by=d.user, name=name)


def add_task(v: Visitor, d: Desk, volunteer: User) -> Task:
    """A task on the desk's case for volunteer."""
    return make_task(
        v.db, keyring=keyring_of(v), case=d.case, volunteer=volunteer, title=TASK_TITLE,
        instructions=TASK_TEXT, by=d.user,
    )  # fmt: skip


# --- documents ---------------------------------------------------------------------------


def _documents(v: Visitor) -> httpx.Response:
    d = desk(v, Role.CASEWORKER)
    add_document(v, d)
    add_document(v, d, "passport-photo.jpg")
    return v.client.get(d.url + "/documents")


def _documents_empty(v: Visitor) -> httpx.Response:
    d = desk(v)
    return v.client.get(d.url + "/documents")


def _upload_without_file(v: Visitor) -> httpx.Response:
    d = desk(v, Role.CASEWORKER)
    page = v.client.get(d.url + "/documents")
    files = {"file": ("", b"", "application/octet-stream")}
    return v.client.post(d.url + "/documents", data={"csrf_token": v.csrf(page.text)}, files=files)


# --- referrals ---------------------------------------------------------------------------


def _referrals(v: Visitor) -> httpx.Response:
    d = desk(v, partner=True)
    page = v.client.get(d.url + "/referrals")
    assert d.partner is not None
    data = {
        "csrf_token": v.csrf(page.text),
        "partner_id": str(d.partner.id),
        "fields": ["date_of_birth", "situation"],
    }
    v.client.post(d.url + "/referrals", data=data)
    return v.client.get(d.url + "/referrals")


def _referrals_sent(v: Visitor) -> httpx.Response:
    d = desk(v, partner=True)
    page = _referrals_of(v, d)
    form = page.text.split('action="/referrals/')[1].split('"')[0]
    v.client.post("/referrals/" + form, data={"csrf_token": v.csrf(page.text), "status": "sent"})
    return v.client.get(d.url + "/referrals")


def _referrals_of(v: Visitor, d: Desk) -> httpx.Response:
    page = v.client.get(d.url + "/referrals")
    assert d.partner is not None
    data = {"csrf_token": v.csrf(page.text), "partner_id": str(d.partner.id), "fields": "situation"}
    v.client.post(d.url + "/referrals", data=data)
    return v.client.get(d.url + "/referrals")


def _referral_errors(v: Visitor) -> httpx.Response:
    d = desk(v, Role.CASEWORKER, partner=True)
    page = v.client.get(d.url + "/referrals")
    return v.client.post(d.url + "/referrals", data={"csrf_token": v.csrf(page.text)})


def _referrals_no_partner(v: Visitor) -> httpx.Response:
    d = desk(v, Role.CASEWORKER)
    v.db.query(Partner).filter(Partner.confirmed_at.is_not(None)).update({"confirmed_at": None})
    return v.client.get(d.url + "/referrals")


# --- tasks -------------------------------------------------------------------------------


def _case_tasks(v: Visitor) -> httpx.Response:
    d = desk(v, volunteer=True)
    assert d.volunteer is not None
    add_task(v, d, d.volunteer)
    return v.client.get(d.url + "/tasks")


def _case_tasks_errors(v: Visitor) -> httpx.Response:
    d = desk(v, Role.CASEWORKER, volunteer=True, values={"legal_name": "Petr Sample-Testov"})
    page = v.client.get(d.url + "/tasks")
    data = {
        "csrf_token": v.csrf(page.text),
        "assigned_to": "",
        "title": "Meet Petr Sample-Testov",
        "instructions": "",
        "due": "next Thursday",
    }
    return v.client.post(d.url + "/tasks", data=data)


def _volunteer_with_task(v: Visitor) -> tuple[User, Task]:
    """A signed-in volunteer with one task on a case of another person's."""
    volunteer = v.signed_in(Role.VOLUNTEER)
    team = team_of(v, volunteer)
    case = make_case(v.db, keyring=keyring_of(v), team=team)
    task = make_task(v.db, keyring=keyring_of(v), case=case, volunteer=volunteer, title=TASK_TITLE)
    task.due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    v.db.flush()
    return volunteer, task


def _my_tasks(v: Visitor) -> httpx.Response:
    _volunteer_with_task(v)
    return v.client.get("/tasks")


def _my_tasks_capped(v: Visitor) -> httpx.Response:
    """More tasks than the list counts (the cap set to 4): "Page N" paging without a last
    page, here a full middle page with a page before it and one after."""
    v.setting(list_count_cap=4)
    volunteer = v.signed_in(Role.VOLUNTEER)
    team = team_of(v, volunteer)
    case = make_case(v.db, keyring=keyring_of(v), team=team)
    by = make_user(v.db, Role.COORDINATOR, teams=[team])
    for _ in range(2 * MY_TASKS_PER_PAGE + 1):
        make_task(
            v.db, keyring=keyring_of(v), case=case, volunteer=volunteer, title=TASK_TITLE, by=by
        )
    v.db.flush()
    return v.client.get("/tasks?page=2")


def _my_tasks_empty(v: Visitor) -> httpx.Response:
    v.signed_in(Role.VOLUNTEER)
    return v.client.get("/tasks")


def _task(v: Visitor) -> httpx.Response:
    _, task = _volunteer_with_task(v)
    return v.client.get(f"/tasks/{task.id}")


def _task_accepted(v: Visitor) -> httpx.Response:
    _, task = _volunteer_with_task(v)
    page = v.client.get(f"/tasks/{task.id}")
    return v.client.post(f"/tasks/{task.id}/accept", data={"csrf_token": v.csrf(page.text)})


def _task_note_error(v: Visitor) -> httpx.Response:
    _, task = _volunteer_with_task(v)
    page = v.client.get(f"/tasks/{task.id}")
    data = {"csrf_token": v.csrf(page.text), "note": "Call me on +995 555 12 34 56"}
    return v.client.post(f"/tasks/{task.id}/note", data=data)


def _task_of_the_team(v: Visitor) -> httpx.Response:
    d = desk(v, volunteer=True)
    assert d.volunteer is not None
    task = add_task(v, d, d.volunteer)
    return v.client.get(f"/tasks/{task.id}")


def _tasks_of_the_team(v: Visitor) -> httpx.Response:
    d = desk(v, Role.CASEWORKER, volunteer=True)
    assert d.volunteer is not None
    add_task(v, d, d.volunteer)
    return v.client.get("/tasks")


PAGES: tuple[PageVisit, ...] = (
    PageVisit("documents", "GET", "/cases/{case_id}/documents", _documents),
    PageVisit("documents-empty", "GET", "/cases/{case_id}/documents", _documents_empty),
    PageVisit("upload-no-file", "POST", "/cases/{case_id}/documents", _upload_without_file, 422),
    PageVisit("referrals", "GET", "/cases/{case_id}/referrals", _referrals),
    PageVisit("referrals-sent", "GET", "/cases/{case_id}/referrals", _referrals_sent),
    PageVisit("referrals-errors", "POST", "/cases/{case_id}/referrals", _referral_errors, 422),
    PageVisit("referrals-no-partner", "GET", "/cases/{case_id}/referrals", _referrals_no_partner),
    PageVisit("case-tasks", "GET", "/cases/{case_id}/tasks", _case_tasks),
    PageVisit("case-tasks-errors", "POST", "/cases/{case_id}/tasks", _case_tasks_errors, 422),
    PageVisit("my-tasks", "GET", "/tasks", _my_tasks),
    PageVisit("my-tasks-empty", "GET", "/tasks", _my_tasks_empty),
    PageVisit("my-tasks-capped", "GET", "/tasks", _my_tasks_capped),
    PageVisit("task", "GET", "/tasks/{task_id}", _task),
    PageVisit("task-accepted", "GET", "/tasks/{task_id}", _task_accepted),
    PageVisit("task-note-error", "POST", "/tasks/{task_id}/note", _task_note_error, 422),
    PageVisit("task-of-the-team", "GET", "/tasks/{task_id}", _task_of_the_team),
    PageVisit("tasks-of-the-team", "GET", "/tasks", _tasks_of_the_team),
)

NOT_PAGES = {
    "/cases/{case_id}/documents/{doc_id}/file": "the document itself, as an attachment",
    "/referrals/{referral_id}/packet": "the referral packet, as an attachment",
}
