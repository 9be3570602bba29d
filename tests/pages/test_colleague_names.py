"""Whom the case pages name. The policy gives a caseworker no team directory
(MEMBER_VISIBILITY): the pages of their case say "A colleague" for the coordinator and the
other caseworkers who worked on it, wherever a name would go (the case list, the file, the
timeline, the documents, the tasks). What a caseworker's day needs stays: their own name,
and the names of the team's volunteers, whom they give tasks and follow them with. A
coordinator sees every name of their team, as the directory gives them."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.documents.blobs import BlobStore
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import Team, shown_name
from tests.factories import make_document, make_user
from tests.pages.registry import Visitor
from tests.pages.visits.attachments import Desk, add_task, desk, keyring_of, settings_of

# Synthetic staff names, found nowhere else in a page.
COORDINATOR = "Coordinator Zvonareva"
VOLUNTEER = "Volunteer Sinichkina"


@pytest.fixture
def v(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    return Visitor(client=client, db=db, clock=clock, locale="en")


def _the_case_worked_on(v: Visitor, reader: Role) -> Desk:
    """A case of the reader's team (assigned to the reader): a coordinator of the team
    uploaded its document, and a volunteer of the team was given a task on it."""
    d = desk(v, reader)
    team = v.db.get_one(Team, d.case.team_id)
    coordinator = make_user(v.db, Role.COORDINATOR, teams=[team])
    coordinator.display_name = COORDINATOR
    volunteer = make_user(v.db, Role.VOLUNTEER, teams=[team])
    volunteer.display_name = VOLUNTEER
    store = BlobStore(settings_of(v).blob_dir)
    make_document(v.db, keyring=keyring_of(v), case=d.case, store=store, by=coordinator)
    add_task(v, d, volunteer)
    v.db.flush()
    return d


def _assignee_cell(name: str) -> str:
    return f'<td data-label="Caseworker">{name}</td>'


def _pages(v: Visitor, d: Desk) -> dict[str, httpx.Response]:
    paths = ("", "/history", "/documents", "/tasks")
    out = {path or "/": v.client.get(d.url + path) for path in paths}
    out["/cases"] = v.client.get("/cases")
    for path, page in out.items():
        assert page.status_code == 200, path
    return out


def test_a_caseworker_is_told_no_colleagues_name(v: Visitor) -> None:
    d = _the_case_worked_on(v, Role.CASEWORKER)
    pages = _pages(v, d)
    for path, page in pages.items():
        assert COORDINATOR not in page.text, f"{path} names a colleague to a caseworker"
    assert "A colleague" in pages["/documents"].text, "the uploader is not said to be anyone"
    # Their own name in the list's caseworker column (the file says "You"), and the team's
    # volunteers: whom a task went to, and whom the next may go to.
    assert _assignee_cell(shown_name(d.user)) in pages["/cases"].text
    assert pages["/tasks"].text.count(VOLUNTEER) >= 2


def test_a_coordinator_is_told_every_name_of_the_team(v: Visitor) -> None:
    d = _the_case_worked_on(v, Role.COORDINATOR)
    pages = _pages(v, d)
    assert COORDINATOR in pages["/documents"].text
    assert pages["/tasks"].text.count(VOLUNTEER) >= 2
    assert _assignee_cell(shown_name(d.user)) in pages["/cases"].text
