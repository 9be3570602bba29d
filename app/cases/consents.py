"""Consent one at a time: record one, withdraw one, the others untouched.

A consent (or another legal basis) is recorded for one purpose with who recorded it and
when; it ends only by its withdrawal, which is recorded the same way and stays on the case.
Withdrawing consent to store asks a coordinator for an erasure decision; withdrawing consent
to share with a partner blocks the referrals to that partner (app/cases/service.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import record as rec
from app.cases import service
from app.cases.models import Case
from app.cases.values import Consent
from app.crypto.keyring import Keyring
from app.errors import Conflict, NotFound
from app.policy.deps import Actor


def _current(db: Session, *, keyring: Keyring, case: Case) -> list[Consent]:
    dek = rec.case_key(db, keyring=keyring, case=case)
    raw = rec.read(case, dek, ["consents"])["consents"] or []
    return [Consent.model_validate(c) for c in raw]


def _save(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    case: Case,
    consents: list[Consent],
    now: datetime,
) -> None:
    values: list[dict[str, Any]] = [c.model_dump(mode="json") for c in consents]
    service.apply_changes(
        db, keyring=keyring, actor=actor, case=case, changes={"consents": values}, now=now
    )


def add(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case, consent: Consent, now: datetime
) -> Consent:
    """Record one consent beside the others, marked with who recorded it and when."""
    new = consent.model_copy(
        update={"id": uuid.uuid4(), "recorded_by": actor.id, "recorded_at": now}
    )
    if new.withdrawn_at is not None:
        raise Conflict("A consent is recorded as given; withdraw it afterwards.")
    existing = _current(db, keyring=keyring, case=case)
    _save(db, keyring=keyring, actor=actor, case=case, consents=[*existing, new], now=now)
    return new


def one(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case, consent_id: uuid.UUID
) -> Consent:
    """One consent of the case, to name it before it is withdrawn (the read is audited, the
    field named); 404 for an unknown id."""
    found = next((c for c in _current(db, keyring=keyring, case=case) if c.id == consent_id), None)
    if found is None:
        raise NotFound("No such consent on this case.")
    record(db, AuditAction.CASE_READ, by=actor, on=("case", case.id), fields=["consents"])
    return found


def withdraw(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    case: Case,
    consent_id: uuid.UUID,
    now: datetime,
) -> Consent:
    """Withdraw one consent (now, by actor); 404 for an unknown id, 409 when withdrawn."""
    existing = _current(db, keyring=keyring, case=case)
    found = next((c for c in existing if c.id == consent_id), None)
    if found is None:
        raise NotFound("No such consent on this case.")
    if found.withdrawn_at is not None:
        raise Conflict("That consent was withdrawn already.")
    ended = found.model_copy(update={"withdrawn_at": now, "withdrawn_by": actor.id})
    kept = [ended if c.id == consent_id else c for c in existing]
    _save(db, keyring=keyring, actor=actor, case=case, consents=kept, now=now)
    return ended
