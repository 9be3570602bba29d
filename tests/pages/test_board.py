"""The coordinator's triage board: what it shows (and to whom), the actions taken from it,
and that it costs the same number of SQL statements for a quiet day as for a busy one."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases import break_glass
from app.cases import record as rec
from app.cases.models import Case
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users import grants
from app.users.models import AccessRequest, User
from tests.conftest import StatementCounter
from tests.factories import actor_of, make_case, make_team, make_user
from tests.pages.registry import PAGES, Visitor
from tests.pages.visits.coordinator import (
    CoordinatorWorld,
    coordinator_world,
    more_of_everything,
    reauthenticated,
    self_referral,
)


@pytest.fixture
def v(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    """A browser in English."""
    client.headers["accept-language"] = "en"
    return Visitor(client=client, db=db, clock=clock, locale="en")


@pytest.fixture
def world(v: Visitor) -> CoordinatorWorld:
    """A signed-in coordinator with one of everything the board shows."""
    return coordinator_world(v)


def _vetting(v: Visitor, case: Case) -> str:
    v.db.refresh(case)
    dek = rec.case_key(v.db, keyring=v.db.info["keyring"], case=case)
    return str(rec.read(case, dek, ["vetting"])["vetting"]["status"])


def test_the_board_shows_what_waits_for_the_coordinator(
    v: Visitor, world: CoordinatorWorld
) -> None:
    r = v.client.get("/board")
    assert r.status_code == 200
    html = r.text
    assert world.request.case_code in html
    assert world.unassigned.case_code in html
    assert "Not yet checked" in html
    assert "Hearing" in html  # the hearing tomorrow
    assert re.search(r"Overdue tasks <span class=\"count\">\(1\)", html)
    assert "Petra Novak" in html  # the access request's account
    assert "Oleg Sidorov" in html  # the break-glass use
    assert "Nino Beridze" in html  # a caseworker to assign to
    for stage in ("intake", "documentation", "referral", "follow_up", "closed"):
        assert f'href="/cases?stage={stage}"' in html
    # Nothing personal of the request is shown: its pseudonym, contact and message stay shut.
    for secret in ("Лесник", "lesnik_safe.42", "Ушёл из части"):
        assert secret not in html
    assert r.headers["cache-control"] == "no-store"


def test_opening_the_vetting_of_the_requests_is_audited_once_naming_the_field(
    v: Visitor, world: CoordinatorWorld
) -> None:
    before = v.db.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    v.client.get("/board")
    entries = v.db.scalars(
        select(AuditEntry).where(AuditEntry.id > before, AuditEntry.action == "case.read")
    ).all()
    assert [(e.fields, e.reason_code) for e in entries] == [(["vetting"], "board")]


def test_another_teams_case_is_never_on_the_board(v: Visitor, world: CoordinatorWorld) -> None:
    keyring = v.db.info["keyring"]
    other = make_team(v.db)
    theirs = self_referral(v, other)
    waiting = make_case(v.db, keyring=keyring, team=other)
    # Even a live break-glass grant of this coordinator does not bring it onto the board.
    break_glass.open_grant(
        v.db, actor=actor_of(v.db, world.coordinator), case=waiting, now=v.clock.now(),
        keyring=keyring, reason="Night call about a hearing moved to the morning.",
    )  # fmt: skip
    v.db.flush()
    html = v.client.get("/board").text
    assert theirs.case_code not in html
    assert waiting.case_code not in html


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.VOLUNTEER, Role.ADMIN, Role.AUDITOR])
def test_other_roles_get_the_refusal_page(v: Visitor, role: Role) -> None:
    v.signed_in(role)
    r = v.client.get("/board")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")


def test_without_a_session_the_board_sends_to_sign_in(v: Visitor) -> None:
    r = v.client.get("/board", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def test_a_stale_session_sends_to_sign_in(v: Visitor, world: CoordinatorWorld) -> None:
    v.clock.advance(timedelta(days=2))
    r = v.client.get("/board", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def test_the_board_runs_the_same_sql_for_three_rows_as_for_thirty(
    v: Visitor, world: CoordinatorWorld, sql_statements: StatementCounter
) -> None:
    more_of_everything(v, world, 2)
    with sql_statements.counting() as few:
        assert v.client.get("/board").status_code == 200
    more_of_everything(v, world, 28)
    with sql_statements.counting() as many:
        html = v.client.get("/board").text
    assert "The first 20 of" in html
    assert len(many) == len(few), "\n".join(many)


def _board_csrf(v: Visitor) -> str:
    return v.csrf(v.client.get("/board").text)


def test_assigning_from_the_board(v: Visitor, world: CoordinatorWorld) -> None:
    url = f"/board/cases/{world.unassigned.id}/assign"
    data = {"csrf_token": _board_csrf(v), "user_id": str(world.caseworker.id)}
    r = v.client.post(url, data=data, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/board?done=assigned"
    v.db.refresh(world.unassigned)
    assert world.unassigned.assigned_to == world.caseworker.id
    page = v.client.get(r.headers["location"]).text
    assert "The case is assigned." in page
    assert "Every open case has a caseworker." in page


def test_assigning_without_the_csrf_token_is_refused(v: Visitor, world: CoordinatorWorld) -> None:
    url = f"/board/cases/{world.unassigned.id}/assign"
    for token in (None, "not-the-token"):
        data = {"user_id": str(world.caseworker.id)} | ({"csrf_token": token} if token else {})
        assert v.client.post(url, data=data).status_code == 403
    v.db.refresh(world.unassigned)
    assert world.unassigned.assigned_to is None


def test_assigning_someone_not_on_the_team_keeps_the_board_with_the_error_beside_it(
    v: Visitor, world: CoordinatorWorld
) -> None:
    stranger = make_user(v.db, Role.CASEWORKER, teams=[make_team(v.db)])
    url = f"/board/cases/{world.unassigned.id}/assign"
    for chosen in (str(stranger.id), "not-an-id"):
        r = v.client.post(url, data={"csrf_token": _board_csrf(v), "user_id": chosen})
        assert r.status_code == 422
        field = f"f-assign-{world.unassigned.id}"
        assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-error"', r.text)
        assert f'id="{field}-error"' in r.text
    v.db.refresh(world.unassigned)
    assert world.unassigned.assigned_to is None


def test_another_teams_case_or_a_forged_id_answers_the_not_found_page(
    v: Visitor, world: CoordinatorWorld
) -> None:
    theirs = make_case(v.db, keyring=v.db.info["keyring"], team=make_team(v.db))
    for case_id in (theirs.id, uuid.uuid4()):
        data = {"csrf_token": _board_csrf(v), "user_id": str(world.caseworker.id)}
        r = v.client.post(f"/board/cases/{case_id}/assign", data=data)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        r = v.client.post(
            f"/board/requests/{case_id}/vetting",
            data={"csrf_token": _board_csrf(v), "status": "verified", "version": "1"},
        )
        assert r.status_code == 404
    v.db.refresh(theirs)
    assert theirs.assigned_to is None


def test_a_request_is_marked_genuine_or_suspicious(v: Visitor, world: CoordinatorWorld) -> None:
    url = f"/board/requests/{world.request.id}/vetting"
    data = {
        "csrf_token": _board_csrf(v),
        "status": "suspicious",
        "version": str(world.request.version),
    }
    r = v.client.post(url, data=data, follow_redirects=False)
    assert r.headers["location"] == "/board?done=vetted"
    assert _vetting(v, world.request) == "suspicious"
    assert "Suspicious" in v.client.get("/board").text
    data |= {"status": "verified", "version": str(world.request.version)}
    assert v.client.post(url, data=data, follow_redirects=False).status_code == 303
    assert _vetting(v, world.request) == "verified"


def test_an_unjudged_request_is_not_offered_for_assignment_nor_assigned(
    v: Visitor, world: CoordinatorWorld
) -> None:
    """Nobody is sent to contact the person before the request is judged: its card offers
    no assignment, and a forged assignment comes back with the error beside the card."""
    board = v.client.get("/board").text
    card = board[board.index(world.request.case_code) :]
    card = card[: card.index("</li>")]
    assert "/assign" not in card
    assert "Judge the request first" in card
    url = f"/board/cases/{world.request.id}/assign"
    r = v.client.post(url, data={"csrf_token": _board_csrf(v), "user_id": str(world.caseworker.id)})
    assert r.status_code == 409
    assert f'id="f-assign-{world.request.id}-error"' in r.text
    v.db.refresh(world.request)
    assert world.request.assigned_to is None
    vet = {
        "csrf_token": _board_csrf(v),
        "status": "verified",
        "version": str(world.request.version),
    }
    v.client.post(f"/board/requests/{world.request.id}/vetting", data=vet)
    board = v.client.get("/board").text
    assert f'action="/board/cases/{world.request.id}/assign"' in board


def test_a_stale_vetting_changes_nothing(v: Visitor, world: CoordinatorWorld) -> None:
    url = f"/board/requests/{world.request.id}/vetting"
    data = {
        "csrf_token": _board_csrf(v),
        "status": "suspicious",
        "version": str(world.request.version + 5),
    }
    r = v.client.post(url, data=data)
    assert r.status_code == 409
    assert "Someone changed this case" in r.text
    assert _vetting(v, world.request) == "unverified"
    r = v.client.post(url, data=data | {"status": "burn-it", "version": "1"})
    assert r.status_code == 422
    assert _vetting(v, world.request) == "unverified"


def test_approving_asks_for_reauthentication_first(v: Visitor, world: CoordinatorWorld) -> None:
    path = f"/board/access-requests/{world.access.id}/approve"
    v.clock.advance(timedelta(minutes=6))  # the proof given at sign-in is no longer fresh
    r = v.client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/account/reauth?next=")
    # Posting straight away does not approve either, and says what to do in plain words.
    refused = v.client.post(path, data={"csrf_token": _board_csrf(v)})
    assert refused.status_code == 403
    assert "confirm your password and code again" in refused.text
    assert "/api/v1/auth/reauth" not in refused.text
    v.db.refresh(world.access)
    assert world.access.status == "pending"
    page = reauthenticated(v, world.coordinator, path)
    assert page.status_code == 200
    assert "Petra Novak" in page.text
    r = v.client.post(path, data={"csrf_token": v.csrf(page.text)}, follow_redirects=False)
    assert r.headers["location"] == "/board?done=access_approved"
    v.db.refresh(world.access)
    assert world.access.status == "approved"
    assert v.db.get_one(User, world.access.user_id).role == "caseworker"


def test_a_new_accounts_one_time_password_is_shown_once_to_the_approver(
    v: Visitor, world: CoordinatorWorld
) -> None:
    v.db.get_one(User, world.access.user_id).totp_enrolled_at = None
    v.db.flush()
    path = f"/board/access-requests/{world.access.id}/approve"
    page = reauthenticated(v, world.coordinator, path)
    r = v.client.post(path, data={"csrf_token": v.csrf(page.text)})
    assert r.status_code == 200
    assert re.search(r'<p class="secret"><code>[^<]{8,}</code></p>', r.text)
    assert r.headers["cache-control"] == "no-store"


def test_rejecting_an_access_request(v: Visitor, world: CoordinatorWorld) -> None:
    path = f"/board/access-requests/{world.access.id}/reject"
    assert v.client.post(path, data={}).status_code == 403
    v.db.refresh(world.access)
    assert world.access.status == "pending"
    r = v.client.post(path, data={"csrf_token": _board_csrf(v)}, follow_redirects=False)
    assert r.headers["location"] == "/board?done=access_rejected"
    v.db.refresh(world.access)
    assert world.access.status == "rejected"
    assert "Petra Novak" not in v.client.get("/board").text


def test_another_teams_access_request_answers_not_found(
    v: Visitor, world: CoordinatorWorld
) -> None:
    other = make_team(v.db)
    admin = make_user(v.db, Role.ADMIN)
    someone = make_user(v.db, Role.VOLUNTEER, teams=[other])
    theirs: AccessRequest = grants.request_access(
        v.db, actor=actor_of(v.db, admin), user=someone, role=Role.CASEWORKER,
        team_ids=[other.id], now=v.clock.now(),
    )  # fmt: skip
    v.db.flush()
    r = v.client.post(
        f"/board/access-requests/{theirs.id}/reject", data={"csrf_token": _board_csrf(v)}
    )
    assert r.status_code == 404
    v.db.refresh(theirs)
    assert theirs.status == "pending"


def test_totals_past_the_cap_read_at_least(
    v: Visitor, world: CoordinatorWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A count reads every row it counts: the board counts each list to a cap and says "at
    least" beyond it, on the page and in the API; below the cap the totals are exact."""
    more_of_everything(
        v, world, 3
    )  # 4 requests, 4 overdue tasks, more than 3 waiting for a caseworker
    monkeypatch.setattr("app.board.service.COUNT_CAP", 3)
    html = v.client.get("/board").text
    assert re.search(r"Overdue tasks <span class=\"count\">\(3\+\)", html)
    assert re.search(r"New requests <span class=\"count\">\(3\+\)", html)
    api = v.client.get("/api/v1/board").json()
    assert (api["overdue_total"], api["requests_total"]) == (3, 3)
    assert api["capped"] == ["overdue", "requests", "unassigned"]
    monkeypatch.setattr("app.board.service.COUNT_CAP", 1000)
    html = v.client.get("/board").text
    assert re.search(r"Overdue tasks <span class=\"count\">\(4\)", html)
    assert v.client.get("/api/v1/board").json()["capped"] == []


