"""Accounts, teams, team membership and recovery codes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.ciphertext import Ciphertext, Encrypted
from app.db import Base, IdMixin, utcnow


class Team(IdMixin, Base):
    """A group of staff; a coordinator sees their teams' cases."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(IdMixin, Base):
    """A staff account. Never a client: clients are cases."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Encrypted under a root-derived key, bound to this user id (app/crypto/system_keys.py).
    totp_secret: Mapped[Ciphertext | None] = mapped_column(Encrypted)
    totp_enrolled_at: Mapped[datetime | None]
    # A new authenticator being set up (my account): replaces totp_secret once a code from
    # it is confirmed. Encrypted and bound to the user id like totp_secret.
    totp_pending: Mapped[Ciphertext | None] = mapped_column(Encrypted)
    totp_last_step: Mapped[int | None]
    recovery_codes_issued_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    # The language of the person's pages (app.i18n.LOCALES); None follows the browser.
    language: Mapped[str | None] = mapped_column(String(8))
    # How colleagues see the account in the team directory (None: the e-mail's first part).
    display_name: Mapped[str | None] = mapped_column(String(120))
    # A password someone else chose works once: at that sign-in it must be replaced.
    password_must_change: Mapped[bool] = mapped_column(default=False, server_default=false())
    one_time_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TeamMembership(Base):
    """A user belongs to a team."""

    __tablename__ = "team_memberships"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RecoveryCode(IdMixin, Base):
    """A one-time TOTP recovery code, stored as a SHA-256 hash (it carries 80 random bits)."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None]


class AccessRequest(IdMixin, Base):
    """A pending grant of case content (a case role, or a case role's new teams), asked by
    an admin and completed only when a coordinator of every granted team approves it."""

    __tablename__ = "access_requests"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    # The account's whole team set once approved, and the teams the approver must coordinate.
    team_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_team_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A brand-new account: its first password is issued to the approver, never to the admin.
    new_account: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]


def shown_name(user: User) -> str:
    """The name colleagues see: the display name, or the e-mail's part before the @."""
    return user.display_name or user.email.split("@", 1)[0]
