"""The administrator's pages: who may open them, every form's CSRF, the one-time password
shown once and never again, re-authentication before a new account, a role change or a new
password, errors beside their fields with nothing written, and lists in constant SQL."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.security.models import AuthSession
from app.users.models import AccessRequest, Team, TeamMembership, User
from tests.conftest import StatementCounter, synthetic_id
from tests.factories import PASSWORD, auth, bearer, make_case, make_team, make_user
from tests.pages.helpers_admin import browser, error_beside, post, sign_in

ONE_TIME = re.compile(r'<code class="secret" id="one-time-password">([^<]+)</code>')


def _users(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.CASEWORKER, Role.VOLUNTEER, Role.AUDITOR])
@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/users/new", "/admin/keys", "/admin/users/{id}"]
)
def test_other_roles_get_the_403_page(
    client: TestClient, db: Session, clock: FrozenClock, role: Role, path: str
) -> None:
    v = browser(client, db, clock)
    sign_in(v, role)
    target = make_user(db, Role.VOLUNTEER, teams=[make_team(db)])
    r = client.get(path.replace("{id}", str(target.id)))
    if role is Role.COORDINATOR and path == "/admin/users/{id}":
        assert r.status_code in (403, 404)
    else:
        assert r.status_code == 403, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert target.email not in r.text


def test_a_coordinator_can_never_make_anyone_admin(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    team = make_team(db)
    _, csrf = sign_in(v, Role.COORDINATOR)
    colleague = make_user(db, Role.CASEWORKER, teams=[team])
    for url, data in (
        (f"/admin/users/{colleague.id}/access", {"role": "admin", "team": ""}),
        ("/admin/users/new", {"email": "boss@example.invalid", "role": "admin", "team": ""}),
    ):
        r = post(v, url, csrf, **data)
        assert r.status_code in (403, 404), (url, r.status_code)
    db.refresh(colleague)
    assert colleague.role == "caseworker"
    assert db.scalar(select(User).where(User.email == "boss@example.invalid")) is None


def test_the_unauthenticated_go_to_sign_in(client: TestClient) -> None:
    for path in ("/admin/users", "/admin/teams", "/admin/keys", "/account", "/audit"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path


def test_a_stale_session_goes_to_sign_in(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.ADMIN)
    clock.advance(timedelta(days=2))
    r = client.get("/admin/users", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")


def test_a_forged_account_or_team_id_is_the_404_page(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    _, csrf = sign_in(v, Role.ADMIN)
    for path in (f"/admin/users/{synthetic_id()}", f"/admin/teams/{synthetic_id()}"):
        r = client.get(path)
        assert r.status_code == 404
        assert "<h1>" in r.text
    r = post(v, f"/admin/users/{synthetic_id()}/disable", csrf)
    assert r.status_code == 404


def test_every_admin_form_refuses_a_missing_or_wrong_token(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.ADMIN)
    other = make_user(db, Role.VOLUNTEER, teams=[make_team(db)])
    users_before = _users(db)
    urls = {
        "/admin/users/new": {"email": "x@example.invalid", "role": "auditor"},
        f"/admin/users/{other.id}/access": {"role": "auditor", "team": ""},
        f"/admin/users/{other.id}/disable": {},
        f"/admin/users/{other.id}/enable": {},
        f"/admin/users/{other.id}/unlock": {},
        f"/admin/users/{other.id}/sessions/end": {},
        f"/admin/users/{other.id}/password": {},
        "/admin/teams": {"name": "Kaunas"},
    }
    for url, data in urls.items():
        for token in (None, "not-the-token"):
            r = post(v, url, token, **data)
            assert r.status_code == 403, (url, token, r.status_code)
            assert "<h1>" in r.text
    db.refresh(other)
    assert (other.role, other.disabled_at, _users(db)) == ("volunteer", None, users_before)
    assert db.scalar(select(Team).where(Team.name == "Kaunas")) is None


def test_a_new_account_shows_its_one_time_password_once(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    _, csrf = sign_in(v, Role.ADMIN)
    assert client.get("/admin/users/new").status_code == 200
    r = post(v, "/admin/users/new", csrf, email="New.Auditor@Example.invalid", role="auditor")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["cache-control"] == "no-store"
    match = ONE_TIME.search(r.text)
    assert match
    password = match.group(1)
    made = db.scalars(select(User).where(User.email == "new.auditor@example.invalid")).one()
    assert made.password_must_change
    for path in (f"/admin/users/{made.id}", "/admin/users", "/account"):
        assert password not in client.get(path).text, path
    # The new person signs in with it, once: first the authenticator, then their own password.
    stranger = browser(TestClient(client.app, base_url="https://testserver"), db, clock)
    first = stranger.password_step(made, password=password)
    assert first.headers["location"] == "/login/enrol"


def test_a_case_role_waits_for_a_coordinator_and_no_password_is_shown(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    team = make_team(db)
    _, csrf = sign_in(v, Role.ADMIN)
    r = post(
        v, "/admin/users/new", csrf, email="w@example.invalid", role="caseworker", team=str(team.id)
    )
    assert r.status_code == 200
    assert not ONE_TIME.search(r.text)
    made = db.scalars(select(User).where(User.email == "w@example.invalid")).one()
    pending = db.scalars(select(AccessRequest).where(AccessRequest.user_id == made.id)).one()
    assert pending.status == "pending"
    assert pending.team_ids == [str(team.id)]


def test_new_account_errors_sit_beside_their_fields_and_nothing_is_written(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    _, csrf = sign_in(v, Role.ADMIN)
    taken = make_user(db, Role.AUDITOR)
    before = _users(db)
    r = post(v, "/admin/users/new", csrf, email="typed@example.invalid", role="", name="Ola")
    assert r.status_code == 422
    assert error_beside(r.text, "role") == "Choose one of the options."
    assert 'value="typed@example.invalid"' in r.text
    assert 'value="Ola"' in r.text
    r = post(v, "/admin/users/new", csrf, email="not an address", role="auditor")
    assert r.status_code == 422
    assert "e-mail address" in error_beside(r.text, "email")
    r = post(v, "/admin/users/new", csrf, email=taken.email, role="auditor")
    assert r.status_code == 422
    assert "exists already" in error_beside(r.text, "email")
    r = post(
        v, "/admin/users/new", csrf, email="long@example.invalid", role="auditor", name="x" * 121
    )
    assert r.status_code == 422
    assert "120" in error_beside(r.text, "name")
    r = post(v, "/admin/users/new", csrf, email="t@example.invalid", role="auditor", team="zzz")
    assert r.status_code == 422
    assert error_beside(r.text, "team")
    assert _users(db) == before
    assert "Traceback" not in r.text


def test_dangerous_acts_ask_for_re_authentication_first(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    _, csrf = sign_in(v, Role.ADMIN)
    other = make_user(db, Role.VOLUNTEER, teams=[make_team(db)])
    clock.advance(timedelta(minutes=10))  # the sign-in's own proof has lapsed
    r = client.get("/admin/users/new", follow_redirects=False)
    assert r.headers["location"] == "/account/reauth?next=%2Fadmin%2Fusers%2Fnew"
    before = _users(db)
    r = post(v, "/admin/users/new", csrf, email="late@example.invalid", role="auditor")
    assert r.headers["location"].startswith("/account/reauth?next=/admin/users/new")
    assert _users(db) == before
    r = post(v, f"/admin/users/{other.id}/access", csrf, role="auditor", team="")
    assert r.headers["location"] == f"/account/reauth?next=/admin/users/{other.id}"
    db.refresh(other)
    assert other.role == "volunteer"
    r = client.get(f"/admin/users/{other.id}/password", follow_redirects=False)
    assert r.headers["location"].startswith("/account/reauth?next=")


def test_an_admin_changes_role_and_team_but_never_their_own(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    me, csrf = sign_in(v, Role.ADMIN)
    team, other_team = make_team(db), make_team(db)
    volunteer = make_user(db, Role.VOLUNTEER, teams=[team])
    r = post(
        v, f"/admin/users/{volunteer.id}/access", csrf, role="volunteer", team=str(other_team.id)
    )
    assert r.headers["location"] == f"/admin/users/{volunteer.id}?done=account_updated"
    teams = db.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == volunteer.id))
    assert list(teams) == [other_team.id]
    r = post(v, f"/admin/users/{volunteer.id}/access", csrf, role="caseworker", team=str(team.id))
    assert r.headers["location"].endswith("?done=access_requested")
    db.refresh(volunteer)
    assert volunteer.role == "volunteer"  # a grant of case content waits for a coordinator
    waiting = client.get(f"/admin/users/{volunteer.id}").text
    request_id = re.search(r'action="/admin/access-requests/([0-9a-f-]{36})/withdraw"', waiting)
    assert request_id
    assert "Waiting for a coordinator" in waiting
    withdraw = f"/admin/access-requests/{request_id.group(1)}/withdraw"
    assert post(v, withdraw, None).status_code == 403
    r = post(v, withdraw, csrf)
    assert r.headers["location"] == f"/admin/users/{volunteer.id}?done=request_withdrawn"
    decided = db.get(AccessRequest, uuid.UUID(request_id.group(1)))
    assert decided is not None
    db.refresh(decided)
    assert decided.status == "rejected"
    assert "Waiting for a coordinator" not in client.get(f"/admin/users/{volunteer.id}").text
    r = post(v, f"/admin/users/{me.id}/access", csrf, role="auditor", team="")
    assert r.status_code == 403
    assert "your own role" in r.text
    db.refresh(me)
    assert me.role == "admin"
    # Refused and recorded as the API's refusal is: an attempt at self-promotion is evidence.
    refusal = select(func.count()).where(
        AuditEntry.action == "access.denied",
        AuditEntry.reason_code == "own_access_change",
        AuditEntry.object_id == str(me.id),
    )
    assert db.scalar(refusal) == 1
    r = post(v, f"/admin/users/{volunteer.id}/access", csrf, role="emperor", team="")
    assert r.status_code == 422
    assert error_beside(r.text, "role")


def test_a_change_of_role_keeps_every_team_the_account_is_in(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    """A coordinator of two teams, demoted: the form shows both teams ticked, and what it
    sends keeps both (a one-team form silently took the second away); one unticked leaves."""
    v = browser(client, db, clock)
    _, csrf = sign_in(v, Role.ADMIN)
    first, second, third = make_team(db), make_team(db), make_team(db)
    lead = make_user(db, Role.COORDINATOR, teams=[first, second])
    page = client.get(f"/admin/users/{lead.id}").text
    ticked = set(re.findall(r'name="team" value="([0-9a-f-]{36})" checked', page))
    assert ticked == {str(first.id), str(second.id)}
    assert f'name="team" value="{third.id}">' in page, "a team to add is offered unticked"
    both = {"role": "caseworker", "team": [str(first.id), str(second.id)], "csrf_token": csrf}
    r = client.post(f"/admin/users/{lead.id}/access", data=both, follow_redirects=False)
    assert r.headers["location"].endswith("?done=account_updated")
    db.refresh(lead)
    assert lead.role == "caseworker"
    kept = db.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == lead.id))
    assert set(kept) == {first.id, second.id}
    r = post(v, f"/admin/users/{lead.id}/access", csrf, role="caseworker", team=str(second.id))
    assert r.headers["location"].endswith("?done=account_updated")
    kept = db.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == lead.id))
    assert set(kept) == {second.id}
    r = post(v, f"/admin/users/{lead.id}/access", csrf, role="caseworker", team="not-a-team")
    assert r.status_code == 422
    assert 'id="f-team-error"' in r.text


def test_disable_enable_unlock_and_end_sessions(
    client: TestClient, db: Session, clock: FrozenClock, settings: object
) -> None:
    v = browser(client, db, clock)
    me, csrf = sign_in(v, Role.ADMIN)
    other = make_user(db, Role.AUDITOR)
    token = bearer(db, other, clock=clock, settings=settings)  # type: ignore[arg-type]
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 200
    r = post(v, f"/admin/users/{other.id}/sessions/end", csrf)
    assert r.headers["location"].endswith("done=account_sessions_ended")
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401
    r = post(v, f"/admin/users/{other.id}/disable", csrf)
    assert r.headers["location"].endswith("done=account_disabled")
    db.refresh(other)
    assert other.disabled_at is not None
    assert "disabled" in client.get(f"/admin/users/{other.id}").text
    r = post(v, f"/admin/users/{other.id}/enable", csrf)
    db.refresh(other)
    assert other.disabled_at is None
    r = post(v, f"/admin/users/{other.id}/unlock", csrf)
    assert r.headers["location"].endswith("done=account_unlocked")
    r = post(v, f"/admin/users/{me.id}/disable", csrf)
    assert r.status_code == 422
    db.refresh(me)
    assert me.disabled_at is None
    assert db.scalar(select(AuthSession).where(AuthSession.user_id == me.id)) is not None


def test_a_new_one_time_password_is_shown_once_or_refused(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    _, csrf = sign_in(v, Role.ADMIN)
    auditor = make_user(db, Role.AUDITOR)
    old_hash = auditor.password_hash
    assert client.get(f"/admin/users/{auditor.id}/password").status_code == 200
    r = post(v, f"/admin/users/{auditor.id}/password", csrf)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    match = ONE_TIME.search(r.text)
    assert match
    assert match.group(1) not in client.get(f"/admin/users/{auditor.id}").text
    db.refresh(auditor)
    assert auditor.password_hash != old_hash
    assert auditor.password_must_change
    worker = make_user(db, Role.CASEWORKER, teams=[make_team(db)], enrolled=False)
    kept = worker.password_hash
    r = post(v, f"/admin/users/{worker.id}/password", csrf)
    assert r.status_code == 409
    assert not ONE_TIME.search(r.text)
    db.refresh(worker)
    assert worker.password_hash == kept


def test_teams_created_listed_and_their_members(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    _, csrf = sign_in(v, Role.ADMIN)
    r = post(v, "/admin/teams", csrf, name="  ")
    assert r.status_code == 422
    assert error_beside(r.text, "name") == "This is needed."
    r = post(v, "/admin/teams", csrf, name="y" * 121)
    assert r.status_code == 422
    assert 'value="' + "y" * 121 + '"' in r.text
    assert db.scalar(select(Team).where(Team.name.like("yyy%"))) is None
    r = post(v, "/admin/teams", csrf, name="Kaunas")
    assert r.headers["location"] == "/admin/teams?done=team_created"
    team = db.scalars(select(Team).where(Team.name == "Kaunas")).one()
    member = make_user(db, Role.VOLUNTEER, teams=[team])
    page = client.get("/admin/teams")
    assert "Kaunas" in page.text
    members = client.get(f"/admin/teams/{team.id}")
    assert member.email in members.text


def test_an_auditor_sees_names_and_roles_of_a_team_only(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.AUDITOR)
    team = make_team(db)
    member = make_user(db, Role.VOLUNTEER, teams=[team])
    r = client.get(f"/admin/teams/{team.id}")
    assert r.status_code == 200
    assert member.email.split("@")[0] in r.text  # the name
    assert member.email not in r.text
    assert f"/admin/users/{member.id}" not in r.text


def test_the_filters_narrow_the_list(client: TestClient, db: Session, clock: FrozenClock) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.ADMIN)
    team = make_team(db)
    volunteer = make_user(db, Role.VOLUNTEER, teams=[team])
    auditor = make_user(db, Role.AUDITOR)
    auditor.disabled_at = clock.now()
    db.flush()
    by_role = client.get("/admin/users?role=volunteer").text
    assert volunteer.email in by_role
    assert auditor.email not in by_role
    by_team = client.get(f"/admin/users?team={team.id}").text
    assert volunteer.email in by_team
    assert auditor.email not in by_team
    disabled = client.get("/admin/users?active=no").text
    assert auditor.email in disabled
    assert volunteer.email not in disabled
    odd = client.get("/admin/users?role=emperor&team=nope&active=maybe")
    assert odd.status_code == 200


def test_the_lists_run_a_constant_number_of_statements(
    client: TestClient, db: Session, clock: FrozenClock, sql_statements: StatementCounter
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.ADMIN)

    def count(path: str) -> int:
        with sql_statements.counting() as seen:
            assert client.get(path).status_code == 200
        return len(seen)

    def grow(n: int) -> None:
        for _ in range(n):
            team = make_team(db)
            make_user(db, Role.VOLUNTEER, teams=[team, make_team(db)])

    grow(2)
    few = {p: count(p) for p in ("/admin/users", "/admin/teams")}
    grow(15)
    many = {p: count(p) for p in ("/admin/users", "/admin/teams")}
    assert few == many


def test_the_keys_page_shows_state_and_never_a_key(
    client: TestClient, db: Session, clock: FrozenClock, keyring: Keyring
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.ADMIN)
    make_case(db, keyring=keyring, team=make_team(db))  # a data key under KEK version 1
    r = client.get("/admin/keys")
    assert r.status_code == 200
    assert "haven keys rotate" in r.text
    assert re.search(r'<td data-label="Version">1</td>', r.text)
    assert re.search(r'<td data-label="Data keys">1</td>', r.text)
    api = client.get("/api/v1/sys/keys").json()
    assert api["current_version"] == 1
    assert api["versions"][0]["state"] == "current"
    assert PASSWORD not in r.text


def test_the_api_filters_accounts_as_the_page_does(
    client: TestClient, db: Session, clock: FrozenClock, settings: object
) -> None:
    admin = make_user(db, Role.ADMIN)
    headers = auth(bearer(db, admin, clock=clock, settings=settings))  # type: ignore[arg-type]
    team = make_team(db)
    volunteer = make_user(db, Role.VOLUNTEER, teams=[team])
    r = client.get(f"/api/v1/users?role=volunteer&team_id={team.id}&active=true", headers=headers)
    assert r.status_code == 200, r.text
    assert [u["email"] for u in r.json()["items"]] == [volunteer.email]
    assert client.get("/api/v1/users?colour=red", headers=headers).status_code == 422
