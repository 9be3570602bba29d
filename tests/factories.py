"""Factories for synthetic accounts, teams, cases and credentials (invented data only)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.cases import service as case_service
from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.policy.deps import Actor, AuthMethod
from app.policy.permissions import Role
from app.security import sessions, totp
from app.security.clock import FrozenClock
from app.security.models import CredentialKind, SessionStage
from app.tasks import service as task_service
from app.tasks.models import Task
from app.tasks.schemas import TaskCreate
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
) -> User:
    """An account; TOTP enrolled (for roles that need it) unless told otherwise."""
    email = email or f"{role.value}-{secrets.token_hex(4)}@example.invalid"
    made = service.create_user(
        db, email=email, role=role, teams=[t.name for t in teams or []], password=password
    )
    if enrolled:
        made.user.totp_enrolled_at = now or datetime.now().astimezone()
        made.user.recovery_codes_issued_at = made.user.totp_enrolled_at
    db.flush()
    return made.user


def make_case(
    db: Session,
    *,
    keyring: Keyring,
    team: Team,
    assigned_to: User | None = None,
    values: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Case:
    """A case made through the case service (synthetic values only)."""
    case = case_service.create_case(
        db,
        keyring=keyring,
        actor=None,
        team_id=team.id,
        values=case_service.validate_fields(values or {}),
        now=now or datetime.now(UTC),
    )
    case.assigned_to = assigned_to.id if assigned_to else None
    db.flush()
    return case


def make_task(
    db: Session,
    *,
    keyring: Keyring,
    case: Case,
    volunteer: User,
    title: str = "Meet at the railway station",
    instructions: str = "Thursday 14:00 by the clock; bring a SIM card; ask for 'Misha'.",
    place: str | None = "Central station",
    by: User | None = None,
) -> Task:
    """A task made through the task service (its text goes through the leak guard like any
    other); by default a new coordinator of the case's team writes it."""
    by = by or make_user(db, Role.COORDINATOR, teams=[db.get_one(Team, case.team_id)])
    actor = Actor(
        id=by.id,
        role=Role(by.role),
        team_ids=frozenset({case.team_id}),
        auth=AuthMethod.BEARER,
        session_id=uuid.uuid4(),
        reauth_at=None,
    )
    data = TaskCreate(
        case_id=case.id,
        assigned_to=volunteer.id,
        title=title,
        instructions=instructions,
        place=place,
    )
    return task_service.create_task(
        db, keyring=keyring, actor=actor, case=case, data=data, now=datetime.now(UTC)
    )


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


def code_for(user: User, clock: FrozenClock, *, offset: int = 0) -> str:
    """The TOTP code of user at the clock's time (plus offset steps)."""
    assert user.totp_secret is not None
    return totp.code_at(user.totp_secret, totp.current_step(clock.now()) + offset)