def test_a_lower_list_count_cap_lowers_the_boards(v: Visitor, world: CoordinatorWorld) -> None:
    """HAVEN_LIST_COUNT_CAP (how far every list counts) bounds the board's totals too, on
    the page and in the API; the board's own 1,000 bounds them when the setting is higher."""
    more_of_everything(v, world, 3)
    v.setting(list_count_cap=2)
    html = v.client.get("/board").text
    assert re.search(r"New requests <span class=\"count\">\(2\+\)", html)
    api = v.client.get("/api/v1/board").json()
    assert (api["requests_total"], api["unassigned_total"]) == (2, 2)
    assert api["capped"] == ["overdue", "requests", "unassigned"]
    v.setting(list_count_cap=100_000)
    assert v.client.get("/api/v1/board").json()["capped"] == []


def test_the_registered_capped_board_is_what_it_is_named_for(v: Visitor) -> None:
    """The `board-capped` page state (four of each list, counted to three) shows "at least"
    beside each list it cut, so the accessibility scan and the screenshots see that state."""
    (visit,) = (p for p in PAGES if p.name == "board-capped")
    html = visit.reach(v).text
    for heading in ("New requests", "Overdue tasks"):
        assert re.search(heading + r" <span class=\"count\">\(3\+\)", html), heading
