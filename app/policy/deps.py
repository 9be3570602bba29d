"""Dependencies that routes use to declare who may call them.

Every route must declare exactly one access rule: `PUBLIC` for routes open to anyone
(health, unseal, sign-in, the public self-referral), or `require(Permission.X)` (directly or
through a scoped lookup, `app.policy.access.Scoped`). A test walks the route table and fails on a
route that declares none.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.deps import DbSession
from app.errors import Forbidden, HavenError, NotAuthenticated, NotFound
from app.i18n.negotiation import note_signed_in
from app.policy.permissions import Permission, Role, allows
from app.security import csrf, sessions
from app.security.errors import ReauthRequired
from app.security.models import AuthSession, CredentialKind, SessionStage
from app.users.models import TeamMembership, User, shown_name


def public() -> None:
    """Marks a route as deliberately open to anyone, signed in or not."""


PUBLIC = [Depends(public)]


class AuthMethod(enum.StrEnum):
    """How the caller proved who they are."""

    SESSION = "session"
    BEARER = "bearer"


@dataclass(frozen=True)
class Actor:
    """The signed-in caller, as the policy sees them."""

    id: uuid.UUID
    role: Role
    team_ids: frozenset[uuid.UUID]
    auth: AuthMethod
    session_id: uuid.UUID
    reauth_at: datetime | None

    def can(self, permission: Permission) -> bool:
        """True when the actor's role holds permission."""
        return allows(self.role, permission)


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer` header, if any."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def session_account(request: Request, db: Session, token: str) -> tuple[AuthSession, User] | None:
    """The live session of a raw token and its account, or None when either has ended (an
    account disabled since keeps no session, even one the disabling missed)."""
    settings = request.app.state.settings
    # The session and its account in one statement (what `sessions.resolve` and a get of
    # the user would read in two).
    found = db.execute(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == sessions.hash_token(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if not sessions.keep_alive(db, row, now=request.app.state.clock.now(), settings=settings):
        return None
    if user.disabled_at is not None:
        return None
    return row, user


def authenticate(request: Request, db: Session) -> tuple[AuthSession, User] | None:
    """The caller's live, fully signed-in session and user, or None.

    A bearer header wins over a cookie; a bad bearer token never falls back to the cookie."""
    token = bearer_token(request)
    kind = CredentialKind.BEARER
    if token is None:
        token = request.cookies.get(sessions.cookie_name(request.app.state.settings))
        kind = CredentialKind.COOKIE
    if not token:
        return None
    found = session_account(request, db, token)
    if found is None:
        return None
    row, user = found
    if row.kind != kind.value or row.stage != SessionStage.FULL.value:
        return None
    # The page layer renders in the user's language; the switcher posts with this token.
    csrf_token = row.csrf_token if kind is CredentialKind.COOKIE else None
    note_signed_in(
        request,
        language=user.language,
        csrf_token=csrf_token,
        role=user.role,
        name=shown_name(user),
    )
    return row, user


def actor_for(db: Session, row: AuthSession, user: User) -> Actor:
    """Build the Actor of a resolved session."""
    teams = db.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user.id))
    return Actor(
        id=user.id,
        role=Role(user.role),
        team_ids=frozenset(teams),
        auth=AuthMethod.BEARER if row.kind == CredentialKind.BEARER.value else AuthMethod.SESSION,
        session_id=row.id,
        reauth_at=row.reauth_at,
    )


def denied(
    db: Session,
    actor: Actor,
    *,
    reason: str,
    on: tuple[str, uuid.UUID] | None = None,
    error: HavenError | None = None,
) -> HavenError:
    """Record a denied access and return the error to raise (404 unless another is given),
    marked to keep its record: the request's rollback must not erase the refusal."""
    record(db, AuditAction.ACCESS_DENIED, by=actor, on=on, outcome="denied", reason=reason)
    refusal = error or NotFound()
    refusal.keep_record = True
    return refusal


class Requirement:
    """The dependency behind `require()`: signed in, CSRF-checked, role holds the permission."""

    def __init__(self, permission: Permission, *, reauth: bool = False) -> None:
        self.permission = permission
        self.reauth = reauth

    def __repr__(self) -> str:
        return f"require({self.permission.value}{', reauth' if self.reauth else ''})"

    def __call__(
        self,
        request: Request,
        db: DbSession,
        submitted_csrf: Annotated[str | None, Depends(csrf.submitted_token)],
    ) -> Actor:
        found = authenticate(request, db)
        if found is None:
            raise NotAuthenticated()
        row, user = found
        if row.kind == CredentialKind.COOKIE.value and request.method not in csrf.SAFE_METHODS:
            csrf.verify(row.csrf_token, submitted_csrf)
        actor = actor_for(db, row, user)
        if not actor.can(self.permission):
            raise denied(db, actor, reason=f"lacks:{self.permission.value}", error=Forbidden())
        if self.reauth:
            require_fresh_reauth(request, actor)
        return actor


def require_fresh_reauth(request: Request, actor: Actor) -> None:
    """Raise ReauthRequired unless password and TOTP were proven in the last five minutes."""
    if not sessions.reauth_is_fresh(actor.reauth_at, now=request.app.state.clock.now()):
        raise ReauthRequired()


def require(permission: Permission, *, reauth: bool = False) -> Any:
    """Declare on a route: `actor: Actor = require(Permission.X)`; returns the Actor."""
    return Depends(Requirement(permission, reauth=reauth))
