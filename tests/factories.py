"""Factories for synthetic accounts, teams, cases and credentials (invented data only)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import update
from sqlalchemy.orm import Session, object_session

from app.cases import service as case_service
from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.crypto.system_keys import open_totp_secret
from app.documents import service as document_service
from app.documents.blobs import BlobStore
from app.documents.models import Document
from app.policy.deps import Actor, AuthMethod
from app.policy.permissions import Role
from app.referrals.models import Partner, Referral
from app.referrals.packet import encode_public_key
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
    keyring: Keyring | None = None,
    one_time: bool = False,
) -> User:
    """An account in use (its own password; TOTP enrolled for roles that need it), unless
    told otherwise: `one_time` gives it a password someone else chose, to replace."""
    email = email or f"{role.value}-{secrets.token_hex(4)}@example.invalid"
    made = service.create_user(
        db,
        one_time=one_time,
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


def make_session(
    db: Session,
    user: User,
    *,
    clock: FrozenClock,
    settings: Settings,
    kind: CredentialKind = CredentialKind.BEARER,
    expires_in: timedelta | None = None,
) -> sessions.Issued:
    """A signed-in session of user, made directly (no password work); `expires_in` moves its
    end from now (negative: already expired)."""
    issued = sessions.create(
        db, user_id=user.id, kind=kind, stage=SessionStage.FULL, now=clock.now(), settings=settings
    )
    if expires_in is not None:
        issued.session.expires_at = clock.now() + expires_in
    return issued


def bearer(
    db: Session, user: User, *, clock: FrozenClock, settings: Settings, reauth: bool = True
) -> str:
    """A bearer token for user, made directly (no password work)."""
    issued = make_session(db, user, clock=clock, settings=settings)
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


def actor_of(db: Session, user: User) -> Actor:
    """The policy's view of an account (as a bearer-token caller)."""
    teams = frozenset(t.id for t in service.teams_of(db, user.id))
    return Actor(user.id, Role(user.role), teams, AuthMethod.BEARER, uuid.uuid4(), None)


def make_document(
    db: Session,
    *,
    keyring: Keyring,
    case: Case,
    store: BlobStore,
    by: User,
    body: bytes = b"%PDF-1.4 synthetic summons\n",
    name: str = "summons.pdf",
) -> Document:
    """A document stored encrypted through the documents service (a real blob in store)."""
    return document_service.store_bytes(
        db,
        store=store,
        dek=document_service.case_key(db, keyring=keyring, case=case),
        actor=actor_of(db, by),
        case=case,
        body=body,
        filename=name,
        content_type="application/pdf",
        now=datetime.now(UTC),
    )


def make_partner(
    db: Session, name: str | None = None, *, confirmed: bool = True
) -> tuple[Partner, X25519PrivateKey]:
    """A partner organisation with a fresh key pair (the private key stays with the test),
    its key confirmed by a coordinator unless `confirmed=False`."""
    private = X25519PrivateKey.generate()
    partner = Partner(
        id=uuid.uuid4(),
        name=name or f"Pomoc {secrets.token_hex(3)}",
        services=["legal"],
        countries=["DE"],
        public_key=encode_public_key(private.public_key()),
        confirmed_at=datetime.now(UTC) if confirmed else None,
    )
    db.add(partner)
    db.flush()
    return partner, private


def make_draft_referral(db: Session, *, case: Case, partner: Partner) -> Referral:
    """A draft referral row (no consent check: for scope tests, not for the rules)."""
    ref = Referral(id=uuid.uuid4(), case_id=case.id, partner_id=partner.id, fields=["legal_name"])
    db.add(ref)
    db.flush()
    return ref


@dataclass(frozen=True)
class By:
    """Who acted, for audit entries a test writes directly: an account id and a role."""

    id: uuid.UUID
    role: str = "caseworker"


@dataclass
class CaseWorld:
    """Case A (team A, assigned to `worker`) and case B (team B, `worker_b`); a bearer header
    per user; `worker2` is in team A but not assigned to case A."""

    case_a: Case
    case_b: Case
    users: dict[str, User]
    headers: dict[str, dict[str, str]]
    store: BlobStore


def case_world(
    db: Session, *, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> CaseWorld:
    """Two teams, every role, one case per team (synthetic people only)."""
    team_a, team_b = make_team(db), make_team(db)
    users = {
        "coord": make_user(db, Role.COORDINATOR, teams=[team_a], keyring=keyring),
        "coord_b": make_user(db, Role.COORDINATOR, teams=[team_b], keyring=keyring),
        "worker": make_user(db, Role.CASEWORKER, teams=[team_a], keyring=keyring),
        "worker2": make_user(db, Role.CASEWORKER, teams=[team_a], keyring=keyring),
        "worker_b": make_user(db, Role.CASEWORKER, teams=[team_b], keyring=keyring),
        "admin": make_user(db, Role.ADMIN, keyring=keyring),
        "auditor": make_user(db, Role.AUDITOR, keyring=keyring),
        "volunteer": make_user(db, Role.VOLUNTEER, teams=[team_a], keyring=keyring),
    }
    case_a = make_case(db, keyring=keyring, team=team_a, assigned_to=users["worker"])
    case_b = make_case(db, keyring=keyring, team=team_b, assigned_to=users["worker_b"])
    headers = {
        name: auth(bearer(db, user, clock=clock, settings=settings)) for name, user in users.items()
    }
    return CaseWorld(case_a, case_b, users, headers, BlobStore(settings.blob_dir))


def changed_meanwhile(db: Session, row: Any, **values: Any) -> None:
    """Write values to row's stored row as another request would have, leaving the object
    this session holds as it was read: a request acting on a stale read."""
    model = type(row)
    db.execute(
        update(model)
        .where(model.id == row.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
