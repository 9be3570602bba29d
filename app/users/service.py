"""Account rules: create, change role, disable, teams, passwords, unlock, end sessions.

Services flush, never commit; each change writes its audit entry in the same transaction.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.config import Settings
from app.crypto.keyring import Keyring
from app.crypto.system_keys import open_totp_secret, seal_totp_secret
from app.errors import Conflict, InvalidInput
from app.i18n import LOCALES, N_, is_supported
from app.policy.deps import Actor
from app.policy.permissions import CASE_ROLES, Role
from app.security import passwords, sessions, throttle, totp
from app.security.errors import WeakPassword
from app.security.models import AuthSession, SessionStage
from app.users.models import RecoveryCode, Team, TeamMembership, User

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """The canonical form of an e-mail address (trimmed, lower-case)."""
    return email.strip().lower()


_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789"  # no look-alikes


def generate_password() -> str:
    """A one-time password of about 135 random bits, in groups easy to read and type."""
    groups = ("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(6)) for _ in range(4))
    return "-".join(groups)


def team_ids_of(db: Session, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The ids of the teams a user belongs to."""
    return list(db.scalars(select(TeamMembership.team_id).where(TeamMembership.user_id == user_id)))


def teams_of(db: Session, user_id: uuid.UUID) -> list[Team]:
    """The teams a user belongs to, by name."""
    return list(
        db.scalars(
            select(Team)
            .join(TeamMembership, TeamMembership.team_id == Team.id)
            .where(TeamMembership.user_id == user_id)
            .order_by(Team.name)
        )
    )


def get_or_create_team(db: Session, name: str, *, actor: Actor | None = None) -> Team:
    """The team of that name, created (and audited) when new."""
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput("team", "must be 1 to 120 characters")
    team = db.scalars(select(Team).where(Team.name == name)).first()
    if team is None:
        team = Team(name=name)
        db.add(team)
        db.flush()
        record(db, AuditAction.TEAM_CREATED, by=actor, on=("team", team.id), fields=["name"])
    return team


@dataclass(frozen=True)
class NewAccount:
    """A created account, with the one-time password when Haven chose it."""

    user: User
    password: str | None
    totp_uri: str
    totp_secret: str = field(repr=False, default="")


