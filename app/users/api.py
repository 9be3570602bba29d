"""The account API: the admin's users and teams, and `/me` for everyone signed in."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.deps import AppSettings, DbSession
from app.errors import InvalidInput, NotFound
from app.openapi import errors
from app.pagination import Page, PageQuery, page_of, page_rows
from app.policy.deps import Actor, AuthMethod, require, require_fresh_reauth
from app.policy.permissions import CASE_ROLES, Permission, Role
from app.security import sessions
from app.security.models import AuthSession
from app.users import directory, grants, service
from app.users.auth_api import check_factors
from app.users.dependencies import (
    AccessRequestApprove,
    AccessRequestReject,
    LoggedActor,
    TeamDirectory,
    UserPasswordReset,
    UserRead,
    UserSessions,
    UserUnlock,
    UserWrite,
)
from app.users.models import AccessRequest, Team, User, shown_name
from app.users.schemas import (
    AccessRequestOut,
    ActorOut,
    Approved,
    AuthenticatorConfirm,
    MemberOut,
    MeOut,
    NewAuthenticatorOut,
    PasswordChange,
    PasswordResetOut,
    RecoveryCodesOut,
    SessionOut,
    SessionsEnded,
    TeamIn,
    TeamOut,
    UnlockOut,
    UserCreate,
    UserCreated,
    UserListQuery,
    UserOut,
    UserPatch,
)

router = APIRouter(prefix="/api/v1", tags=["users"])


def _teams(db: Session, user: User) -> list[TeamOut]:
    return [TeamOut(id=t.id, name=t.name) for t in service.teams_of(db, user.id)]


def _user_out(db: Session, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        name=shown_name(user),
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
        name=shown_name(user),
        email=user.email,
        role=actor.role,
        teams=_teams(db, user),
        auth=actor.auth.value,
        csrf_token=csrf_token,
    )


@router.post("/me/password", status_code=204, responses=errors(423, 429))
def change_password(
    body: PasswordChange,
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.SELF_UPDATE),
) -> Response:
    """Change one's own password, proving the current one and (for TOTP roles) a code, under
    the sign-in lockout; every session and token of the account ends."""
    user = db.get(User, actor.id)
    assert user is not None  # noqa: S101 - the session's user exists (foreign key)
    check_factors(
        db,
        request,
        email=user.email,
        password=body.current_password,
        code=body.totp,
        failure=AuditAction.PASSWORD_CHANGE_FAILED,
    )
    service.set_password(db, user=user, new=body.new_password, now=request.app.state.clock.now())
    response = Response(status_code=204)
    sessions.clear_cookie(response, settings)
    return response


@router.get("/me/sessions", response_model=list[SessionOut])
def my_sessions(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.SELF_READ),
) -> list[SessionOut]:
    """One's own live sessions and API tokens, the most recently used first."""
    now = request.app.state.clock.now()
    rows = service.own_sessions(db, user_id=actor.id, now=now, settings=settings)
    return [
        SessionOut(
            id=r.id,
            kind=r.kind,
            created_at=r.created_at,
            last_seen_at=r.last_seen_at,
            expires_at=r.expires_at,
            current=r.id == actor.session_id,
            agent=r.agent,
        )
        for r in rows
    ]


@router.delete("/me/sessions", response_model=SessionsEnded)
def end_my_other_sessions(
    db: DbSession, actor: Actor = require(Permission.SELF_UPDATE)
) -> SessionsEnded:
    """End every other session and token of one's own account (this one stays)."""
    return SessionsEnded(ended=service.end_other_sessions(db, actor=actor))


@router.post("/me/recovery-codes", response_model=RecoveryCodesOut, responses=errors(409))
def new_recovery_codes(
    request: Request, db: DbSession, actor: Actor = require(Permission.SELF_UPDATE, reauth=True)
) -> RecoveryCodesOut:
    """Ten new recovery codes, after re-authentication; the old ones stop working."""
    now = request.app.state.clock.now()
    return RecoveryCodesOut(codes=service.regenerate_recovery_codes(db, actor=actor, now=now))


@router.post("/me/totp", response_model=NewAuthenticatorOut)
def new_authenticator(
    request: Request, db: DbSession, actor: Actor = require(Permission.SELF_UPDATE, reauth=True)
) -> NewAuthenticatorOut:
    """Start replacing (or setting up) one's authenticator, after re-authentication."""
    found = service.begin_totp_change(db, actor=actor, keyring=request.app.state.keyring)
    return NewAuthenticatorOut(secret=found.secret, uri=found.uri)


