"""The administrator's pages: accounts (list, create, role and team, disable, unlock, end
sessions, a new one-time password), teams and their members, and the keys' state.

The same services as `/api/v1/users`, `/api/v1/teams` and `/api/v1/sys/keys`. Access is
declared in each signature; a dangerous act (a new account, a role or team change, a new
password) needs a fresh re-authentication: the page sends the browser to
/account/reauth and back."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.crypto.status import key_status
from app.deps import DbSession
from app.errors import HavenError
from app.forms import REQUIRED, read_form, read_lists, validate
from app.i18n import LazyText, lazy
from app.pagination import PageQuery
from app.policy.deps import Actor, require
from app.policy.permissions import CASE_ROLES, Permission, Role, redact_member
from app.security import sessions
from app.security.errors import OwnAccessChange
from app.users import grants, service
from app.users.dependencies import (
    AccessRequestReject,
    TeamDirectory,
    UserPasswordReset,
    UserRead,
    UserSessions,
    UserUnlock,
    UserWrite,
)
from app.users.labels import ROLES, role_label
from app.users.models import User, shown_name
from app.users.schemas import TeamIn, UserCreate
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

PER_PAGE = 50
EMAIL_TAKEN = lazy("An account with this e-mail exists already.")
NOT_AN_EMAIL = lazy("Write an e-mail address, for example name@example.org.")
OWN_ACCESS = lazy("You cannot change your own role or teams; ask another administrator.")
OWN_DISABLE = lazy("You cannot disable your own account.")
NO_AUTHENTICATOR = lazy(
    "This account has no authenticator yet: its password comes from the coordinator who "
    "approves its access."
)
TEAM_NAME = lazy("Write a name of 1 to 120 characters.")
ACCESS_REFUSED = lazy("This change cannot be made; check the role and the team.")


def _fresh(request: Request, actor: Actor) -> bool:
    return sessions.reauth_is_fresh(actor.reauth_at, now=request.app.state.clock.now())


def _reauth(back: str) -> Response:
    """To the re-authentication page, then back to `back` (a page, never a POST)."""
    return see_other(f"/account/reauth?next={back}")


def _roles() -> list[tuple[str, LazyText]]:
    return [(r.value, ROLES[r]) for r in Role]


def _team_options(db: Session, empty: LazyText) -> list[tuple[str, object]]:
    return [("", empty)] + [(str(t.id), t.name) for t in service.all_teams(db)]


# -- Accounts ------------------------------------------------------------------------------


@router.get("/admin/users")
def users_page(
    *,
    request: Request,
    db: DbSession,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    role: Annotated[str, Query(max_length=16)] = "",
    team: Annotated[str, Query(max_length=40)] = "",
    active: Annotated[str, Query(max_length=8)] = "",
    actor: Actor = require(Permission.USER_READ),
) -> Response:
    """Every account, by e-mail: filters by role, team and state, one page at a time."""
    flt = service.AccountFilter(
        role=Role(role) if role in {r.value for r in Role} else None,
        team_id=_uuid(team),
        active={"yes": True, "no": False}.get(active),
    )
    q = PageQuery(page=page, per_page=PER_PAGE)
    rows, total = service.list_accounts(db, flt, offset=q.offset, limit=q.per_page)
    query = urlencode({k: v for k, v in (("role", role), ("team", team), ("active", active)) if v})
    context = {
        "rows": rows,
        "total": total,
        "page": q.page,
        "pages": max(1, -(-total // q.per_page)),
        "query": query,
        "filters": {"role": role, "team": team, "active": active},
        "role_options": [("", lazy("any role")), *_roles()],
        "team_options": _team_options(db, lazy("any team")),
        "active_options": [
            ("", lazy("any")),
            ("yes", lazy("active")),
            ("no", lazy("disabled")),
        ],
        "can_create": actor.can(Permission.USER_CREATE),
    }
    return render(request, "admin/users.html", context)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


NEW_FIELDS = ("email", "name", "role", "team")


def _new_form(
    request: Request,
    db: Session,
    values: dict[str, str],
    errors: dict[str, LazyText] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "values": values,
        "errors": errors or {},
        "role_options": [("", lazy("Choose a role")), *_roles()],
        "team_options": _team_options(db, lazy("no team")),
    }
    return render(request, "admin/user_new.html", context, status)


@router.get("/admin/users/new")
def new_user_page(
    request: Request, db: DbSession, actor: Actor = require(Permission.USER_CREATE, reauth=True)
) -> Response:
    """The form for a new account (after re-authentication, as the API asks)."""
    return _new_form(request, db, {})


@router.post("/admin/users/new")
async def new_user_submit(
    request: Request, db: DbSession, actor: Actor = require(Permission.USER_CREATE)
) -> Response:
    """Create the account: its one-time password is shown on this answer only; an account
    that sees case content waits instead for a coordinator to approve it."""
    values = await read_form(request, NEW_FIELDS)
    if not _fresh(request, actor):
        return _reauth("/admin/users/new")
    team = next((t for t in service.all_teams(db) if str(t.id) == values.get("team")), None)
    payload = {
        "email": values.get("email", "").strip(),
        "role": values.get("role") or None,
        "teams": [team.name] if team else [],
        "name": values.get("name", "").strip() or None,
    }
    parsed, errors = validate(
        UserCreate,
        payload,
        field_of=lambda loc: str(loc[0]) if loc else "form",
        messages={"email": {"string_pattern_mismatch": NOT_AN_EMAIL}},
    )
    if values.get("team") and team is None:
        errors["team"] = lazy("Choose one from the list.")
    if parsed is None or errors:
        return _new_form(request, db, values, errors, 422)
    try:
        return _create(request, db, actor, parsed)
    except HavenError as exc:
        field = "email"
        message = EMAIL_TAKEN if exc.status == 409 else NOT_AN_EMAIL
        if exc.status == 422 and exc.extra.get("errors", [{}])[0].get("field") == "name":
            field, message = "name", lazy("This is too long: at most 120 characters.")
        return _new_form(request, db, values, {field: message}, 422)


def _create(request: Request, db: Session, actor: Actor, body: UserCreate) -> Response:
    # The same steps as POST /api/v1/users (app/users/api.py create_user).
    case_role = body.role in CASE_ROLES
    made = service.create_user(
        db,
        email=body.email,
        role=body.role,
        teams=[] if case_role else body.teams,
        actor=actor,
        keyring=request.app.state.keyring,
        name=body.name,
    )
    pending = False
    if case_role:
        team_ids = [service.get_or_create_team(db, name, actor=actor).id for name in body.teams]
        grants.request_access(
            db,
            actor=actor,
            user=made.user,
            role=body.role,
            team_ids=team_ids,
            now=request.app.state.clock.now(),
            new_account=True,
        )
        pending = True
    context = {
        "user_id": made.user.id,
        "email": made.user.email,
        "role": role_label(body.role),
        # A case role's first password goes to the approving coordinator, never here.
        "password": None if case_role else made.password,
        "pending": pending,
        "reset": False,
    }
    response = render(request, "admin/user_created.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/users/{user_id}")
def user_page(request: Request, db: DbSession, access: UserRead) -> Response:
    """One account: its facts and what an administrator can do with it."""
    return _user_page(request, db, access.actor, access.user.id)


def _user_page(
    request: Request,
    db: Session,
    actor: Actor,
    user_id: uuid.UUID,
    *,
    values: dict[str, object] | None = None,
    errors: dict[str, LazyText] | None = None,
    status: int = 200,
) -> Response:
    user = db.get_one(User, user_id)
    teams = service.teams_of(db, user.id)
    names = {str(t.id): t.name for t in service.all_teams(db)}
    pending = [
        {
            "id": r.id,
            "role": role_label(r.role),
            "teams": [names.get(t, "?") for t in r.team_ids],
            "requested_at": r.requested_at,
        }
        for r in grants.pending_for_user(db, actor, user.id)
    ]
    context = {
        "user": {
            "id": user.id,
            "name": shown_name(user),
            "email": user.email,
            "role": role_label(user.role),
            "teams": [t.name for t in teams],
            "disabled": user.disabled_at is not None,
            "enrolled": user.totp_enrolled_at is not None,
            "created_at": user.created_at,
            "one_time": user.password_must_change,
        },
        "own": user.id == actor.id,
        "pending": pending,
        "can_withdraw": actor.can(Permission.ACCESS_REQUEST_REJECT),
        "values": values or {"role": user.role, "team": [str(t.id) for t in teams]},
        "team_checks": [(str(t.id), t.name) for t in service.all_teams(db)],
        "errors": errors or {},
        "role_options": _roles(),
        "team_options": _team_options(db, lazy("no team")),
        "can_update": actor.can(Permission.USER_UPDATE),
        "can_sessions": actor.can(Permission.USER_END_SESSIONS),
        "can_unlock": actor.can(Permission.USER_UNLOCK),
    }
    return render(request, "admin/user.html", context, status)


@router.post("/admin/users/{user_id}/access")
async def change_access(request: Request, db: DbSession, access: UserWrite) -> Response:
    """A new role or team (fresh re-authentication; never one's own; a grant of case content
    waits for a coordinator's approval), as PATCH /api/v1/users/{id}."""
    actor, user = access.actor, access.user
    back = f"/admin/users/{user.id}"
    # Every team the account is to be in (check boxes): a change of role keeps the others.
    role_value = (await read_form(request, ("role",))).get("role", "")
    chosen = [t for t in (await read_lists(request, ("team",)))["team"] if t]
    values: dict[str, object] = {"role": role_value, "team": chosen}
    errors: dict[str, LazyText] = {}
    if role_value not in {r.value for r in Role}:
        errors["role"] = lazy("Choose one of the options.")
    team_ids = [t for t in map(_uuid, chosen) if t is not None]
    if len(team_ids) != len(chosen):
        errors["team"] = lazy("Choose one from the list.")
    if errors:
        return _user_page(request, db, actor, user.id, values=values, errors=errors, status=422)
    role = Role(role_value)
    if role.value == user.role and set(team_ids) == set(service.team_ids_of(db, user.id)):
        return see_other(back)
    try:
        grants.refuse_own_access_change(db, actor=actor, user=user)
    except OwnAccessChange:  # recorded as a denied access, as the API's refusal is
        errors["role"] = OWN_ACCESS
        return _user_page(request, db, actor, user.id, values=values, errors=errors, status=403)
    if not _fresh(request, actor):
        return _reauth(back)
    try:
        pending = grants.change_access(
            db,
            actor=actor,
            user=user,
            role=role,
            team_ids=team_ids,
            now=request.app.state.clock.now(),
        )
    except (HavenError, OwnAccessChange):
        errors["role"] = ACCESS_REFUSED
        return _user_page(request, db, actor, user.id, values=values, errors=errors, status=409)
    return see_other(back, done="access_requested" if pending else "account_updated")


@router.post("/admin/access-requests/{request_id}/withdraw")
def withdraw_request(request: Request, db: DbSession, access: AccessRequestReject) -> Response:
    """Withdraw a pending grant of case content (the same service as the API's reject)."""
    grants.reject(db, actor=access.actor, req=access.request, now=request.app.state.clock.now())
    return see_other(f"/admin/users/{access.request.user_id}", done="request_withdrawn")


@router.post("/admin/users/{user_id}/disable")
def disable_user(request: Request, db: DbSession, access: UserWrite) -> Response:
    """Disable the account: every session ends at once."""
    if access.user.id == access.actor.id:
        errors = {"disable": OWN_DISABLE}
        return _user_page(request, db, access.actor, access.user.id, errors=errors, status=422)
    now = request.app.state.clock.now()
    service.set_disabled(db, actor=access.actor, user=access.user, disabled=True, now=now)
    return see_other(f"/admin/users/{access.user.id}", done="account_disabled")


@router.post("/admin/users/{user_id}/enable")
def enable_user(request: Request, db: DbSession, access: UserWrite) -> Response:
    """Enable a disabled account again."""
    now = request.app.state.clock.now()
    service.set_disabled(db, actor=access.actor, user=access.user, disabled=False, now=now)
    return see_other(f"/admin/users/{access.user.id}", done="account_enabled")


@router.post("/admin/users/{user_id}/unlock")
def unlock_user(db: DbSession, access: UserUnlock) -> Response:
    """Lift a sign-in lockout."""
    service.unlock(db, actor=access.actor, user=access.user)
    return see_other(f"/admin/users/{access.user.id}", done="account_unlocked")


@router.post("/admin/users/{user_id}/sessions/end")
def end_user_sessions(db: DbSession, access: UserSessions) -> Response:
    """End every session and API token of the account."""
    service.end_sessions(db, actor=access.actor, user=access.user)
    return see_other(f"/admin/users/{access.user.id}", done="account_sessions_ended")


@router.post("/admin/users/{user_id}/password")
def reset_password(request: Request, db: DbSession, access: UserPasswordReset) -> Response:
    """A new one-time password, shown on this answer only (after re-authentication)."""
    try:
        password = service.reset_password(
            db, actor=access.actor, user=access.user, now=request.app.state.clock.now()
        )
    except HavenError:
        errors = {"password": NO_AUTHENTICATOR}
        return _user_page(request, db, access.actor, access.user.id, errors=errors, status=409)
    context = {
        "user_id": access.user.id,
        "email": access.user.email,
        "role": role_label(access.user.role),
        "password": password,
        "pending": False,
        "reset": True,
    }
    response = render(request, "admin/user_created.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/users/{user_id}/password")
def reset_password_page(request: Request, db: DbSession, access: UserPasswordReset) -> Response:
    """Confirm a new one-time password (reached after re-authentication)."""
    user = access.user
    context = {"user_id": user.id, "name": shown_name(user), "email": user.email}
    return render(request, "admin/user_password.html", context)


# -- Teams ---------------------------------------------------------------------------------


def _teams_page(
    request: Request,
    db: Session,
    actor: Actor,
    page: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, LazyText] | None = None,
    status: int = 200,
) -> Response:
    q = PageQuery(page=page, per_page=PER_PAGE)
    rows, total = service.list_teams(db, offset=q.offset, limit=q.per_page)
    context = {
        "rows": rows,
        "total": total,
        "page": q.page,
        "pages": max(1, -(-total // q.per_page)),
        "query": "",
        "values": values or {},
        "errors": errors or {},
        "can_create": actor.can(Permission.TEAM_CREATE),
    }
    return render(request, "admin/teams.html", context, status)


@router.get("/admin/teams")
def teams_page(
    request: Request,
    db: DbSession,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    actor: Actor = require(Permission.TEAM_READ),
) -> Response:
    """Every team, by name, with how many accounts belong to it."""
    return _teams_page(request, db, actor, page)


@router.post("/admin/teams")
def create_team(
    request: Request,
    db: DbSession,
    name: Annotated[str, Form(max_length=1024)] = "",
    actor: Actor = require(Permission.TEAM_CREATE),
) -> Response:
    """A new team (the same service as POST /api/v1/teams)."""
    parsed, _ = validate(TeamIn, {"name": name.strip()}, messages={"name": {}})
    if parsed is None:
        message = REQUIRED if not name.strip() else TEAM_NAME
        return _teams_page(
            request, db, actor, 1, values={"name": name}, errors={"name": message}, status=422
        )
    service.get_or_create_team(db, parsed.name, actor=actor)
    return see_other("/admin/teams", done="team_created")


@router.get("/admin/teams/{team_id}")
def team_page(
    request: Request,
    db: DbSession,
    access: TeamDirectory,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """Who is on a team, as the directory shows it to the viewer's role."""
    q = PageQuery(page=page, per_page=PER_PAGE)
    rows, total = service.team_members(db, access.team.id, offset=q.offset, limit=q.per_page)
    role = access.actor.role
    members = [redact_member(role, service.member_values(u)) for u in rows]
    context = {
        "team": access.team.name,
        "members": members,
        "total": total,
        "page": q.page,
        "pages": max(1, -(-total // q.per_page)),
        "query": "",
        "can_open": access.actor.can(Permission.USER_READ),
    }
    return render(request, "admin/team.html", context)


# -- Keys ----------------------------------------------------------------------------------


@router.get("/admin/keys")
def keys_page(
    request: Request, db: DbSession, actor: Actor = require(Permission.SYS_KEYS)
) -> Response:
    """The keys' state (never a key): root key protection, KEK versions, data keys per
    version, the last rotation, and the commands that change them."""
    return render(request, "admin/keys.html", {"status": key_status(db)})
