"""The case record: a few plaintext columns the service must query without keys, every
personal field encrypted under the case's own data key, blind-index rows, encrypted
revisions, stage history, and break-glass grants."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.cases.fields import ENCRYPTED_FIELDS
from app.crypto.ciphertext import Ciphertext, Encrypted
from app.db import Base, IdMixin, utcnow


class Case(IdMixin, Base):
    """One person's case: only what must be queried without keys is plaintext here."""

    __tablename__ = "cases"

    case_code: Mapped[str] = mapped_column(String(32), unique=True)
    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teams.id"), index=True, active_history=True
    )
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="intake", active_history=True)
    risk_level: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, active_history=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    dek_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_keys.id"), unique=True)
    # Where the case came from: "staff" (an intake) or "self_referral" (the public form).
    source: Mapped[str] = mapped_column(String(16), default="staff", active_history=True)
    # The reportable dimensions (named in SECURITY.md): plaintext so reports need no keys.
    # `active_history`: their old values are known at flush, so the maintained report counts
    # (app/reports/counts.py) can move a case from its old cells to its new ones.
    citizenship: Mapped[str | None] = mapped_column(String(2), index=True, active_history=True)
    current_country: Mapped[str | None] = mapped_column(String(2), index=True, active_history=True)
    situation: Mapped[str | None] = mapped_column(String(32), index=True, active_history=True)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list, active_history=True)
    outcome_kind: Mapped[str | None] = mapped_column(String(32), active_history=True)
    # When the movement plan must be destroyed (the plan itself is encrypted).
    movement_destroy_after: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None] = mapped_column(index=True, active_history=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    # Store consent withdrawn: a coordinator must decide on erasure.
    erasure_decision_due: Mapped[bool] = mapped_column(Boolean, default=False)
    erasure_requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    erasure_requested_at: Mapped[datetime | None]

    # The person's fields: one column each, encrypted under the case DEK (AAD: case id and
    # field name), named by the catalogue (app/cases/fields.py). Code reaches them by name,
    # through app/cases/record.py, never as attributes.
    vars().update(
        {name: mapped_column(name, Encrypted, nullable=True) for name in ENCRYPTED_FIELDS}
    )

    # Optimistic locking: every UPDATE says WHERE version = <read version>, so a concurrent
    # writer's change is never silently overwritten (StaleDataError -> 409).
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declared form
    # The case list in each of its index-ordered sorts (app/cases/search.py): a page reads
    # its own rows, however many cases the team has; the id settles ties, in the same order.
    __table_args__ = (
        Index("ix_cases_team_id_created_at_id", "team_id", "created_at", "id"),
        Index("ix_cases_team_id_updated_at_id", "team_id", "updated_at", "id"),
        Index("ix_cases_team_id_stage_created_at_id", "team_id", "stage", "created_at", "id"),
        Index("ix_cases_assigned_to_created_at_id", "assigned_to", "created_at", "id"),
        # Filtered by country, risk or assignee: the page and its bounded count read only the
        # matching rows, in order (the need, a JSON list, has no index: see docs/api.md).
        Index(
            "ix_cases_team_id_current_country_created_at_id",
            "team_id",
            "current_country",
            "created_at",
            "id",
        ),
        Index(
            "ix_cases_team_id_risk_level_created_at_id", "team_id", "risk_level", "created_at", "id"
        ),
        Index(
            "ix_cases_team_id_assigned_to_created_at_id",
            "team_id",
            "assigned_to",
            "created_at",
            "id",
        ),
    )


class CaseIndex(Base):
    """One blind-index value of a case (name tokens, aliases, birth date, phones, handles).

    Truncated HMACs: many cases share a value by design, so a hit is only a candidate that
    the service confirms by decrypting."""

    __tablename__ = "case_indexes"
    # The case id in the index: a search's intersection of hits reads the index alone.
    __table_args__ = (Index("ix_case_indexes_lookup", "field", "value", "case_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(Integer)


class CaseRevision(IdMixin, Base):
    """One change to a case: who, when, which fields; old and new values encrypted under the
    case key, so history is readable by the case team and dies with the case."""

    __tablename__ = "case_revisions"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    changes: Mapped[Ciphertext] = mapped_column(Encrypted)


class StageChange(IdMixin, Base):
    """A stage transition: who, when, from, to (for time-in-stage reports)."""

    __tablename__ = "case_stage_changes"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))

    # Time in stage walks each case's history in order (app/reports/queries.py).
    __table_args__ = (Index("ix_case_stage_changes_case_id_at", "case_id", "at"),)


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


class CaseDeadline(Base):
    """A date by which something must happen on a case (a hearing, a deadline of the
    protection procedure): the date and its kind only, in plaintext, so the triage board and
    a list sorted by what is due need no key. What the date is about stays encrypted."""

    __tablename__ = "case_deadlines"
    __table_args__ = (Index("ix_case_deadlines_on", "on"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    on: Mapped[date] = mapped_column(Date)
    # "hearing" or "deadline" (DeadlineKind).
    kind: Mapped[str] = mapped_column(String(16))


class InterviewDraft(IdMixin, Base):
    """An intake interview whose session lapsed before it was saved: what was typed, kept
    encrypted under a key derived from the root key and bound to the account and this row
    (app/cases/drafts.py), until the interview is saved or `expires_at` (a day) passes."""

    __tablename__ = "interview_drafts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    body: Mapped[Ciphertext] = mapped_column(Encrypted)
