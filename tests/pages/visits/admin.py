"""The pages of the admin's part: my account (every role), the auditor's log, and the
administrator's accounts, teams and keys; each state that renders differently."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.policy.permissions import Role
from app.users.models import Team
from tests.factories import make_team as _factory_team
from tests.factories import make_user
from tests.pages.registry import PageVisit, Visitor

USER_LINK = re.compile(r'href="/admin/users/([0-9a-f-]{36})"')
TEAM_LINK = re.compile(r'href="/admin/teams/([0-9a-f-]{36})"')


def make_team(db: Session) -> Team:
    """A team named in no language the leak check knows ("Team 1a2b3c" would read as the
    English word on a Russian page)."""
    team = _factory_team(db)
    team.name = "Vilnius-" + team.name.split()[-1]
    db.flush()
    return team


def _renamed(v: Visitor) -> None:
    for team in v.db.scalars(select(Team).where(Team.name.like("Team %"))):
        team.name = "Vilnius-" + team.name.split()[-1]
    v.db.flush()


def _account(v: Visitor) -> httpx.Response:
    v.signed_in(Role.CASEWORKER)
    _renamed(v)
    return v.client.get("/account")


def _account_password_errors(v: Visitor) -> httpx.Response:
    page = _account(v)
    data = {
        "csrf_token": v.csrf(page.text),
        "current_password": "not-the-password",
        "code": "000000",
        "new_password": "quiet-otter-paints-31",
        "new_password_again": "quiet-otter-paints-13",
    }
    return v.client.post("/account/password", data=data)


def _account_password_wrong(v: Visitor) -> httpx.Response:
    page = _account(v)
    data = {
        "csrf_token": v.csrf(page.text),
        "current_password": "not-the-password",
        "code": "000000",
        "new_password": "quiet-otter-paints-31",
        "new_password_again": "quiet-otter-paints-31",
    }
    return v.client.post("/account/password", data=data)


def _codes_form(v: Visitor) -> httpx.Response:
    v.signed_in(Role.COORDINATOR)
    return v.client.get("/account/recovery-codes")


def _codes_shown(v: Visitor) -> httpx.Response:
    page = _codes_form(v)
    return v.client.post("/account/recovery-codes", data={"csrf_token": v.csrf(page.text)})


def _admin(v: Visitor) -> None:
    v.signed_in(Role.ADMIN)
    _renamed(v)


def _users(v: Visitor) -> httpx.Response:
    _admin(v)
    make_user(v.db, Role.VOLUNTEER, teams=[make_team(v.db)])
    make_user(v.db, Role.AUDITOR).disabled_at = v.clock.now()
    v.db.flush()
    return v.client.get("/admin/users")


def _users_none(v: Visitor) -> httpx.Response:
    _admin(v)
    return v.client.get("/admin/users?role=volunteer&active=no")


def _new_user(v: Visitor) -> httpx.Response:
    _admin(v)
    make_team(v.db)
    return v.client.get("/admin/users/new")


def _new_user_errors(v: Visitor) -> httpx.Response:
    page = _new_user(v)
    data = {"csrf_token": v.csrf(page.text), "email": "", "role": "", "name": "x" * 121}
    return v.client.post("/admin/users/new", data=data)


def _new_user_created(v: Visitor) -> httpx.Response:
    page = _new_user(v)
    data = {"csrf_token": v.csrf(page.text), "email": "new-auditor@example.invalid"}
    return v.client.post("/admin/users/new", data=data | {"role": "auditor"})


def _new_user_pending(v: Visitor) -> httpx.Response:
    page = _new_user(v)
    team = re.findall(r'<option value="([0-9a-f-]{36})"', page.text)[0]
    data = {"csrf_token": v.csrf(page.text), "email": "new-worker@example.invalid"}
    return v.client.post("/admin/users/new", data=data | {"role": "caseworker", "team": team})


def _user(v: Visitor) -> httpx.Response:
    _admin(v)
    other = make_user(v.db, Role.VOLUNTEER, teams=[make_team(v.db)])
    return v.client.get(f"/admin/users/{other.id}")


def _own_access(v: Visitor) -> httpx.Response:
    _admin(v)
    me = v.client.get("/admin/users")
    own = USER_LINK.findall(me.text)[0]
    page = v.client.get(f"/admin/users/{own}")
    data = {"csrf_token": v.csrf(page.text), "role": "auditor", "team": ""}
    return v.client.post(f"/admin/users/{own}/access", data=data)


def _password(v: Visitor) -> httpx.Response:
    _admin(v)
    other = make_user(v.db, Role.AUDITOR)
    return v.client.get(f"/admin/users/{other.id}/password")


def _password_shown(v: Visitor) -> httpx.Response:
    page = _password(v)
    action = re.search(r'action="(/admin/users/[^"]+/password)"', page.text)
    assert action
    return v.client.post(action.group(1), data={"csrf_token": v.csrf(page.text)})


def _password_refused(v: Visitor) -> httpx.Response:
    _admin(v)
    other = make_user(v.db, Role.CASEWORKER, teams=[make_team(v.db)], enrolled=False)
    page = v.client.get(f"/admin/users/{other.id}/password")
    data = {"csrf_token": v.csrf(page.text)}
    return v.client.post(f"/admin/users/{other.id}/password", data=data)


def _teams(v: Visitor) -> httpx.Response:
    _admin(v)
    make_team(v.db)
    return v.client.get("/admin/teams")


def _teams_error(v: Visitor) -> httpx.Response:
    page = _teams(v)
    return v.client.post("/admin/teams", data={"csrf_token": v.csrf(page.text), "name": " "})


def _team(v: Visitor) -> httpx.Response:
    _admin(v)
    team = make_team(v.db)
    make_user(v.db, Role.VOLUNTEER, teams=[team])
    return v.client.get(f"/admin/teams/{team.id}")


def _team_empty(v: Visitor) -> httpx.Response:
    v.signed_in(Role.AUDITOR)
    return v.client.get(f"/admin/teams/{make_team(v.db).id}")


def _keys(v: Visitor) -> httpx.Response:
    _admin(v)
    return v.client.get("/admin/keys")


def _auditor(v: Visitor) -> None:
    v.signed_in(Role.AUDITOR)


def _log(v: Visitor) -> httpx.Response:
    _auditor(v)
    v.client.get("/audit")  # its own read is an entry
    return v.client.get("/audit")


def _log_errors(v: Visitor) -> httpx.Response:
    _auditor(v)
    return v.client.get("/audit?actor=nobody&case=HV-0000-NOPE&since=yesterday")


def _log_none(v: Visitor) -> httpx.Response:
    _auditor(v)
    return v.client.get("/audit?action=case.erased")


def _verify(v: Visitor) -> httpx.Response:
    _auditor(v)
    return v.client.get("/audit/verify")


def _alerts(v: Visitor) -> httpx.Response:
    _auditor(v)
    return v.client.get("/audit/alerts?days=7")


def _no_checkpoint(v: Visitor) -> httpx.Response:
    _auditor(v)
    return v.client.get("/audit/checkpoint.txt")


PAGES: tuple[PageVisit, ...] = (
    PageVisit("account", "GET", "/account", _account),
    PageVisit(
        "account-password-errors", "POST", "/account/password", _account_password_errors, 422
    ),
    PageVisit("account-password-wrong", "POST", "/account/password", _account_password_wrong, 422),
    PageVisit("account-recovery-codes", "GET", "/account/recovery-codes", _codes_form),
    PageVisit("account-recovery-codes-shown", "POST", "/account/recovery-codes", _codes_shown),
    PageVisit("admin-users", "GET", "/admin/users", _users),
    PageVisit("admin-users-none", "GET", "/admin/users", _users_none),
    PageVisit("admin-user-new", "GET", "/admin/users/new", _new_user),
    PageVisit("admin-user-new-errors", "POST", "/admin/users/new", _new_user_errors, 422),
    PageVisit("admin-user-created", "POST", "/admin/users/new", _new_user_created),
    PageVisit("admin-user-pending", "POST", "/admin/users/new", _new_user_pending),
    PageVisit("admin-user", "GET", "/admin/users/{user_id}", _user),
    PageVisit("admin-user-own-access", "POST", "/admin/users/{user_id}/access", _own_access, 403),
    PageVisit("admin-user-password", "GET", "/admin/users/{user_id}/password", _password),
    PageVisit(
        "admin-user-password-shown", "POST", "/admin/users/{user_id}/password", _password_shown
    ),
    PageVisit(
        "admin-user-password-refused",
        "POST",
        "/admin/users/{user_id}/password",
        _password_refused,
        409,
    ),
    PageVisit("admin-teams", "GET", "/admin/teams", _teams),
    PageVisit("admin-teams-error", "POST", "/admin/teams", _teams_error, 422),
    PageVisit("admin-team", "GET", "/admin/teams/{team_id}", _team),
    PageVisit("admin-team-empty-auditor", "GET", "/admin/teams/{team_id}", _team_empty),
    PageVisit("admin-keys", "GET", "/admin/keys", _keys),
    PageVisit("audit-log", "GET", "/audit", _log),
    PageVisit("audit-log-errors", "GET", "/audit", _log_errors, 422),
    PageVisit("audit-log-none", "GET", "/audit", _log_none),
    PageVisit("audit-verify", "GET", "/audit/verify", _verify),
    PageVisit("audit-alerts", "GET", "/audit/alerts", _alerts),
    PageVisit("audit-no-checkpoint", "GET", "/audit/checkpoint.txt", _no_checkpoint),
)

NOT_PAGES = {
    "/audit/export.csv": "a CSV download (tests/pages/test_audit_pages.py)",
    "/audit/verifier-key.txt": "the public key, a text download (tests/pages/test_audit_pages)",
}