@router.post("/me/totp/confirm", status_code=204, responses=errors(409))
def confirm_authenticator(
    body: AuthenticatorConfirm,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.SELF_UPDATE, reauth=True),
) -> Response:
    """A code from the new authenticator makes it the account's; every other session ends."""
    now = request.app.state.clock.now()
    keyring = request.app.state.keyring
    service.confirm_totp_change(db, actor=actor, code=body.code, now=now, keyring=keyring)
    return Response(status_code=204)


@router.get("/users", response_model=Page[UserOut])
def list_users(
    q: Annotated[UserListQuery, Query()],
    db: DbSession,
    actor: Actor = require(Permission.USER_READ),
) -> Page[UserOut]:
    """Accounts by e-mail, filtered by role, team or whether active."""
    flt = service.AccountFilter(role=q.role, team_id=q.team_id, active=q.active)
    rows, total = service.list_accounts(db, flt, offset=q.offset, limit=q.per_page)
    return page_of([_row_out(r) for r in rows], q, total)


def _row_out(row: service.AccountRow) -> UserOut:
    user = row.user
    return UserOut(
        id=user.id,
        name=shown_name(user),
        email=user.email,
        role=Role(user.role),
        teams=[TeamOut(id=t.id, name=t.name) for t in row.teams],
        disabled=user.disabled_at is not None,
        totp_enrolled=user.totp_enrolled_at is not None,
        created_at=user.created_at,
    )


@router.post(
    "/users",
    response_model=UserCreated,
    status_code=201,
    response_model_exclude_none=True,
    responses=errors(409),
)
def create_user(
    body: UserCreate,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.USER_CREATE, reauth=True),
) -> UserCreated:
    """Create an account. One that sees case content starts with no team and no usable
    password, and a pending access request; other accounts get their one-time password here."""
    case_role = body.role in CASE_ROLES
    if case_role and body.password is not None:
        raise InvalidInput("password", "is issued to the coordinator who approves this account")
    made = service.create_user(
        db,
        email=body.email,
        role=body.role,
        teams=[] if case_role else body.teams,
        password=body.password,
        actor=actor,
        keyring=request.app.state.keyring,
        name=body.name,
    )
    if not case_role:
        return UserCreated(
            id=made.user.id, email=made.user.email, role=body.role, password=made.password
        )
    team_ids = [service.get_or_create_team(db, name, actor=actor).id for name in body.teams]
    pending = grants.request_access(
        db,
        actor=actor,
        user=made.user,
        role=body.role,
        team_ids=team_ids,
        now=request.app.state.clock.now(),
        new_account=True,
    )
    return UserCreated(
        id=made.user.id, email=made.user.email, role=body.role, access_request_id=pending.id
    )


@router.get("/users/{user_id:uuid}", response_model=UserOut)
def get_user(db: DbSession, access: UserRead) -> UserOut:
    """One account."""
    return _user_out(db, access.user)


@router.patch(
    "/users/{user_id:uuid}",
    response_model=UserOut,
    responses={202: {"model": AccessRequestOut}, **errors(409)},
)
def update_user(
    body: UserPatch, request: Request, db: DbSession, access: UserWrite
) -> Response | UserOut:
    """Change role or teams (fresh re-authentication; never one's own; 202 with a pending
    access request when the change grants case content), disable or enable."""
    actor, user = access.actor, access.user
    now = request.app.state.clock.now()
    pending = None
    role = body.role or Role(user.role)
    current = set(service.team_ids_of(db, user.id))
    teams = set(body.team_ids) if body.team_ids is not None else current
    if role.value != user.role or teams != current:
        grants.refuse_own_access_change(db, actor=actor, user=user)
        require_fresh_reauth(request, actor)
        pending = grants.change_access(
            db, actor=actor, user=user, role=role, team_ids=teams, now=now
        )
    if body.disabled is not None:
        service.set_disabled(db, actor=actor, user=user, disabled=body.disabled, now=now)
    if body.name is not None:
        service.set_name(db, actor=actor, user=user, name=body.name)
    db.flush()
    if pending is not None:
        out = _request_out(pending)
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    return _user_out(db, user)


@router.post("/users/{user_id:uuid}/unlock", response_model=UnlockOut)
def unlock_user(db: DbSession, access: UserUnlock) -> UnlockOut:
    """Lift a sign-in lockout (coordinators: members of their teams; admins: anyone)."""
    return UnlockOut(was_locked=service.unlock(db, actor=access.actor, user=access.user))


