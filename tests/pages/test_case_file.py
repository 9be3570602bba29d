"""The case file pages as the people who use them, and as those who must not: every section
edit round trip, errors beside their fields with the input kept and nothing written, stale
saves, CSRF, roles, other teams' cases, consents, stage gates, assignment, legal hold, erasure
by four eyes, the export and break-glass behind re-authentication, and the timeline's cost."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.cases import service as case_service
from app.cases.models import Case, CaseRevision
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import Team, User
from tests.conftest import StatementCounter
from tests.factories import PASSWORD, actor_of, code_for, make_case, make_team, make_user
from tests.pages.registry import CSRF
from tests.pages.visits.case_file import PERSON, SECTION_KEYS

# --- a browser per person -----------------------------------------------------------------


@dataclass
class Person:
    """A signed-in browser and the account behind it."""

    client: TestClient
    user: User
    clock: FrozenClock

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, follow_redirects=False)

    def token(self, path: str) -> str:
        """The CSRF token of the form on a page."""
        match = CSRF.search(self.client.get(path).text)
        assert match, f"no form on {path}"
        return match.group(1)

    def post(
        self, path: str, data: dict[str, Any], *, token_from: str | None = None
    ) -> httpx.Response:
        """Send a form, with the session's token read from a page (the case file by default)."""
        page = token_from or re.sub(r"(/cases/[0-9a-f-]{36}).*", r"\1", path)
        body = {"csrf_token": self.token(page), **data}
        return self.client.post(path, data=body, follow_redirects=False)

    def reauth(self) -> None:
        """Prove password and code again (with a code later than any used before)."""
        self.clock.advance(timedelta(seconds=31))
        data = {"password": PASSWORD, "code": code_for(self.user, self.clock), "next": "/"}
        r = self.post("/account/reauth", data, token_from="/account/reauth?next=/")
        assert r.status_code == 303, r.text[:300]


@pytest.fixture
def browsers(app: FastAPI, db: Session, clock: FrozenClock) -> Iterator[Any]:
    """Sign a user in with a browser of their own."""
    opened: list[TestClient] = []

    def sign_in(user: User) -> Person:
        client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        login = client.get("/login").text
        token = CSRF.search(login).group(1)  # type: ignore[union-attr]
        data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data, follow_redirects=False).status_code == 303
        page = client.get("/login/totp").text
        code = {"code": code_for(user, clock), "csrf_token": CSRF.search(page).group(1)}  # type: ignore[union-attr]
        assert client.post("/login/totp", data=code, follow_redirects=False).status_code == 303
        return Person(client=client, user=user, clock=clock)

    yield sign_in
    for client in opened:
        client.__exit__(None, None, None)


@dataclass
class Team2:
    team: Team
    coord: User
    coord2: User
    worker: User
    case: Case


@pytest.fixture
def world(db: Session, app: FastAPI, clock: FrozenClock) -> Team2:
    """A team with two coordinators, a caseworker and a case assigned to her."""
    keyring = app.state.keyring
    team = make_team(db)
    coord = make_user(db, Role.COORDINATOR, teams=[team], keyring=keyring)
    coord2 = make_user(db, Role.COORDINATOR, teams=[team], keyring=keyring)
    worker = make_user(db, Role.CASEWORKER, teams=[team], keyring=keyring)
    case = make_case(
        db, keyring=keyring, team=team, assigned_to=worker, values=PERSON, now=clock.now()
    )
    return Team2(team, coord, coord2, worker, case)


def url(case: Case, tail: str = "") -> str:
    return f"/cases/{case.id}{tail}"


