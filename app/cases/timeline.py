"""A case's timeline: everything that happened to it, in order, with who and when.

Field revisions (created, updated, assigned, stage, consent: old and new values, as far as
the reader may see them), documents uploaded, referrals made and sent and answered, tasks
set and done. Only the revisions are decrypted (under the case's one key); documents,
referrals and tasks are named by id and status, their content read where it lives.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import record as rec
from app.cases.models import Case, CaseRevision
from app.cases.record import REVISION_FIELD
from app.crypto.envelope import decrypt_json
from app.crypto.keyring import Keyring
from app.documents.models import Document
from app.policy.deps import Actor
from app.policy.permissions import redact
from app.referrals.models import Referral
from app.referrals.rules import ReferralStatus
from app.tasks.models import Task


@dataclass(frozen=True)
class Event:
    """One thing that happened to a case."""

    at: datetime
    kind: str
    actor_id: uuid.UUID | None
    fields: list[str] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    object_type: str | None = None
    object_id: uuid.UUID | None = None
    status: str | None = None


_KINDS = {frozenset({"assigned_to"}): "assigned", frozenset({"stage"}): "stage"}


def _revision_kind(revision: CaseRevision, first: bool) -> str:
    names = frozenset(revision.fields)
    if first:
        return "created"
    if names == {"consents"}:
        return "consent"
    return _KINDS.get(names, "updated")


def _revisions(db: Session, *, keyring: Keyring, actor: Actor, case: Case) -> list[Event]:
    dek = rec.case_key(db, keyring=keyring, case=case)
    rows = list(
        db.scalars(
            select(CaseRevision)
            .where(CaseRevision.case_id == case.id)
            .order_by(CaseRevision.version, CaseRevision.at)
        )
    )
    out = []
    for i, r in enumerate(rows):
        changes = decrypt_json(dek, field=REVISION_FIELD, ciphertext=r.changes, row_id=r.id)
        visible = redact(actor.role, changes)
        out.append(
            Event(
                at=r.at,
                kind=_revision_kind(r, first=i == 0),
                actor_id=r.actor_id,
                fields=sorted(visible),
                changes=visible,
            )
        )
    return out


def _documents(db: Session, case: Case) -> list[Event]:
    rows = db.scalars(select(Document).where(Document.case_id == case.id))
    return [
        Event(d.uploaded_at, "document", d.uploaded_by, object_type="document", object_id=d.id)
        for d in rows
    ]


def _referrals(db: Session, case: Case) -> list[Event]:
    out = []
    for r in db.scalars(select(Referral).where(Referral.case_id == case.id)):
        made = Event(r.created_at, "referral", r.created_by, object_type="referral")
        out.append(_with(made, r.id, ReferralStatus.DRAFT.value))
        if r.sent_at is not None:
            out.append(_with(Event(r.sent_at, "referral", None), r.id, ReferralStatus.SENT.value))
        if r.status not in (ReferralStatus.DRAFT, ReferralStatus.SENT):
            out.append(_with(Event(r.updated_at, "referral", None), r.id, r.status))
    return out


def _tasks(db: Session, case: Case) -> list[Event]:
    out = []
    for t in db.scalars(select(Task).where(Task.case_id == case.id)):
        out.append(_with(Event(t.created_at, "task", t.created_by), t.id, "open", "task"))
        if t.status != "open" and t.updated_at != t.created_at:
            out.append(_with(Event(t.updated_at, "task", None), t.id, t.status, "task"))
    return out


def _with(event: Event, object_id: uuid.UUID, status: str, kind: str = "referral") -> Event:
    return Event(
        at=event.at,
        kind=event.kind,
        actor_id=event.actor_id,
        object_type=kind,
        object_id=object_id,
        status=status,
    )


def timeline(db: Session, *, keyring: Keyring, actor: Actor, case: Case) -> list[Event]:
    """Everything that happened to the case, oldest first; the read is audited."""
    events = [
        *_revisions(db, keyring=keyring, actor=actor, case=case),
        *_documents(db, case),
        *_referrals(db, case),
        *_tasks(db, case),
    ]
    events.sort(key=lambda e: e.at)
    record(db, AuditAction.CASE_HISTORY_READ, by=actor, on=("case", case.id), reason="timeline")
    return events