@router.delete("/users/{user_id:uuid}/sessions", response_model=SessionsEnded)
def end_user_sessions(db: DbSession, access: UserSessions) -> SessionsEnded:
    """End every session and bearer token of an account."""
    return SessionsEnded(ended=service.end_sessions(db, actor=access.actor, user=access.user))


@router.post(
    "/users/{user_id:uuid}/password", response_model=PasswordResetOut, responses=errors(409)
)
def reset_user_password(
    request: Request, db: DbSession, access: UserPasswordReset
) -> PasswordResetOut:
    """A new one-time password for an account that lost its own (admins, after
    re-authentication; every session of the account ends). Refused (409) for a case role
    without an enrolled authenticator: its password comes from the approving coordinator."""
    password = service.reset_password(
        db, actor=access.actor, user=access.user, now=request.app.state.clock.now()
    )
    return PasswordResetOut(id=access.user.id, password=password)


@router.get("/teams", response_model=Page[TeamOut])
def list_teams(
    q: Annotated[PageQuery, Query()], db: DbSession, actor: Actor = require(Permission.TEAM_READ)
) -> Page[TeamOut]:
    """Every team, by name."""
    rows, total = page_rows(db, select(Team).order_by(Team.name), q)
    return page_of([TeamOut(id=t.id, name=t.name) for t in rows], q, total)


@router.get(
    "/teams/{team_id:uuid}/members",
    response_model=Page[MemberOut],
    response_model_exclude_unset=True,
)
def team_members(
    q: Annotated[PageQuery, Query()], db: DbSession, access: TeamDirectory
) -> Page[MemberOut]:
    """The team directory, by name: coordinators of the team and admins see name, role,
    e-mail and whether the account is active; auditors name and role only."""
    rows, total = directory.members_page(db, actor=access.actor, team_id=access.team.id, q=q)
    return page_of([MemberOut.model_validate(m) for m in rows], q, total)


@router.get("/audit/actors/{user_id:uuid}", response_model=ActorOut, tags=["audit"])
def logged_actor(db: DbSession, access: LoggedActor) -> ActorOut:
    """Who an actor id in the audit log is: name and role, nothing else (the look-up is
    itself audited)."""
    record(db, AuditAction.AUDIT_READ, by=access.actor, on=("user", access.user.id), reason="actor")
    return ActorOut(id=access.user.id, name=shown_name(access.user), role=Role(access.user.role))


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(
    body: TeamIn, db: DbSession, actor: Actor = require(Permission.TEAM_CREATE)
) -> TeamOut:
    """Create a team (or return the existing one of that name)."""
    team = service.get_or_create_team(db, body.name, actor=actor)
    return TeamOut(id=team.id, name=team.name)


def _request_out(row: AccessRequest) -> AccessRequestOut:
    return AccessRequestOut(
        id=row.id,
        user_id=row.user_id,
        role=Role(row.role),
        team_ids=[uuid.UUID(t) for t in row.team_ids],
        grant_team_ids=[uuid.UUID(t) for t in row.grant_team_ids],
        new_account=row.new_account,
        status=row.status,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


@router.get("/access-requests", response_model=Page[AccessRequestOut])
def list_access_requests(
    q: Annotated[PageQuery, Query()],
    db: DbSession,
    actor: Actor = require(Permission.ACCESS_REQUEST_READ),
) -> Page[AccessRequestOut]:
    """Pending grants of case content: a coordinator's teams', or (admins) all of them."""
    return page_of([_request_out(r) for r in grants.pending_for(db, actor)], q)


@router.post(
    "/access-requests/{request_id:uuid}/approve",
    response_model=Approved,
    response_model_exclude_none=True,
    responses=errors(409),
)
def approve_access_request(
    request: Request, db: DbSession, access: AccessRequestApprove
) -> Approved:
    """Approve a grant (a coordinator of every team it opens, after re-authentication)."""
    password = grants.approve(
        db, actor=access.actor, req=access.request, now=request.app.state.clock.now()
    )
    return Approved(request=_request_out(access.request), password=password)


@router.post(
    "/access-requests/{request_id:uuid}/reject",
    response_model=AccessRequestOut,
    responses=errors(409),
)
def reject_access_request(
    request: Request, db: DbSession, access: AccessRequestReject
) -> AccessRequestOut:
    """Refuse (coordinator) or withdraw (admin) a pending grant."""
    grants.reject(db, actor=access.actor, req=access.request, now=request.app.state.clock.now())
    return _request_out(access.request)
