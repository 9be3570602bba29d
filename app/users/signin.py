"""Sign-in: password, then TOTP (or a recovery code), throttled and audited.

Every failure answers the same way (InvalidCredentials) whether the account is unknown,
disabled, or the password or code is wrong, and costs one Argon2 verification either way.
A failure is flushed here and its error asks to keep it (`keep_record`): the unit of work
commits the count and the audit entry although the request fails, so a refused attempt
still counts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.events import AuditAction
from app.audit.log import record
from app.crypto.keyring import Keyring
from app.crypto.system_keys import open_totp_secret
from app.errors import Locked, Throttled
from app.policy.permissions import TOTP_REQUIRED, Role
from app.security import passwords, throttle, totp
from app.security.errors import InvalidCredentials, OneTimePasswordUsed
from app.users.models import RecoveryCode, User
from app.users.service import normalise_email


def _check(db: Session, client: throttle.Client, now: datetime) -> None:
    """Refuse (423 or 429, with Retry-After) before any password work when held."""
    held = throttle.hold(db, client, now)
    if held is None:
        return
    status, until = held
    if status == 429:
        raise Throttled(retry_after=throttle.retry_after(until, now))
    raise Locked(retry_after=throttle.retry_after(until, now))


def _fail(
    db: Session,
    client: throttle.Client,
    *,
    now: datetime,
    user: User | None,
    factor: str,
    action: AuditAction = AuditAction.SIGN_IN_FAILED,
) -> None:
    locked_until = throttle.record_failure(db, client, now)
    record(db, action, by=user, outcome="denied", reason=f"{factor}" if user else "unknown_account")
    if locked_until is not None:
        record(
            db,
            AuditAction.ACCOUNT_LOCKED,
            by=user,
            outcome="denied",
            reason=None if user else "unknown_account",
        )
        raise Locked(retry_after=throttle.retry_after(locked_until, now), keep_record=True)
    raise InvalidCredentials(keep_record=True)


def password_step(
    db: Session,
    *,
    email: str,
    password: str,
    address: str,
    now: datetime,
    keyring: Keyring,
    failure: AuditAction = AuditAction.SIGN_IN_FAILED,
) -> User:
    """The account for email and password; raises InvalidCredentials, Locked or Throttled.
    A failure counts towards the lockout and is audited as `failure`; a success without a
    second factor to come clears this address's count (see app.security.throttle)."""
    email = normalise_email(email)
    client = throttle.Client(email=email, address=address, keyring=keyring)
    _check(db, client, now)
    user = db.scalars(select(User).where(User.email == email)).first()
    ok, new_hash = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled_at is not None:
        _fail(
            db,
            client,
            now=now,
            user=user,
            factor="disabled" if user is not None and ok else "password",
            action=failure,
        )
    assert user is not None  # noqa: S101 - _fail raised otherwise
    if new_hash is not None:  # the parameters changed since this hash was made
        user.password_hash = new_hash
    if not needs_second_factor(user):
        throttle.record_success(db, client, now)
    return user


def needs_second_factor(user: User) -> bool:
    """True when sign-in must also check TOTP: mandatory roles, or a volunteer who enrolled."""
    return Role(user.role) in TOTP_REQUIRED or user.totp_enrolled_at is not None


def needs_enrolment(user: User) -> bool:
    """True when the user must enrol TOTP before anything else."""
    return Role(user.role) in TOTP_REQUIRED and user.totp_enrolled_at is None


def _use_recovery_code(db: Session, *, user: User, code: str, now: datetime) -> bool:
    row = db.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == totp.hash_recovery_code(code),
            RecoveryCode.used_at.is_(None),
        )
    ).first()
    if row is None:
        return False
    row.used_at = now
    record(db, AuditAction.RECOVERY_CODE_USED, by=user, on=("user", user.id))
    return True


def _claim_step(db: Session, *, user: User, step: int) -> bool:
    """Record step as used, atomically: True for the one request that moves it forward.

    A conditional UPDATE rather than read-then-write, so two requests racing with the same
    code cannot both pass: on PostgreSQL the second waits for the first's row lock and then
    finds the condition false; on SQLite writers are serialised (BEGIN IMMEDIATE)."""
    result = db.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    claimed = int(getattr(result, "rowcount", 0) or 0) == 1
    if claimed:
        set_committed_value(user, "totp_last_step", step)
    return claimed


def second_factor(
    db: Session,
    *,
    user: User,
    code: str,
    address: str,
    now: datetime,
    keyring: Keyring,
    allow_recovery: bool = True,
    failure: AuditAction = AuditAction.SIGN_IN_FAILED,
) -> None:
    """Check a TOTP code (each accepted once) or a recovery code; raises like password_step.

    The TOTP secret is decrypted here, for this check only (sign-in needs the unsealed
    keyring anyway: a sealed service answers 503 before any route runs)."""
    client = throttle.Client(email=user.email, address=address, keyring=keyring)
    _check(db, client, now)
    if allow_recovery and totp.looks_like_recovery_code(code):
        if _use_recovery_code(db, user=user, code=code, now=now):
            throttle.record_success(db, client, now)
            return
        _fail(db, client, now=now, user=user, factor="recovery", action=failure)
    step = None
    if user.totp_secret is not None:
        secret = open_totp_secret(keyring, user_id=user.id, sealed=user.totp_secret)
        step = totp.match_step(secret, code, now=now, last_used_step=user.totp_last_step)
    if step is None or not _claim_step(db, user=user, step=step):
        _fail(db, client, now=now, user=user, factor="totp", action=failure)
    if user.totp_enrolled_at is None:
        # A valid code from the provisioned secret proves the authenticator holds it.
        user.totp_enrolled_at = now
        record(db, AuditAction.TOTP_ENROLLED, by=user, on=("user", user.id))
    throttle.record_success(db, client, now)


def issue_recovery_codes(db: Session, *, user: User, now: datetime) -> list[str]:
    """Replace the user's recovery codes by ten new ones; the plaintext exists only here."""
    for old in db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        db.delete(old)
    codes = totp.new_recovery_codes()
    db.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes)
    user.recovery_codes_issued_at = now
    db.flush()
    return codes


def succeeded(db: Session, *, user: User, method: str) -> None:
    """Audit the sign-in (the factors' checks already cleared the address's failures)."""
    record(db, AuditAction.SIGN_IN, by=user, on=("user", user.id), reason=method)


def one_time_step(db: Session, *, user: User, now: datetime) -> bool:
    """After every factor: True when the password is a one-time one that must be replaced
    now (it is marked used: it never opens a second sign-in); raises when it was used."""
    if not user.password_must_change:
        return False
    if user.one_time_used_at is not None:
        record(db, AuditAction.SIGN_IN_FAILED, by=user, outcome="denied", reason="one_time_used")
        raise OneTimePasswordUsed(keep_record=True)
    user.one_time_used_at = now
    db.flush()
    return True
