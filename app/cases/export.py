"""Subject access export: everything Haven holds about one person, as one JSON document.

Only a coordinator, after a fresh re-authentication, may export; the export is audited
(field names only). It holds the decrypted case, every revision with old and new values,
the stage history, the tasks' texts, and the lists of documents and referrals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import record as rec
from app.cases.models import Case, CaseRevision, StageChange
from app.cases.record import REVISION_FIELD
from app.crypto.envelope import OpenDataKey, decrypt_json
from app.crypto.keyring import Keyring
from app.documents.models import Document
from app.policy.deps import Actor
from app.referrals.models import Partner, Referral
from app.tasks import service as tasks
from app.tasks.models import Task

EXPORT_FORMAT = "haven-subject-access/v1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _revisions(db: Session, dek: OpenDataKey, case: Case) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(CaseRevision)
        .where(CaseRevision.case_id == case.id)
        .order_by(CaseRevision.version, CaseRevision.at)
    )
    return [
        {
            "version": r.version,
            "at": r.at.isoformat(),
            "actor_id": str(r.actor_id) if r.actor_id else None,
            "fields": list(r.fields),
            "changes": decrypt_json(dek, field=REVISION_FIELD, ciphertext=r.changes, row_id=r.id),
        }
        for r in rows
    ]


def _stages(db: Session, case: Case) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(StageChange).where(StageChange.case_id == case.id).order_by(StageChange.at)
    )
    return [
        {
            "at": s.at.isoformat(),
            "from": s.from_stage,
            "to": s.to_stage,
            "actor_id": str(s.actor_id) if s.actor_id else None,
        }
        for s in rows
    ]


def _documents(db: Session, case: Case) -> list[dict[str, Any]]:
    # Metadata only. The encrypted name, type and SHA-256 are read by the documents service.
    rows = db.scalars(
        select(Document).where(Document.case_id == case.id).order_by(Document.uploaded_at)
    )
    return [
        {
            "id": str(d.id),
            "size": d.size,
            "uploaded_by": str(d.uploaded_by) if d.uploaded_by else None,
            "uploaded_at": d.uploaded_at.isoformat(),
        }
        for d in rows
    ]


def _referrals(db: Session, case: Case) -> list[dict[str, Any]]:
    rows = db.execute(
        select(Referral, Partner.name)
        .join(Partner, Partner.id == Referral.partner_id)
        .where(Referral.case_id == case.id)
        .order_by(Referral.created_at)
    )
    return [
        {
            "id": str(r.id),
            "partner": name,
            "status": r.status,
            "fields_shared": list(r.fields),
            "blocked": r.blocked,
            "created_at": r.created_at.isoformat(),
            "sent_at": _iso(r.sent_at),
        }
        for r, name in rows
    ]


def export_case(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case, now: datetime
) -> dict[str, Any]:
    """Everything held about the case's person, decrypted; the export is audited."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    task_rows = db.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.created_at))
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "case": {
            **rec.plain(case),
            "closed_at": _iso(case.closed_at),
            "erasure_decision_due": case.erasure_decision_due,
            **rec.read(case, dek),
        },
        "revisions": _revisions(db, dek, case),
        "stage_history": _stages(db, case),
        "tasks": [tasks.full_view(t, case, dek) for t in task_rows],
        "documents": _documents(db, case),
        "referrals": _referrals(db, case),
    }
    record(db, AuditAction.CASE_EXPORTED, by=actor, on=("case", case.id), fields=sorted(document))
    return document
