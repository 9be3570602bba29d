"""The case record's plaintext columns (the encrypted person fields come with the casework
and crypto work), and break-glass grants."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.ciphertext import Ciphertext, Encrypted
from app.db import Base, IdMixin, utcnow


class Case(IdMixin, Base):
    """One person's case: only what must be queried without keys is plaintext here."""

    __tablename__ = "cases"

    case_code: Mapped[str] = mapped_column(String(32), unique=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), index=True)
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="intake")
    risk_level: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)


class BreakGlassGrant(IdMixin, Base):
    """Time-limited access to a case outside the actor's scope, after a typed reason."""

    __tablename__ = "break_glass_grants"

    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    # Free text that may name the person: never logged, never audited, encrypted under the
    # DEK named by reason_key_id (app/crypto/system_keys.py; NULL only for grants made
    # before encryption, whose text the migration removed).
    reason: Mapped[Ciphertext | None] = mapped_column(Encrypted)
    reason_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("data_keys.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