class FormReader(HTMLParser):
    """The values a browser would send from the page's main form (the last one)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, Any] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name and name != "csrf_token":
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values.setdefault(name, []).append(a.get("value", ""))
            else:
                self.values[name] = a.get("value", "")
        elif tag == "select":
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_of(html: str) -> dict[str, Any]:
    reader = FormReader()
    reader.feed(html.rsplit("</header>", maxsplit=1)[-1])  # after the site's and case's headers
    return reader.values


def revisions(db: Session, case: Case) -> int:
    return int(db.scalar(select(func.count()).where(CaseRevision.case_id == case.id)) or 0)


def shown(db: Session, app: FastAPI, case: Case) -> dict[str, Any]:
    db.expire_all()
    return case_service.read_full(db, keyring=app.state.keyring, case=db.get_one(Case, case.id))


# --- editing the record, section by section ---------------------------------------------


@pytest.mark.parametrize("section", SECTION_KEYS)
def test_every_section_form_sends_back_what_it_shows(
    section: str, world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    """A section saved without a change leaves the record exactly as it was: what the form
    shows is what the API holds, for every kind of field (lists, rows, nested objects)."""
    worker = browsers(world.worker)
    before = shown(db, app, world.case)
    page = worker.get(url(world.case, f"/edit/{section}"))
    assert page.status_code == 200
    values = form_of(page.text)
    r = worker.post(url(world.case, f"/edit/{section}"), values)
    assert r.status_code == 303, r.text[:800]
    assert shown(db, app, world.case) == before


def test_a_section_saved_changes_the_record_and_shows_on_the_file(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    worker = browsers(world.worker)
    values = form_of(worker.get(url(world.case, "/edit/reach")).text)
    values |= {"current_city": "Batumi", "contacts.1.channel": "phone",
               "contacts.1.value": "+995 555 12 34 56"}  # fmt: skip
    r = worker.post(url(world.case, "/edit/reach"), values)
    assert r.status_code == 303
    assert r.headers["location"] == url(world.case, "?done=saved#reach")
    after = shown(db, app, world.case)
    assert after["current_city"] == "Batumi"
    assert after["contacts"] == [
        {"channel": "signal", "value": "oleg_primer.07"},
        {"channel": "phone", "value": "+995 555 12 34 56"},
    ]
    html = worker.get(url(world.case)).text
    assert "Batumi" in html
    assert "+995 555 12 34 56" in html


def test_the_outcome_kind_is_chosen_in_the_outcome_section(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    """The reportable kind of outcome (a plain column the reports count) is set on the page."""
    worker = browsers(world.worker)
    values = form_of(worker.get(url(world.case, "/edit/outcome")).text)
    assert "outcome_kind" in values
    values |= {"outcome_kind": "safe_relocation", "outcome": "Reached a safe country."}
    r = worker.post(url(world.case, "/edit/outcome"), values)
    assert r.status_code == 303, r.text[:300]
    assert shown(db, app, world.case)["outcome_kind"] == "safe_relocation"
    assert "Moved to safety" in worker.get(url(world.case)).text
    values["outcome_kind"] = "lost_in_the_mountains"
    refused = worker.post(url(world.case, "/edit/outcome"), values)
    assert refused.status_code == 422
    assert 'id="f-outcome_kind-error"' in refused.text
    assert shown(db, app, world.case)["outcome_kind"] == "safe_relocation"


def test_errors_stand_beside_their_fields_the_input_stays_and_nothing_is_written(
    world: Team2, browsers: Any, db: Session
) -> None:
    worker = browsers(world.worker)
    version, count = world.case.version, revisions(db, world.case)
    values = form_of(worker.get(url(world.case, "/edit/reach")).text)
    values |= {"current_country": "XX", "current_city": "Kutaisi",
               "contacts.0.channel": "phone", "contacts.0.value": "not a number"}  # fmt: skip
    r = worker.post(url(world.case, "/edit/reach"), values)
    assert r.status_code == 422
    html = r.text
    for name in ("current_country", "contacts.0.value"):
        assert f'aria-describedby="f-{name}-error"' in html
        assert f'id="f-{name}-error"' in html
    assert "Choose a country from the list." in html
    assert "Write a phone number with the country code" in html
    assert 'value="not a number"' in html
    assert 'value="Kutaisi"' in html
    db.expire_all()
    assert db.get_one(Case, world.case.id).version == version
    assert revisions(db, world.case) == count


def test_a_stale_save_names_what_changed_and_keeps_the_text(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    worker, coord = browsers(world.worker), browsers(world.coord)
    mine = form_of(worker.get(url(world.case, "/edit/notes")).text)
    theirs = form_of(coord.get(url(world.case, "/edit/notes")).text)
    theirs["intake_notes"] = "The coordinator's addition."
    assert coord.post(url(world.case, "/edit/notes"), theirs).status_code == 303
    mine["intake_notes"] = "My long interview, typed for an hour."
    r = worker.post(url(world.case, "/edit/notes"), mine)
    assert r.status_code == 409
    assert "Someone else changed this case" in r.text
    assert "Changed meanwhile: Interview notes" in r.text
    assert "My long interview, typed for an hour." in r.text
    assert "What the case holds now:" in r.text
    assert "The coordinator&#39;s addition." in r.text
    assert shown(db, app, world.case)["intake_notes"] == "The coordinator's addition."
    # Saving again (now over the version shown) goes through.
    again = form_of(r.text)
    assert worker.post(url(world.case, "/edit/notes"), again).status_code == 303
    assert shown(db, app, world.case)["intake_notes"] == "My long interview, typed for an hour."


def test_an_unknown_section_is_not_found(world: Team2, browsers: Any) -> None:
    assert browsers(world.worker).get(url(world.case, "/edit/secrets")).status_code == 404


def test_languages_are_taken_as_codes_or_as_the_names_the_file_shows(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    """The file shows "Russian, Ukrainian"; typing those names back (in any of the pages'
    languages) keeps the codes, as the intake form does; a word that is neither is named."""
    worker = browsers(world.worker)
    values = form_of(worker.get(url(world.case, "/edit/person")).text)
    r = worker.post(
        url(world.case, "/edit/person"), values | {"languages": "Русский\nукраїнська, en"}
    )
    assert r.status_code == 303, r.text[:300]
    assert shown(db, app, world.case)["languages"] == ["ru", "uk", "en"]
    assert "Russian, Ukrainian, English" in worker.get(url(world.case)).text
    wrong = worker.post(url(world.case, "/edit/person"), values | {"languages": "ru\nKlingonese"})
    assert wrong.status_code == 422
    assert 'id="f-languages-error"' in wrong.text
    assert "Klingonese" in wrong.text  # kept as typed
    assert shown(db, app, world.case)["languages"] == ["ru", "uk", "en"]


# --- access ------------------------------------------------------------------------------

POSTS = (
    "/edit/person",
    "/consents",
    f"/consents/{uuid.uuid4()}/withdraw",
    "/stage",
    "/assign",
    "/hold",
    "/erase",
    "/export",
    "/break-glass",
)


def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    world: Team2, browsers: Any, db: Session
) -> None:
    coord = browsers(world.coord)
    coord.reauth()
    count = revisions(db, world.case)
    for tail in POSTS:
        for token in ({}, {"csrf_token": "not-the-token"}):
            data = {"intake_notes": "x", "to": "closed", "reason": "A long enough reason."}
            r = coord.client.post(url(world.case, tail), data=token | data, follow_redirects=False)
            assert r.status_code == 403, (tail, r.status_code)
            assert "The form expired or did not come from Haven." in r.text
    assert revisions(db, world.case) == count


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.ADMIN, Role.AUDITOR])
def test_roles_without_case_access_get_the_403_page_and_no_content(
    role: Role, world: Team2, browsers: Any, db: Session
) -> None:
    teams = [world.team] if role is Role.VOLUNTEER else []
    person = browsers(make_user(db, role, teams=teams))
    for tail in ("", "/history", "/edit/person", "/consents/new"):
        r = person.get(url(world.case, tail))
        assert r.status_code == 403, tail
        assert "Your role does not allow this." in r.text
        assert str(PERSON["legal_name"]) not in r.text


def test_another_teams_case_and_a_forged_id_are_not_found(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    other_team = make_team(db)
    outsider = browsers(make_user(db, Role.COORDINATOR, teams=[other_team]))
    worker2 = browsers(make_user(db, Role.CASEWORKER, teams=[world.team]))  # not assigned
    forged = f"/cases/{uuid.uuid4()}"
    for person in (outsider, worker2):
        for tail in ("", "/history", "/edit/person", "/consents/new"):
            r = person.get(url(world.case, tail))
            assert r.status_code == 404, tail
            assert str(PERSON["legal_name"]) not in r.text
        assert person.get(forged).status_code == 404
    denied = db.scalar(
        select(func.count()).where(AuditEntry.action == AuditAction.ACCESS_DENIED.value)
    )
    assert denied


def test_a_stale_session_goes_to_sign_in(
    world: Team2, browsers: Any, clock: FrozenClock, app: FastAPI
) -> None:
    worker = browsers(world.worker)
    assert worker.get(url(world.case)).status_code == 200
    clock.advance(timedelta(minutes=app.state.settings.session_idle_minutes + 1))
    r = worker.get(url(world.case))
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def test_a_caseworker_sees_no_coordinators_controls(world: Team2, browsers: Any) -> None:
    html = browsers(world.worker).get(url(world.case)).text
    for path in ("/assign", "/hold", "/erase", "/export"):
        assert f'{url(world.case, path)}"' not in html


# --- consents, stage, assignment ----------------------------------------------------------


def test_consents_are_recorded_and_withdrawn_one_at_a_time(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    worker = browsers(world.worker)
    form = url(world.case, "/consents/new")
    for purpose in ("store", "contact"):
        data = {"purpose": purpose, "legal_basis": "consent", "given_on": "2026-11-20"}
        r = worker.post(url(world.case, "/consents"), data, token_from=form)
        assert r.status_code == 303
    held = shown(db, app, world.case)["consents"]
    assert [c["purpose"] for c in held] == ["store", "contact"]
    contact = held[1]["id"]
    # One tap on the file asks first (a withdrawal cannot be undone): a link, not a form.
    withdraw = url(world.case, f"/consents/{contact}/withdraw")
    html = worker.get(url(world.case)).text
    assert f'href="{withdraw}"' in html
    assert f'action="{withdraw}"' not in html
    asked = worker.get(withdraw)
    assert asked.status_code == 200
    assert "cannot be undone" in asked.text
    assert f'action="{withdraw}"' in asked.text
    assert all(c["withdrawn_at"] is None for c in shown(db, app, world.case)["consents"])
    assert worker.get(url(world.case, f"/consents/{uuid.uuid4()}/withdraw")).status_code == 404
    r = worker.post(withdraw, {}, token_from=withdraw)
    assert r.status_code == 303
    after = {c["purpose"]: c for c in shown(db, app, world.case)["consents"]}
    assert after["contact"]["withdrawn_at"] is not None
    assert after["store"]["withdrawn_at"] is None
    html = worker.get(url(world.case)).text
    assert "Withdrawn on" in html
    assert "In force" in html


def test_a_refused_consent_shows_why_beside_the_field_and_records_nothing(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    worker = browsers(world.worker)
    data = {"purpose": "share_with_partner", "legal_basis": "consent", "given_on": "20.11.2026"}
    r = worker.post(url(world.case, "/consents"), data, token_from=url(world.case, "/consents/new"))
    assert r.status_code == 422
    assert 'aria-describedby="f-given_on-hint f-given_on-error"' in r.text
    assert 'value="20.11.2026"' in r.text
    data["given_on"] = "2026-11-20"
    r = worker.post(url(world.case, "/consents"), data, token_from=url(world.case, "/consents/new"))
    assert r.status_code == 422
    assert 'id="f-partner-error"' in r.text
    assert "Choose the partner this consent is for." in r.text
    assert shown(db, app, world.case)["consents"] is None


def test_a_refused_stage_move_says_what_is_missing_in_plain_words(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    coord = browsers(world.coord)
    html = coord.get(url(world.case)).text
    assert "Before this move, the record needs:" in html
    r = coord.post(url(world.case, "/stage"), {"to": "documentation"})
    assert r.status_code == 409
    assert "The case did not move." in r.text
    assert "Record consent (or another legal basis) to keep the record." in r.text
    assert "consents:" not in r.text  # the gate's own wording stays in the API
    data = {"purpose": "store", "legal_basis": "consent", "given_on": "2026-11-20"}
    coord.post(url(world.case, "/consents"), data, token_from=url(world.case, "/consents/new"))
    r = coord.post(url(world.case, "/stage"), {"to": "documentation"})
    assert r.status_code == 303
    assert shown(db, app, world.case)["stage"] == "documentation"
    assert coord.post(url(world.case, "/stage"), {"to": "nowhere"}).status_code == 422


def test_a_coordinator_assigns_from_the_team_directory_only(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    keyring = app.state.keyring
    colleague = make_user(db, Role.CASEWORKER, teams=[world.team], keyring=keyring)
    stranger = make_user(db, Role.CASEWORKER, teams=[make_team(db)], keyring=keyring)
    coord = browsers(world.coord)
    html = coord.get(url(world.case)).text
    assert f'value="{colleague.id}"' in html
    assert f'value="{stranger.id}"' not in html
    r = coord.post(url(world.case, "/assign"), {"user_id": str(stranger.id)})
    assert r.status_code == 422
    assert 'id="f-user_id-error"' in r.text
    assert coord.post(url(world.case, "/assign"), {"user_id": str(colleague.id)}).status_code == 303
    assert shown(db, app, world.case)["assigned_to"] == str(colleague.id)
    assert coord.post(url(world.case, "/assign"), {"user_id": "none"}).status_code == 303
    assert shown(db, app, world.case)["assigned_to"] is None
    worker = browsers(world.worker)
    r = worker.client.post(url(world.case, "/assign"), data={"user_id": "none"})
    assert r.status_code in (403, 404)


# --- legal hold, erasure, export, break-glass ---------------------------------------------


def test_legal_hold_is_set_and_lifted_by_a_coordinator_and_stops_erasure(
    world: Team2, browsers: Any, db: Session, app: FastAPI
) -> None:
    coord = browsers(world.coord)
    version = str(world.case.version)
    assert (
        coord.post(url(world.case, "/hold"), {"hold": "on", "version": version}).status_code == 303
    )
    assert shown(db, app, world.case)["legal_hold"] is True
    coord.reauth()
    r = coord.post(url(world.case, "/erase"), {}, token_from=url(world.case, "/erase"))
    assert r.status_code == 409
    assert "Lift the hold before erasing it." in r.text
    worker = browsers(world.worker)
    r = worker.post(url(world.case, "/hold"), {"hold": "off", "version": version})
    assert r.status_code == 403
    db.expire_all()
    current = str(db.get_one(Case, world.case.id).version)
    assert (
        coord.post(url(world.case, "/hold"), {"hold": "off", "version": current}).status_code == 303
    )
    assert shown(db, app, world.case)["legal_hold"] is False


def test_erasure_takes_two_coordinators_of_the_team(
    world: Team2, browsers: Any, db: Session, clock: FrozenClock
) -> None:
    case_id = world.case.id
    first, second = browsers(world.coord), browsers(world.coord2)
    clock.advance(timedelta(minutes=6))  # signing in was the last proof: now it is stale
    r = first.get(url(world.case, "/erase"))
    assert r.status_code == 303
    assert r.headers["location"].startswith("/account/reauth?next=")
    first.reauth()
    r = first.post(url(world.case, "/erase"), {}, token_from=url(world.case, "/erase"))
    assert r.status_code == 303
    assert r.headers["location"].endswith("done=erasure_requested")
    assert db.get(Case, world.case.id) is not None
    again = first.post(url(world.case, "/erase"), {}, token_from=url(world.case, "/erase"))
    assert again.status_code == 409
    assert "Another coordinator of the team must approve it." in again.text
    assert "asked to erase this case" in second.get(url(world.case)).text
    second.reauth()
    page = second.get(url(world.case, "/erase"))
    assert "If you approve, it is erased now." in page.text
    r = second.post(url(world.case, "/erase"), {}, token_from=url(world.case, "/erase"))
    assert r.status_code == 303
    assert r.headers["location"] == "/cases?done=erased"
    assert db.scalar(select(Case.id).where(Case.id == case_id)) is None


def test_the_export_needs_a_fresh_reauthentication_and_a_coordinator(
    world: Team2, browsers: Any, clock: FrozenClock
) -> None:
    coord = browsers(world.coord)
    clock.advance(timedelta(minutes=6))
    r = coord.get(url(world.case, "/export"))
    assert r.status_code == 303
    assert "/account/reauth" in r.headers["location"]
    coord.reauth()
    r = coord.post(url(world.case, "/export"), {}, token_from=url(world.case, "/export"))
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.json()["case"]["legal_name"] == PERSON["legal_name"]
    worker = browsers(world.worker)
    assert worker.get(url(world.case, "/export")).status_code == 403


def test_break_glass_opens_a_case_for_reading_with_a_banner_until_it_ends(
    world: Team2, browsers: Any, db: Session, clock: FrozenClock
) -> None:
    outsider = browsers(make_user(db, Role.CASEWORKER, teams=[make_team(db)]))
    assert outsider.get(url(world.case)).status_code == 404
    clock.advance(timedelta(minutes=6))
    r = outsider.get(url(world.case, "/break-glass"))
    assert r.status_code == 303
    assert "/account/reauth" in r.headers["location"]
    outsider.reauth()
    form = url(world.case, "/break-glass")
    asked = outsider.get(form)
    assert asked.status_code == 200
    # Nothing of the case before the grant, not even its code: this page is not audited.
    assert world.case.case_code not in asked.text
    short = outsider.post(form, {"reason": "urgent"}, token_from=form)
    assert short.status_code == 422
    assert 'id="f-reason-error"' in short.text
    assert ">urgent</textarea>" in short.text
    reason = "The lawyer called at night: the hearing moved to tomorrow."
    r = outsider.post(form, {"reason": reason}, token_from=form)
    assert r.status_code == 303
    page = outsider.get(url(world.case))
    assert page.status_code == 200
    assert 'class="banner"' in page.text
    assert "You opened this case by break-glass" in page.text
    assert str(PERSON["legal_name"]) in page.text
    assert "/edit/" not in page.text
    assert "/stage" not in page.text
    assert outsider.get(url(world.case, "/edit/person")).status_code == 404
    assert reason not in page.text
    for minutes in (25, 25):  # the session stays in use; the grant runs out after an hour
        clock.advance(timedelta(minutes=minutes))
        assert outsider.get(url(world.case)).status_code == 200
    clock.advance(timedelta(minutes=11))
    assert outsider.get(url(world.case)).status_code == 404


# --- the timeline -------------------------------------------------------------------------


def test_the_timeline_names_who_changed_which_field_and_the_values(
    world: Team2, browsers: Any
) -> None:
    worker, coord = browsers(world.worker), browsers(world.coord)
    values = form_of(worker.get(url(world.case, "/edit/needs")).text)
    values["risk_level"] = "critical"
    assert worker.post(url(world.case, "/edit/needs"), values).status_code == 303
    for page in (worker, coord):
        html = page.get(url(world.case, "/history")).text
        assert "changed the record" in html
        assert "Risk level" in html
        assert "Critical risk" in html
        assert "High risk" in html
    # A coordinator reads the directory: the caseworker's name; a caseworker does not.
    assert world.worker.email.split("@")[0] in coord.get(url(world.case, "/history")).text


def test_the_timeline_sends_as_many_statements_for_many_events_as_for_few(
    world: Team2, browsers: Any, db: Session, app: FastAPI, clock: FrozenClock,
    sql_statements: StatementCounter,
) -> None:  # fmt: skip
    worker = browsers(world.worker)
    actor = actor_of(db, world.worker)

    def note(i: int) -> None:
        db.expire_all()
        case = db.get_one(Case, world.case.id)
        case_service.update_case(
            db, keyring=app.state.keyring, actor=actor, case=case, version=case.version,
            changes={"intake_notes": f"Note {i}"}, now=clock.now(),
        )  # fmt: skip
        db.flush()

    note(0)
    with sql_statements.counting() as few:
        assert worker.get(url(world.case, "/history")).status_code == 200
    for i in range(1, 30):
        note(i)
    with sql_statements.counting() as many:
        r = worker.get(url(world.case, "/history"))
    assert r.status_code == 200
    assert "Page 1 of 2" in r.text
    assert len(many) == len(few), (len(few), len(many))
    assert worker.get(url(world.case, "/history?page=2")).status_code == 200