def create_user(
    db: Session,
    *,
    email: str,
    role: Role | str,
    teams: Iterable[str] = (),
    password: str | None = None,
    actor: Actor | None = None,
    keyring: Keyring,
    name: str | None = None,
    one_time: bool = True,
) -> NewAccount:
    """Create an account (and any new team), with a TOTP secret ready for enrolment. The
    password, chosen by someone else, works once (`one_time`; off only for the demo's
    invented accounts): at that first sign-in it must be replaced."""
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput("email", "is not an e-mail address")
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput("role", f"must be one of {', '.join(r.value for r in Role)}") from None
    if db.scalars(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict("An account with that e-mail already exists.")
    generated = None
    if password is None:
        password = generated = generate_password()
    problem = passwords.weakness(password, email=email)
    if problem:
        raise WeakPassword("password", problem)
    user_id, secret = uuid.uuid4(), totp.new_secret()
    user = User(
        id=user_id,
        email=email,
        role=role.value,
        password_hash=passwords.hash_password(password),
        totp_secret=seal_totp_secret(keyring, user_id=user_id, secret=secret),
        display_name=clean_name(name),
        password_must_change=one_time,
    )
    db.add(user)
    db.flush()
    for team_name in teams:
        team = get_or_create_team(db, team_name, actor=actor)
        db.add(TeamMembership(user_id=user.id, team_id=team.id))
    db.flush()
    record(
        db,
        AuditAction.USER_CREATED,
        by=actor,
        on=("user", user.id),
        fields=["email", "role", "teams"],
    )
    return NewAccount(user, generated, totp.provisioning_uri(secret, email), secret)


def set_role(db: Session, *, actor: Actor, user: User, role: Role) -> None:
    """Change a role: ends every session and token of the account."""
    if user.role == role.value:
        return
    user.role = role.value
    sessions.end_for_user(db, user.id)
    record(db, AuditAction.USER_ROLE_CHANGED, by=actor, on=("user", user.id), fields=["role"])


def set_disabled(db: Session, *, actor: Actor, user: User, disabled: bool, now: datetime) -> None:
    """Disable (ending every session at once) or enable an account."""
    if disabled == (user.disabled_at is not None):
        return
    if disabled and user.id == actor.id:
        raise InvalidInput("disabled", "you cannot disable your own account")
    user.disabled_at = now if disabled else None
    if disabled:
        sessions.end_for_user(db, user.id)
    action = AuditAction.USER_DISABLED if disabled else AuditAction.USER_ENABLED
    record(db, action, by=actor, on=("user", user.id), fields=["disabled"])


def set_password(db: Session, *, user: User, new: str, now: datetime) -> None:
    """Set one's own new password (the caller has proven password and code): ends every
    session and token of the account, and is audited. A one-time password is replaced."""
    problem = passwords.weakness(new, email=user.email)
    if problem:
        raise WeakPassword("new_password", problem)
    if passwords.verify_password(user.password_hash, new)[0]:
        raise WeakPassword("new_password", SAME_AS_BEFORE)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = now
    user.password_must_change = False
    user.one_time_used_at = None
    sessions.end_for_user(db, user.id)
    record(db, AuditAction.PASSWORD_CHANGED, by=user, on=("user", user.id))


SAME_AS_BEFORE = N_("must differ from the current password")


def reset_password(db: Session, *, actor: Actor, user: User, now: datetime) -> str:
    """A new one-time password for an account that lost its own (shown once to the admin;
    it works once and must be replaced at that sign-in); every session of the account ends.

    Refused for an account that sees case content and has no authenticator enrolled yet:
    whoever knows its password could enrol one first and hold both factors — such an
    account's password comes only from the coordinator who approves it (users.grants)."""
    if Role(user.role) in CASE_ROLES and user.totp_enrolled_at is None:
        raise Conflict(
            "This account has no authenticator yet: its password comes from the coordinator "
            "who approves its access."
        )
    password = issue_one_time_password(user, now=now)
    sessions.end_for_user(db, user.id)
    record(db, AuditAction.PASSWORD_RESET, by=actor, on=("user", user.id))
    return password


def issue_one_time_password(user: User, *, now: datetime) -> str:
    """Replace the password by a new one-time one (shown once to whoever issues it)."""
    password = generate_password()
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    user.password_must_change = True
    user.one_time_used_at = None
    return password


def set_name(db: Session, *, actor: Actor, user: User, name: str) -> None:
    """Change how colleagues see the account (an empty name: the e-mail's first part)."""
    user.display_name = clean_name(name)
    record(db, AuditAction.USER_UPDATED, by=actor, on=("user", user.id), fields=["name"])


def clean_name(name: str | None) -> str | None:
    """A display name trimmed, or None when empty (422 when too long)."""
    name = (name or "").strip()
    if len(name) > 120:
        raise InvalidInput("name", "must be at most 120 characters")
    return name or None


def unlock(db: Session, *, actor: Actor, user: User) -> bool:
    """Lift a sign-in lockout; True when the account was locked."""
    was_locked = throttle.unlock(db, email=user.email)
    record(
        db,
        AuditAction.ACCOUNT_UNLOCKED,
        by=actor,
        on=("user", user.id),
        outcome="ok" if was_locked else "noop",
    )
    return was_locked


def end_sessions(db: Session, *, actor: Actor, user: User) -> int:
    """End every session and token of an account."""
    count = sessions.end_for_user(db, user.id)
    record(db, AuditAction.USER_SESSIONS_ENDED, by=actor, on=("user", user.id))
    return count


def set_language(db: Session, *, user: User, language: str | None) -> None:
    """Store the language of the user's pages (None: follow the browser again).

    Not audited: a display preference, not an access or a change to anyone's data."""
    if language is not None and not is_supported(language):
        raise InvalidInput("language", f"must be one of {', '.join(LOCALES)}")
    user.language = language
    db.flush()


# -- Lists and one's own sessions (the admin's pages and the API call these) ----------------


@dataclass(frozen=True)
class AccountFilter:
    """Which accounts a list shows; every part optional."""

    role: Role | None = None
    team_id: uuid.UUID | None = None
    active: bool | None = None


@dataclass(frozen=True)
class AccountRow:
    """An account in a list, with its teams (by name)."""

    user: User
    teams: list[Team]


def list_accounts(
    db: Session, flt: AccountFilter, *, offset: int, limit: int
) -> tuple[list[AccountRow], int]:
    """One page of accounts by e-mail, with their teams: three statements whatever the
    page's length (the count, the page, the teams of the page's accounts)."""
    stmt = select(User)
    if flt.role is not None:
        stmt = stmt.where(User.role == flt.role.value)
    if flt.team_id is not None:
        members = select(TeamMembership.user_id).where(TeamMembership.team_id == flt.team_id)
        stmt = stmt.where(User.id.in_(members))
    if flt.active is not None:
        stmt = stmt.where(
            User.disabled_at.is_(None) if flt.active else User.disabled_at.is_not(None)
        )
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    users = list(db.scalars(stmt.order_by(User.email).limit(limit).offset(offset)))
    teams = teams_by_user(db, [u.id for u in users])
    return [AccountRow(u, teams.get(u.id, [])) for u in users], total


def teams_by_user(db: Session, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Team]]:
    """The teams of each of these accounts, by name, in one statement."""
    ids = list(user_ids)
    out: dict[uuid.UUID, list[Team]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = db.execute(
        select(TeamMembership.user_id, Team)
        .join(Team, Team.id == TeamMembership.team_id)
        .where(TeamMembership.user_id.in_(ids))
        .order_by(Team.name)
    )
    for user_id, team in rows:
        out[user_id].append(team)
    return out


@dataclass(frozen=True)
class TeamRow:
    """A team in a list, with how many accounts belong to it."""

    team: Team
    members: int


def list_teams(db: Session, *, offset: int, limit: int) -> tuple[list[TeamRow], int]:
    """One page of teams by name with their member counts (two statements)."""
    total = db.scalar(select(func.count()).select_from(Team)) or 0
    counts = (
        select(TeamMembership.team_id, func.count().label("n"))
        .group_by(TeamMembership.team_id)
        .subquery()
    )
    rows = db.execute(
        select(Team, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.team_id == Team.id)
        .order_by(Team.name)
        .limit(limit)
        .offset(offset)
    )
    return [TeamRow(team, int(n)) for team, n in rows], total


def all_teams(db: Session) -> list[Team]:
    """Every team by name (for a choice of teams in a form)."""
    return list(db.scalars(select(Team).order_by(Team.name)))


def actor_names(db: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, tuple[str, str]]:
    """Who acted in the log: name and role of each id, in one statement (nothing else: the
    auditor's look-up, like GET /audit/actors/{id})."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.execute(
        select(User.id, User.display_name, User.email, User.role).where(User.id.in_(wanted))
    )
    return {uid: (name or email.split("@", 1)[0], role) for uid, name, email, role in rows}


def own_sessions(
    db: Session, *, user_id: uuid.UUID, now: datetime, settings: Settings
) -> list[AuthSession]:
    """The signed-in sessions and API tokens of an account that are still live (within
    their absolute and idle limits), the most recently used first; pending sign-in steps are
    not sessions yet."""
    rows = db.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.stage == SessionStage.FULL.value,
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.last_seen_at.desc(), AuthSession.id)
    )
    return [r for r in rows if sessions.is_live(r, now=now, settings=settings)]


def end_other_sessions(db: Session, *, actor: Actor) -> int:
    """End every session and token of the caller's account but the one in use (audited)."""
    result = db.execute(
        delete(AuthSession).where(
            AuthSession.user_id == actor.id, AuthSession.id != actor.session_id
        )
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    record(db, AuditAction.USER_SESSIONS_ENDED, by=actor, on=("user", actor.id), reason="others")
    return count


def regenerate_recovery_codes(db: Session, *, actor: Actor, now: datetime) -> list[str]:
    """Ten new recovery codes for the caller (the old ones stop working); the plaintext
    exists only in the answer. The caller has re-authenticated (the route requires it)."""
    user = db.get_one(User, actor.id)
    if user.totp_enrolled_at is None:
        raise Conflict("Set up your authenticator first: recovery codes stand in for it.")
    for old in db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    codes = totp.new_recovery_codes()
    db.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes)
    user.recovery_codes_issued_at = now
    db.flush()
    record(db, AuditAction.RECOVERY_CODES_ISSUED, by=actor, on=("user", user.id))
    return codes


def team_members(
    db: Session, team_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[User], int]:
    """One page of a team's accounts by name (two statements); the caller redacts them
    for its role (app.policy.permissions.redact_member)."""
    stmt = (
        select(User)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id == team_id)
    )
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(func.coalesce(User.display_name, User.email), User.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def member_values(user: User) -> dict[str, object]:
    """An account as the team directory may show it, before the role's redaction."""
    return {
        "id": user.id,
        "name": user.display_name or user.email.split("@", 1)[0],
        "role": user.role,
        "email": user.email,
        "active": user.disabled_at is None,
    }


def all_account_ids(db: Session) -> list[uuid.UUID]:
    """Every account's id (for the auditor's choice of actor, named by `actor_names`)."""
    return list(db.scalars(select(User.id)))


@dataclass(frozen=True)
class PendingAuthenticator:
    """A new authenticator key being set up, as text and as the otpauth:// URI."""

    secret: str = field(repr=False)
    uri: str = field(repr=False)


def begin_totp_change(db: Session, *, actor: Actor, keyring: Keyring) -> PendingAuthenticator:
    """The new key for the caller's authenticator (the one being set up, or a new one);
    the old key keeps working until a code from the new one is confirmed. The caller has
    re-authenticated (the route requires it)."""
    user = db.get_one(User, actor.id)
    if user.totp_pending is not None:
        secret = open_totp_secret(keyring, user_id=user.id, sealed=user.totp_pending)
    else:
        secret = totp.new_secret()
        user.totp_pending = seal_totp_secret(keyring, user_id=user.id, secret=secret)
        db.flush()
    return PendingAuthenticator(secret, totp.provisioning_uri(secret, user.email))


NOTHING_PENDING = N_("No new authenticator is being set up: start again from your account.")
WRONG_NEW_CODE = N_("This code does not match the new key; type the code your app shows now.")


def confirm_totp_change(
    db: Session, *, actor: Actor, code: str, now: datetime, keyring: Keyring
) -> None:
    """Make the new key the account's once a code from it checks out; every other session
    and token ends (whoever held the old authenticator is out). Audited."""
    user = db.get_one(User, actor.id)
    if user.totp_pending is None:
        raise Conflict(NOTHING_PENDING)
    secret = open_totp_secret(keyring, user_id=user.id, sealed=user.totp_pending)
    step = totp.match_step(secret, code, now=now, last_used_step=None)
    if step is None:
        raise InvalidInput("code", WRONG_NEW_CODE)
    user.totp_secret, user.totp_pending = user.totp_pending, None
    user.totp_last_step = step
    user.totp_enrolled_at = now
    db.execute(
        delete(AuthSession).where(
            AuthSession.user_id == user.id, AuthSession.id != actor.session_id
        )
    )
    db.flush()
    record(db, AuditAction.TOTP_ENROLLED, by=actor, on=("user", user.id), reason="replaced")
