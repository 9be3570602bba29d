"""Partner organisations and referrals: the fields chosen, the status, the sealed packet."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.ciphertext import Ciphertext, Encrypted
from app.db import Base, IdMixin, utcnow


class Partner(IdMixin, Base):
    """An organisation cases can be referred to (legal aid, asylum lawyers, shelters)."""

    __tablename__ = "partners"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    # As printed by `haven partner keygen`: packets are encrypted to it.
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A coordinator vouches for the key: by entering it, or by confirming the fingerprint the
    # partner read out over another channel. Until then nothing is sent to it (an admin who
    # registered a key of their own could otherwise read the packets).
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Referral(IdMixin, Base):
    """Part of a case sent to a partner, only with consent, only the fields ticked."""

    __tablename__ = "referrals"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # Field names only (which fields go in the packet), never values.
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[Ciphertext | None] = mapped_column(Encrypted)
    # The packet, encrypted to the partner's key (made when the referral is sent).
    packet: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Set when share consent for this partner was withdrawn while the referral was pending.
    blocked: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
