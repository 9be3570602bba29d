"""Moving a case between stages: the gate names what is missing; history is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import record as rec
from app.cases.errors import StageGateFailed, TransitionNotAllowed
from app.cases.models import Case, StageChange
from app.cases.service import flush_versioned, record_stage
from app.cases.stages import ORDER, GateFacts, allowed_targets, missing_for
from app.cases.values import Consent
from app.cases.vocab import Stage
from app.crypto.keyring import Keyring
from app.policy.deps import Actor
from app.policy.permissions import Permission
from app.referrals.models import Referral
from app.referrals.rules import WAS_SENT


def gate_facts(db: Session, *, keyring: Keyring, case: Case) -> GateFacts:
    """What the gates look at, decrypting only the fields they need."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    fields = rec.read(case, dek, ["consents", "outcome", "closing_note"])
    consents = [Consent.model_validate(c) for c in fields["consents"] or []]
    sent = db.scalar(
        select(func.count())
        .select_from(Referral)
        .where(Referral.case_id == case.id, Referral.status.in_([s.value for s in WAS_SENT]))
    )
    return GateFacts(
        risk_level=case.risk_level,
        active_consents=tuple(c.purpose.value for c in consents if c.active),
        needs=tuple(case.needs or ()),
        sent_referrals=int(sent or 0),
        outcome=fields["outcome"],
        closing_note=fields["closing_note"],
    )


def _closed_from(db: Session, case: Case) -> Stage | None:
    last = db.scalars(
        select(StageChange.from_stage)
        .where(StageChange.case_id == case.id, StageChange.to_stage == Stage.CLOSED.value)
        .order_by(StageChange.at.desc())
        .limit(1)
    ).first()
    return Stage(last) if last else None


def _targets(actor: Actor, current: Stage) -> set[Stage]:
    return allowed_targets(current, can_reopen=actor.can(Permission.CASE_REOPEN))


@dataclass(frozen=True)
class Move:
    """A stage the actor may move the case to, and what its gate still misses (empty: the
    move would go through now)."""

    to: Stage
    missing: tuple[str, ...]


def moves(db: Session, *, keyring: Keyring, actor: Actor, case: Case) -> list[Move]:
    """The moves open to actor from the case's stage, in the stages' order, each with what
    its gate would refuse on (the same gates `transition` applies)."""
    targets = _targets(actor, Stage(case.stage))
    if not targets:
        return []
    facts = gate_facts(db, keyring=keyring, case=case)
    return [Move(to=t, missing=tuple(missing_for(t, facts))) for t in ORDER if t in targets]


def transition(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case, to: Stage, now: datetime
) -> Case:
    """Move case to `to`, or raise naming why not (409 with the missing items)."""
    current = Stage(case.stage)
    targets = _targets(actor, current)
    if to not in targets:
        raise TransitionNotAllowed(allowed=sorted(t.value for t in targets), current=current.value)
    missing = missing_for(to, gate_facts(db, keyring=keyring, case=case))
    if missing:
        raise StageGateFailed(missing=missing)
    case.stage = to.value
    case.updated_at = now
    case.closed_at = now if to is Stage.CLOSED else None
    db.add(
        StageChange(
            case_id=case.id, actor_id=actor.id, at=now, from_stage=current.value, to_stage=to.value
        )
    )
    flush_versioned(db)
    record_stage(db, keyring=keyring, actor=actor, case=case, old=current.value, now=now)
    record(
        db,
        AuditAction.CASE_TRANSITIONED,
        by=actor,
        on=("case", case.id),
        fields=["stage"],
        reason=f"{current.value}->{to.value}",
    )
    return case
