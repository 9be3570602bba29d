"""Factories for synthetic accounts, teams, cases and credentials (invented data only)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.orm import Session, object_session

from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.crypto.system_keys import open_totp_secret
from app.policy.permissions import Role
from app.security import sessions, totp
from app.security.clock import FrozenClock
from app.security.models import CredentialKind, SessionStage
from app.users import service
from app.users.models import Team, User

PASSWORD = "violet-harbour-quietly-7"


def make_team(db: Session, name: str | None = None) -> Team:
    """A team with an invented name."""
    return service.get_or_create_team(db, name or f"Team {secrets.token_hex(3)}")


def make_user(
    db: Session,
    role: Role,
    *,
    teams: list[Team] | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    enrolled: bool = True,
    now: datetime | None = None,
    keyring: Keyring | None = None,
) -> User:
    """An account; TOTP enrolled (for roles that need it) unless told otherwise."""
    email = email or f"{role.value}-{secrets.token_hex(4)}@example.invalid"
    made = service.create_user(
        db,
        email=email,
        role=role,
        teams=[t.name for t in teams or []],
        password=password,
        keyring=keyring or db.info["keyring"],
    )
    if enrolled:
        made.user.totp_enrolled_at = now or datetime.now().astimezone()
        made.user.recovery_codes_issued_at = made.user.totp_enrolled_at
    db.flush()
    return made.user


def make_case(db: Session, *, team: Team, assigned_to: User | None = None) -> Case:
    """A case with only its plaintext columns."""
    case = Case(
        case_code=f"HV-2026-{secrets.randbelow(10**6):06d}",
        team_id=team.id,
        assigned_to=assigned_to.id if assigned_to else None,
    )
    db.add(case)
    db.flush()
    return case


def bearer(
    db: Session, user: User, *, clock: FrozenClock, settings: Settings, reauth: bool = True
) -> str:
    """A bearer token for user, made directly (no password work)."""
    issued = sessions.create(
        db,
        user=user,
        kind=CredentialKind.BEARER,
        stage=SessionStage.FULL,
        now=clock.now(),
        settings=settings,
    )
    if not reauth:
        issued.session.reauth_at = None
    db.flush()
    return issued.token


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def totp_secret_of(user: User, keyring: Keyring | None = None) -> str:
    """The user's TOTP secret, decrypted with the test's keyring (what an authenticator holds)."""
    assert user.totp_secret is not None
    if keyring is None:
        session = object_session(user)
        assert session is not None
        keyring = session.info["keyring"]
    return open_totp_secret(keyring, user_id=user.id, sealed=user.totp_secret)


def code_for(
    user: User, clock: FrozenClock, *, offset: int = 0, keyring: Keyring | None = None
) -> str:
    """The TOTP code of user at the clock's time (plus offset steps)."""
    secret = totp_secret_of(user, keyring)
    return totp.code_at(secret, totp.current_step(clock.now()) + offset)
