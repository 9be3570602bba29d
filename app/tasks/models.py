"""Volunteer tasks: practical work, its text encrypted under the case key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.crypto.ciphertext import Ciphertext, Encrypted
from app.db import Base, IdMixin, utcnow


class Task(IdMixin, Base):
    """A task for one volunteer; title, instructions, place and note are encrypted."""

    __tablename__ = "tasks"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    assigned_to: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    due: Mapped[datetime | None] = mapped_column(index=True)
    title: Mapped[Ciphertext] = mapped_column(Encrypted)
    instructions: Mapped[Ciphertext] = mapped_column(Encrypted)
    place: Mapped[Ciphertext | None] = mapped_column(Encrypted)
    note: Mapped[Ciphertext | None] = mapped_column(Encrypted)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # A volunteer's list in its own order (soonest due first, no due last; app/tasks/
    # service.py): a page reads its own rows, however many tasks the volunteer has.
    __table_args__ = (
        Index(
            "ix_tasks_assigned_to_due_order",
            "assigned_to",
            text("(due IS NULL)"),
            "due",
            "created_at",
            "id",
        ),
        # The open tasks by due date (the board's overdue tasks read it and stop); the
        # statuses written out, as the queries that use it must write them (literal, not
        # bound: a planner uses a partial index only when the query implies its WHERE).
        Index(
            "ix_tasks_open_due",
            "due",
            "id",
            sqlite_where=text("status IN ('open', 'accepted')"),
            postgresql_where=text("status IN ('open', 'accepted')"),
        ),
    )
