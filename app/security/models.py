"""Server-side sessions and bearer tokens, and the shared sign-in throttle."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow


class CredentialKind(enum.StrEnum):
    """How the holder presents the token."""

    COOKIE = "cookie"
    BEARER = "bearer"


class SessionStage(enum.StrEnum):
    """A cookie session is full only after every factor; the others allow one page each."""

    TOTP = "totp"  # password checked, waiting for the TOTP code
    ENROL = "enrol"  # password checked, TOTP enrolment required first
    NEW_PASSWORD = "renew"  # every factor checked; a one-time password to replace first
    FULL = "full"


class AuthSession(IdMixin, Base):
    """A signed-in session (cookie) or an API token (bearer). Only the token's hash is kept."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(8))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    reauth_at: Mapped[datetime | None]
    # A coarse device name ("Firefox, Linux"; app/security/agents.py) for "my sessions".
    agent: Mapped[str | None] = mapped_column(String(40))


class LoginThrottle(Base):
    """Failed sign-ins per account (keyed by a hash of the e-mail, known or not) and per
    client address, kept in the database so that every server process sees the same count."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]
