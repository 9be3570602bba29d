"""Server-side sessions and bearer tokens: random 256-bit tokens, kept only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.config import Settings
from app.security.models import AuthSession, CredentialKind, SessionStage

SECURE_COOKIE_NAME = "__Host-haven_session"
# Browsers refuse a __Host- cookie without Secure, so plain-HTTP local use drops the prefix.
PLAIN_COOKIE_NAME = "haven_session"
BEARER_PREFIX = "hvn_"  # makes a leaked token recognisable to secret scanners
PENDING_LIFETIME = timedelta(minutes=5)
REAUTH_WINDOW = timedelta(minutes=5)
# A session's last_seen is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(seconds=30)


def cookie_name(settings: Settings) -> str:
    """The session cookie's name for these settings."""
    return SECURE_COOKIE_NAME if settings.secure_cookies else PLAIN_COOKIE_NAME


def hash_token(raw: str) -> str:
    """SHA-256 of a token: tokens carry 256 random bits, so no slow hash is needed."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A freshly created session or token: the raw token exists only here and in the reply."""

    token: str
    session: AuthSession


def create(
    db: Session,
    *,
    user_id: uuid.UUID,
    kind: CredentialKind,
    stage: SessionStage,
    now: datetime,
    settings: Settings,
    agent: str | None = None,
) -> Issued:
    """A new session (cookie) or token (bearer) for the account user_id; `agent` is the
    coarse device name (app.security.agents.device_summary), never a User-Agent string."""
    raw = secrets.token_urlsafe(32)
    if kind is CredentialKind.BEARER:
        raw = BEARER_PREFIX + raw
        lifetime = timedelta(hours=settings.api_token_hours)
    elif stage is SessionStage.FULL:
        lifetime = timedelta(hours=settings.session_absolute_hours)
    else:
        lifetime = PENDING_LIFETIME
    row = AuthSession(
        token_hash=hash_token(raw),
        user_id=user_id,
        kind=kind.value,
        stage=stage.value,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        # Signing in with every factor is itself a fresh re-authentication.
        reauth_at=now if stage is SessionStage.FULL else None,
        agent=agent,
    )
    db.add(row)
    db.flush()
    return Issued(token=raw, session=row)


def is_live(row: AuthSession, *, now: datetime, settings: Settings) -> bool:
    """True while the session is within its absolute and (cookies only) idle limits."""
    if now >= row.expires_at:
        return False
    if row.kind == CredentialKind.COOKIE.value:
        return now < row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    return True


def resolve(db: Session, raw: str, *, now: datetime, settings: Settings) -> AuthSession | None:
    """The live session for a raw token, or None. Whether its account may still use it
    (enabled) is the caller's question: app/policy/deps.py `session_account`."""
    row = db.scalars(select(AuthSession).where(AuthSession.token_hash == hash_token(raw))).first()
    return row if row is not None and keep_alive(db, row, now=now, settings=settings) else None


def keep_alive(db: Session, row: AuthSession, *, now: datetime, settings: Settings) -> bool:
    """Whether a session found by its token is live; a live one's last use is noted (at
    most once per TOUCH_INTERVAL). What `resolve` does after its lookup."""
    if not is_live(row, now=now, settings=settings):
        return False
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at = now
        db.flush()
    return True


def rotate(
    db: Session,
    *,
    old: AuthSession,
    now: datetime,
    settings: Settings,
    stage: SessionStage = SessionStage.FULL,
) -> Issued:
    """Replace a session by a new one (full by default) with a new token (fixation defence)."""
    db.delete(old)
    db.flush()
    return create(
        db,
        user_id=old.user_id,
        kind=CredentialKind(old.kind),
        stage=stage,
        now=now,
        settings=settings,
        agent=old.agent,
    )


def end(db: Session, session_id: uuid.UUID) -> None:
    """End one session or token."""
    db.execute(delete(AuthSession).where(AuthSession.id == session_id))


def end_for_user(db: Session, user_id: uuid.UUID) -> int:
    """End every session and token of a user; returns how many ended."""
    result = db.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def end_all(db: Session) -> int:
    """End every session and token of every user (sealing)."""
    result = db.execute(delete(AuthSession))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired(db: Session, *, now: datetime) -> int:
    """Delete sessions past their absolute expiry (idle ones go when next presented, or at
    their absolute expiry); returns how many. Run by app/users/housekeeping.py."""
    result = db.execute(delete(AuthSession).where(AuthSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def reauth_is_fresh(row_reauth_at: datetime | None, *, now: datetime) -> bool:
    """True when the holder proved password and TOTP within the re-authentication window."""
    return row_reauth_at is not None and now - row_reauth_at <= REAUTH_WINDOW


def set_cookie(response: Response, token: str, settings: Settings) -> None:
    """Set the session cookie: HttpOnly, SameSite=Strict, Path=/, Secure unless turned off."""
    response.set_cookie(
        cookie_name(settings),
        token,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(
        cookie_name(settings),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )
