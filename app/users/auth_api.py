"""Sign-in over the API: bearer tokens (issue, revoke) and re-authentication."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.config import Settings
from app.deps import AppSettings, DbSession
from app.openapi import errors
from app.policy.deps import PUBLIC, Actor, AuthMethod, require
from app.policy.permissions import Permission
from app.security import sessions
from app.security.agents import device_summary
from app.security.errors import PasswordChangeRequired
from app.security.models import AuthSession, CredentialKind, SessionStage
from app.security.proxies import client_address
from app.users import service, signin
from app.users.models import User
from app.users.schemas import ReauthOut, ReauthRequest, TokenOut, TokenRequest

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

__all__ = ["check_factors", "client_address", "router"]


def check_factors(
    db: Session,
    request: Request,
    *,
    email: str,
    password: str,
    code: str | None,
    failure: AuditAction = AuditAction.SIGN_IN_FAILED,
) -> User:
    """Password and (when needed) TOTP, under the sign-in throttle and lockout; failures are
    audited as `failure` and kept although the request fails (app/users/signin.py)."""
    now: datetime = request.app.state.clock.now()
    address = client_address(request)
    user = signin.password_step(
        db,
        email=email,
        password=password,
        address=address,
        now=now,
        keyring=request.app.state.keyring,
        failure=failure,
    )
    if signin.needs_second_factor(user):
        signin.second_factor(
            db,
            user=user,
            code=code or "",
            address=address,
            now=now,
            keyring=request.app.state.keyring,
            allow_recovery=False,
            failure=failure,
        )
    return user


@router.post(
    "/token", dependencies=PUBLIC, response_model=TokenOut, responses=errors(401, 403, 423, 429)
)
def issue_token(
    body: TokenRequest, request: Request, db: DbSession, settings: AppSettings
) -> TokenOut:
    """A bearer token for e-mail, password and TOTP code (valid 8 hours by default)."""
    user = check_factors(db, request, email=body.email, password=body.password, code=body.totp)
    now = request.app.state.clock.now()
    if user.password_must_change:
        if body.new_password is None:
            raise PasswordChangeRequired()
        signin.one_time_step(db, user=user, now=now)  # raises when used before
        service.set_password(db, user=user, new=body.new_password, now=now)
    signin.succeeded(db, user=user, method="api_token")
    issued = sessions.create(
        db,
        user_id=user.id,
        kind=CredentialKind.BEARER,
        stage=SessionStage.FULL,
        now=now,
        settings=settings,
        agent=device_summary(request.headers.get("user-agent")),
    )
    record(db, AuditAction.TOKEN_ISSUED, by=user, on=("session", issued.session.id))
    return TokenOut(access_token=issued.token, expires_at=issued.session.expires_at)


@router.delete("/token", status_code=204)
def revoke_token(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.SELF_READ),
) -> Response:
    """End the credential this request was made with (bearer token or cookie session)."""
    sessions.end(db, actor.session_id)
    action = AuditAction.TOKEN_REVOKED if actor.auth is AuthMethod.BEARER else AuditAction.SIGN_OUT
    record(db, action, by=actor, on=("session", actor.session_id))
    response = Response(status_code=204)
    if actor.auth is AuthMethod.SESSION:
        sessions.clear_cookie(response, settings)
    return response


@router.post("/reauth", response_model=ReauthOut, responses=errors(423, 429))
def reauth(
    *,
    body: ReauthRequest,
    request: Request,
    response: Response,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.SELF_READ),
) -> ReauthOut:
    """Prove password and TOTP again; dangerous acts are allowed for the next five minutes.
    A cookie session gets a new token (set in the reply); a bearer token keeps its value."""
    until = prove_again(
        db,
        request,
        response,
        actor=actor,
        password=body.password,
        code=body.totp,
        settings=settings,
    )
    return ReauthOut(reauth_until=until)


def prove_again(
    db: Session,
    request: Request,
    response: Response,
    *,
    actor: Actor,
    password: str,
    code: str | None,
    settings: Settings,
) -> datetime:
    """Check password and code again (under the sign-in throttle; failures kept) and mark
    the session re-authenticated; a cookie session gets a new token, set on response.
    Returns until when dangerous acts are allowed. The API and the page both call this."""
    user = db.get(User, actor.id)
    assert user is not None  # noqa: S101 - the session's user exists (foreign key)
    check_factors(db, request, email=user.email, password=password, code=code)
    now: datetime = request.app.state.clock.now()
    row = db.get(AuthSession, actor.session_id)
    assert row is not None  # noqa: S101 - resolved by require() in this request
    if actor.auth is AuthMethod.SESSION:
        issued = sessions.rotate(db, old=row, now=now, settings=settings)
        row = issued.session
        sessions.set_cookie(response, issued.token, settings)
    row.reauth_at = now
    record(db, AuditAction.REAUTH, by=user, on=("session", row.id))
    return now + sessions.REAUTH_WINDOW
