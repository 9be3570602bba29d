"""Erasure of a case: four eyes, then crypto-shredding.

One coordinator of the case's team asks; a second coordinator of the same team approves
within APPROVAL_WINDOW; then every row of the case is deleted and its data key destroyed
(app/crypto/shred.py), so any copy of its ciphertext left anywhere (a backup, a free page)
is unreadable. Blob files go and SQLite's WAL is checkpointed once the erasure commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases.models import BreakGlassGrant, Case, CaseIndex, CaseRevision, StageChange
from app.crypto.shred import shred
from app.documents.blobs import BlobStore
from app.documents.models import Document
from app.errors import Conflict, Forbidden
from app.policy.deps import Actor
from app.referrals.models import Referral
from app.reports.counts import forget_history
from app.tasks.models import Task

APPROVAL_WINDOW = timedelta(days=7)


class AwaitingSecondCoordinator(Conflict):
    """409: the same coordinator asked twice; another coordinator must approve."""

    code = "erasure_awaiting_second_coordinator"
    message = "Erasure is awaiting a second coordinator of the case's team."


@dataclass(frozen=True)
class ErasureOutcome:
    """What a DELETE did: recorded a request (awaiting approval) or erased the case."""

    erased: bool
    case_id: uuid.UUID
    requested_at: datetime | None = None
    approve_before: datetime | None = None


def _pending(case: Case, now: datetime) -> bool:
    at = case.erasure_requested_at
    return case.erasure_requested_by is not None and at is not None and now - at <= APPROVAL_WINDOW


@dataclass(frozen=True)
class PendingErasure:
    """An erasure one coordinator asked for, waiting for a second one until approve_before."""

    requested_by: uuid.UUID
    requested_at: datetime
    approve_before: datetime


def pending(case: Case, now: datetime) -> PendingErasure | None:
    """The erasure request awaiting a second coordinator, if one is live."""
    by, at = case.erasure_requested_by, case.erasure_requested_at
    if by is None or at is None or not _pending(case, now):
        return None
    return PendingErasure(by, at, at + APPROVAL_WINDOW)


def decision_due(case: Case) -> bool:
    """True when the person withdrew consent to keep the record and a coordinator must
    decide whether to erase the case."""
    return bool(case.erasure_decision_due)


class ErasureOnLegalHold(Conflict):
    """409: the case is on legal hold."""

    code = "legal_hold"
    message = "The case is on legal hold; lift the hold before erasing it."


def request_or_approve(
    db: Session, *, actor: Actor, case: Case, now: datetime, blob_store: BlobStore | None
) -> ErasureOutcome:
    """The first coordinator's call records a request; a second coordinator's erases."""
    if case.team_id not in actor.team_ids:
        # Reached by break-glass, not as the team: erasure is the team's decision.
        raise Forbidden("Only a coordinator of the case's team may ask for or approve erasure.")
    if case.legal_hold:
        # A hold stops erasure by hand as it stops retention: lift it first (audited PATCH).
        raise ErasureOnLegalHold()
    if not _pending(case, now):
        case.erasure_requested_by = actor.id
        case.erasure_requested_at = now
        db.flush()
        record(db, AuditAction.CASE_ERASURE_REQUESTED, by=actor, on=("case", case.id))
        return ErasureOutcome(
            erased=False, case_id=case.id, requested_at=now, approve_before=now + APPROVAL_WINDOW
        )
    if case.erasure_requested_by == actor.id:
        raise AwaitingSecondCoordinator()
    case_id = case.id
    erase_case(db, case=case, blob_store=blob_store)
    record(db, AuditAction.CASE_ERASED, by=actor, on=("case", case_id), reason="four_eyes")
    return ErasureOutcome(erased=True, case_id=case_id)


def erase_case(db: Session, *, case: Case, blob_store: BlobStore | None) -> None:
    """Delete every row of the case and destroy its data key (flushes; the caller commits,
    after which the blobs are deleted and SQLite's WAL is checkpointed). No audit entry:
    callers record who erased it and why."""
    case_id, key_id = case.id, case.dek_id
    blob_ids = list(db.scalars(select(Document.blob_id).where(Document.case_id == case_id)))
    # The bulk DELETE of the stage history is seen by no flush: take its stays out of the
    # report counts first (the case's own cells go when the flush deletes the case).
    forget_history(db, case)
    # Explicit deletes rather than relying on ON DELETE CASCADE, so the erasure does not
    # depend on a connection pragma (SQLite) and is visible in one place.
    for model in (Task, Document, Referral, CaseRevision, CaseIndex, StageChange, BreakGlassGrant):
        db.execute(
            delete(model)
            .where(model.case_id == case_id)
            .execution_options(synchronize_session=False)
        )
    db.delete(case)
    db.flush()
    shred(db, key_id=key_id, blob_store=blob_store, blob_ids=blob_ids)


def erase_for_retention(db: Session, *, case: Case, blob_store: BlobStore | None) -> None:
    """Erase a closed case past the retention period (no actor: the schedule did it)."""
    case_id = case.id
    erase_case(db, case=case, blob_store=blob_store)
    record(db, AuditAction.CASE_ERASED, by=None, on=("case", case_id), reason="retention")
