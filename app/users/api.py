"""The account API: the admin's users and teams, and `/me` for everyone signed in."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.deps import AppSettings, DbSession
from app.errors import NotFound
from app.policy.deps import Actor, AuthMethod, require, require_fresh_reauth
from app.policy.permissions import Permission, Role
from app.policy.scope import UserAccess, managed_user
from app.security import sessions
from app.security.models import AuthSession
from app.users import service
from app.users.models import Team, User
from app.users.schemas import (
    MeOut,
    PasswordChange,
    SessionsEnded,
    TeamIn,
    TeamOut,
    UnlockOut,
    UserCreate,
    UserCreated,
    UserOut,
    UserPatch,
)

router = APIRouter(prefix="/api/v1", tags=["users"])


def _teams(db: Session, user: User) -> list[TeamOut]:
    return [TeamOut(id=t.id, name=t.name) for t in service.teams_of(db, user.id)]


def _user_out(db: Session, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        role=Role(user.role),
        teams=_teams(db, user),
        disabled=user.disabled_at is not None,
        totp_enrolled=user.totp_enrolled_at is not None,
        created_at=user.created_at,
    )


@router.get("/me", response_model=MeOut)
def me(db: DbSession, actor: Actor = require(Permission.SELF_READ)) -> MeOut:
    """The signed-in account, its teams, and (for cookie sessions) the CSRF token."""
    user = db.get(User, actor.id)
    if user is None:  # pragma: no cover - the session's user exists (foreign key)
        raise NotFound()
    csrf_token = None
    if actor.auth is AuthMethod.SESSION:
        row = db.get(AuthSession, actor.session_id)
        csrf_token = row.csrf_token if row else None
    return MeOut(
        id=user.id,
        email=user.email,
        role=actor.role,
        teams=_teams(db, user),
        auth=actor.auth.value,
        csrf_token=csrf_token,
    )


@router.post("/me/password", status_code=204)
def change_password(
    body: PasswordChange,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.SELF_UPDATE),
) -> Response:
    """Change one's own password; every session and token of the account ends."""
    user = db.get(User, actor.id)
    assert user is not None  # noqa: S101 - the session's user exists (foreign key)
    service.change_password(
        db,
        user=user,
        current=body.current_password,
        new=body.new_password,
        now=request.app.state.clock.now(),
    )
    response = Response(status_code=204)
    sessions.clear_cookie(response, settings)
    return response


@router.get("/users", response_model=list[UserOut])
def list_users(db: DbSession, actor: Actor = require(Permission.USER_READ)) -> list[UserOut]:
    """Every account."""
    return [_user_out(db, u) for u in db.scalars(select(User).order_by(User.email))]


@router.post(
    "/users", response_model=UserCreated, status_code=201, response_model_exclude_none=True
)
def create_user(
    body: UserCreate,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.USER_CREATE, reauth=True),
) -> UserCreated:
    """Create an account; the one-time password (if generated) is in this reply only."""
    made = service.create_user(
        db,
        email=body.email,
        role=body.role,
        teams=body.teams,
        password=body.password,
        actor=actor,
        keyring=request.app.state.keyring,
    )
    return UserCreated(
        id=made.user.id,
        email=made.user.email,
        role=body.role,
        password=made.password,
        totp_uri=made.totp_uri,
    )


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(db: DbSession, access: UserAccess = managed_user(Permission.USER_READ)) -> UserOut:
    """One account."""
    return _user_out(db, access.user)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(
    body: UserPatch,
    request: Request,
    db: DbSession,
    access: UserAccess = managed_user(Permission.USER_UPDATE),
) -> UserOut:
    """Change role (needs a fresh re-authentication), disable or enable, set teams."""
    actor, user = access.actor, access.user
    if body.role is not None and body.role.value != user.role:
        require_fresh_reauth(request, actor)
        service.set_role(db, actor=actor, user=user, role=body.role)
    if body.disabled is not None:
        service.set_disabled(
            db, actor=actor, user=user, disabled=body.disabled, now=request.app.state.clock.now()
        )
    if body.team_ids is not None:
        service.set_teams(db, actor=actor, user=user, team_ids=body.team_ids)
    db.flush()
    return _user_out(db, user)


@router.post("/users/{user_id}/unlock", response_model=UnlockOut)
def unlock_user(
    db: DbSession, access: UserAccess = managed_user(Permission.USER_UNLOCK)
) -> UnlockOut:
    """Lift a sign-in lockout (coordinators: members of their teams; admins: anyone)."""
    return UnlockOut(was_locked=service.unlock(db, actor=access.actor, user=access.user))


@router.delete("/users/{user_id}/sessions", response_model=SessionsEnded)
def end_user_sessions(
    db: DbSession, access: UserAccess = managed_user(Permission.USER_END_SESSIONS)
) -> SessionsEnded:
    """End every session and bearer token of an account."""
    return SessionsEnded(ended=service.end_sessions(db, actor=access.actor, user=access.user))


@router.get("/teams", response_model=list[TeamOut])
def list_teams(db: DbSession, actor: Actor = require(Permission.TEAM_READ)) -> list[TeamOut]:
    """Every team."""
    return [TeamOut(id=t.id, name=t.name) for t in db.scalars(select(Team).order_by(Team.name))]


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(
    body: TeamIn, db: DbSession, actor: Actor = require(Permission.TEAM_CREATE)
) -> TeamOut:
    """Create a team (or return the existing one of that name)."""
    team = service.get_or_create_team(db, body.name, actor=actor)
    return TeamOut(id=team.id, name=team.name)
