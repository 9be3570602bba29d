"""Documents attached to a case: a random blob id; name, type and SHA-256 encrypted."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.ciphertext import Ciphertext, Encrypted
from app.db import Base, IdMixin, utcnow


class Document(IdMixin, Base):
    """One encrypted attachment (scan, summons, case file)."""

    __tablename__ = "documents"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    blob_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    # {"name", "content_type", "sha256"} as encrypted JSON under the case key.
    meta: Mapped[Ciphertext] = mapped_column(Encrypted)
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
