"""The rules of a case: intake, reading, updating without lost updates, history, assignment.

Services flush, never commit; every change writes its audit entry in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import deadlines
from app.cases import record as rec
from app.cases.codes import new_case_code
from app.cases.errors import ConsentDropped, StaleVersion, VettingRequired
from app.cases.fields import ENCRYPTED_FIELDS, INDEXED_FIELDS
from app.cases.models import Case, CaseRevision, StageChange
from app.cases.record import REVISION_FIELD
from app.cases.schemas import CaseFields
from app.cases.values import Consent
from app.cases.vocab import SELF_REFERRAL, ConsentPurpose, Stage, VettingStatus
from app.crypto.envelope import OpenDataKey, decrypt_json, encrypt_json
from app.crypto.keyring import Keyring
from app.errors import Forbidden, InvalidInput
from app.policy.deps import Actor, denied
from app.policy.permissions import Permission, Role, redact
from app.referrals.consent import block_referrals_without_consent
from app.users.models import TeamMembership, User


def resolve_team(actor: Actor, team_id: uuid.UUID | None) -> uuid.UUID:
    """The team a new case belongs to: the one asked for (if the actor is on it), or the
    actor's only team."""
    if team_id is not None:
        if team_id not in actor.team_ids:
            raise InvalidInput("team_id", "you are not a member of that team")
        return team_id
    if len(actor.team_ids) != 1:
        raise InvalidInput("team_id", "required: you belong to several teams (or none)")
    return next(iter(actor.team_ids))


def _unique_code(db: Session, now: datetime) -> str:
    while True:
        code = new_case_code(now)
        if db.scalar(select(Case.id).where(Case.case_code == code)) is None:
            return code


def create_case(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor | None,
    team_id: uuid.UUID,
    values: dict[str, Any],
    now: datetime,
    source: str = "staff",
) -> Case:
    """A new case in intake with its own data key; a caseworker's own intake is theirs."""
    case = Case(
        id=uuid.uuid4(),
        case_code=_unique_code(db, now),
        team_id=team_id,
        assigned_to=actor.id if actor and actor.role is Role.CASEWORKER else None,
        stage=Stage.INTAKE.value,
        source=source,
        created_at=now,
        updated_at=now,
        needs=[],
    )
    dek = rec.new_case_key(db, keyring=keyring, case=case)
    db.add(case)
    _apply(db, case, dek, values)
    db.flush()
    rec.reindex(db, keyring=keyring, case_id=case.id, fields=values)
    fields = sorted(k for k, v in values.items() if v not in (None, []))
    created = {k: {"old": None, "new": values[k]} for k in fields}
    _revision(db, dek=dek, case=case, actor=actor, changes=created, now=now)
    db.add(StageChange(case_id=case.id, actor_id=_aid(actor), at=now, to_stage=case.stage))
    record(db, AuditAction.CASE_CREATED, by=actor, on=("case", case.id), fields=fields)
    return case


def _aid(actor: Actor | None) -> uuid.UUID | None:
    return actor.id if actor else None


def _apply(db: Session, case: Case, dek: OpenDataKey, values: dict[str, Any]) -> None:
    values = dict(values)
    if "legal_hold" in values:
        case.legal_hold = bool(values.pop("legal_hold"))
    rec.write(case, dek, values)
    if "movement" in values:
        plan = values["movement"]
        case.movement_destroy_after = (
            datetime.fromisoformat(plan["destroy_after"]) if plan else None
        )
    if "protection" in values:
        deadlines.rewrite(db, case=case, protection=values["protection"])


def _revision(
    db: Session,
    *,
    dek: OpenDataKey,
    case: Case,
    actor: Actor | None,
    changes: dict[str, Any],
    now: datetime,
) -> None:
    """Keep one encrypted revision: the fields' old and new values under the case key."""
    rev_id = uuid.uuid4()
    db.add(
        CaseRevision(
            id=rev_id,
            case_id=case.id,
            version=case.version,
            actor_id=_aid(actor),
            at=now,
            fields=sorted(changes),
            changes=encrypt_json(dek, field=REVISION_FIELD, value=changes, row_id=rev_id),
        )
    )


def read_full(db: Session, *, keyring: Keyring, case: Case) -> dict[str, Any]:
    """Every field of a case, decrypted (callers redact by role before answering)."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    return {**rec.plain(case), **rec.read(case, dek)}


def view(db: Session, *, keyring: Keyring, actor: Actor, case: Case) -> dict[str, Any]:
    """The case as this actor may see it; the read is audited with the fields shown."""
    shown = redact(actor.role, read_full(db, keyring=keyring, case=case))
    record(db, AuditAction.CASE_READ, by=actor, on=("case", case.id), fields=sorted(shown))
    return shown


def changed_since(db: Session, case: Case, version: int) -> list[str]:
    """Fields changed by revisions after `version` (what a stale writer would overwrite)."""
    rows = db.scalars(
        select(CaseRevision.fields).where(
            CaseRevision.case_id == case.id, CaseRevision.version > version
        )
    )
    return sorted({f for fields in rows for f in fields})


def _check_version(db: Session, case: Case, version: int) -> None:
    if version != case.version:
        raise StaleVersion(
            current_version=case.version, changed_fields=changed_since(db, case, version)
        )


def update_case(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    case: Case,
    version: int,
    changes: dict[str, Any],
    now: datetime,
) -> Case:
    """Apply a partial update (JSON-ready values) if `version` is current; keep a revision.
    A whole `consents` list may add consents but never drop or revive one (409)."""
    _check_version(db, case, version)
    if not changes:
        raise InvalidInput("body", "no field to change")
    if "legal_hold" in changes and not actor.can(Permission.CASE_LEGAL_HOLD):
        raise denied(
            db, actor, reason=f"lacks:{Permission.CASE_LEGAL_HOLD.value}", on=("case", case.id),
            error=Forbidden("legal_hold: only a coordinator may set a legal hold"),
        )  # fmt: skip
    return apply_changes(db, keyring=keyring, actor=actor, case=case, changes=changes, now=now)


def apply_changes(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor | None,
    case: Case,
    changes: dict[str, Any],
    now: datetime,
) -> Case:
    """Write the fields that differ, with their revision and audit entry; the version moves
    on, and a concurrent writer's change is never overwritten (409 instead)."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    before = {
        **rec.plain(case),
        **rec.read(case, dek, [k for k in changes if k in ENCRYPTED_FIELDS]),
    }
    diff = {k: {"old": before.get(k), "new": v} for k, v in changes.items() if before.get(k) != v}
    if not diff:
        return case
    if "consents" in diff:
        keep_every_consent(diff["consents"]["old"], diff["consents"]["new"])
    _apply(db, case, dek, {k: changes[k] for k in diff})
    case.updated_at = now
    if "consents" in diff:
        _consent_effects(db, case, diff["consents"]["old"], diff["consents"]["new"])
    flush_versioned(db)
    if diff.keys() & set(INDEXED_FIELDS):
        indexed = rec.read(case, dek, INDEXED_FIELDS)
        rec.reindex(db, keyring=keyring, case_id=case.id, fields=indexed)
    _revision(db, dek=dek, case=case, actor=actor, changes=diff, now=now)
    record(db, AuditAction.CASE_UPDATED, by=actor, on=("case", case.id), fields=sorted(diff))
    return case


def flush_versioned(db: Session) -> None:
    """Flush a change to a case: its UPDATE says WHERE version = <read version>, so a writer
    who lost the race gets 409 instead of overwriting."""
    try:
        db.flush()
    except StaleDataError:
        raise StaleVersion(current_version=None, changed_fields=[]) from None


def keep_every_consent(old: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None) -> None:
    """Refuse a consents list that drops a recorded consent or revives a withdrawn one: a
    consent ends only by its withdrawal, which is kept (409 naming the consents)."""
    kept = {c.id: c for c in (Consent.model_validate(x) for x in new or [])}
    lost = [
        str(was.id)
        for was in (Consent.model_validate(x) for x in old or [])
        if not _still_recorded(was, kept.get(was.id))
    ]
    if lost:
        raise ConsentDropped(consent_ids=lost)


def _still_recorded(was: Consent, now: Consent | None) -> bool:
    """The same consent (purpose, partner, when given), and still withdrawn if it was."""
    if now is None or (now.purpose, now.partner, now.given_at) != (
        was.purpose,
        was.partner,
        was.given_at,
    ):
        return False
    return was.withdrawn_at is None or now.withdrawn_at is not None


def _active(consents: list[dict[str, Any]] | None) -> list[Consent]:
    return [c for c in (Consent.model_validate(x) for x in consents or []) if c.active]


def _consent_effects(
    db: Session, case: Case, old: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None
) -> None:
    """Withdrawn store consent asks for an erasure decision; withdrawn share consent blocks
    the pending referrals to that partner."""
    before, after = _active(old), _active(new)
    purposes = {c.purpose for c in after}
    if any(c.purpose is ConsentPurpose.STORE for c in before) and (
        ConsentPurpose.STORE not in purposes
    ):
        case.erasure_decision_due = True
    partners_after = {c.partner for c in after if c.purpose is ConsentPurpose.SHARE_WITH_PARTNER}
    lost = {
        c.partner
        for c in before
        if c.purpose is ConsentPurpose.SHARE_WITH_PARTNER and c.partner not in partners_after
    }
    if lost:
        block_referrals_without_consent(db, case_id=case.id, partner_ids={p for p in lost if p})


def history(db: Session, *, keyring: Keyring, actor: Actor, case: Case) -> list[dict[str, Any]]:
    """Every revision, newest first, with old and new values (decrypted for the case team)."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    revisions = db.scalars(
        select(CaseRevision)
        .where(CaseRevision.case_id == case.id)
        .order_by(CaseRevision.version.desc(), CaseRevision.at.desc())
    )
    out = []
    for r in revisions:
        changes = decrypt_json(dek, field=REVISION_FIELD, ciphertext=r.changes, row_id=r.id)
        visible = redact(actor.role, changes)
        out.append(
            {
                "version": r.version,
                "at": r.at.isoformat(),
                "actor_id": str(r.actor_id) if r.actor_id else None,
                "fields": sorted(visible),
                "changes": visible,
            }
        )
    record(db, AuditAction.CASE_HISTORY_READ, by=actor, on=("case", case.id))
    return out


def _unjudged(db: Session, *, keyring: Keyring, case: Case) -> bool:
    """True while nobody has judged a public request genuine or suspicious."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    vetting = rec.read(case, dek, ["vetting"])["vetting"] or {}
    return str(vetting.get("status") or VettingStatus.UNVERIFIED) == VettingStatus.UNVERIFIED


def assign(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    case: Case,
    user_id: uuid.UUID | None,
    now: datetime,
) -> Case:
    """Assign (or with None, unassign) a case to a caseworker of the case's team; the change
    is a revision like any other, so a stale writer's 409 names `assigned_to`."""
    if user_id is not None:
        user = db.get(User, user_id)
        member = db.scalar(
            select(TeamMembership.user_id).where(
                TeamMembership.user_id == user_id, TeamMembership.team_id == case.team_id
            )
        )
        if user is None or member is None or user.role != Role.CASEWORKER.value or user.disabled_at:
            raise InvalidInput("user_id", "must be an active caseworker of the case's team")
        if case.source == SELF_REFERRAL and _unjudged(db, keyring=keyring, case=case):
            raise VettingRequired()
    before = case.assigned_to
    if before == user_id:
        return case
    case.assigned_to = user_id
    case.updated_at = now
    flush_versioned(db)
    change = {"assigned_to": {"old": _text(before), "new": _text(user_id)}}
    dek = rec.case_key(db, keyring=keyring, case=case)
    _revision(db, dek=dek, case=case, actor=actor, changes=change, now=now)
    record(db, AuditAction.CASE_ASSIGNED, by=actor, on=("case", case.id), fields=["assigned_to"])
    return case


def record_stage(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case, old: str, now: datetime
) -> None:
    """Keep a stage change as a revision too (after the case's flush): the history and a
    stale writer's 409 then name `stage` like any other field."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    change = {"stage": {"old": old, "new": case.stage}}
    _revision(db, dek=dek, case=case, actor=actor, changes=change, now=now)


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def validate_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready values of the fields the payload set, validated by the case schema."""
    parsed = CaseFields.model_validate(payload)
    return {k: v for k, v in parsed.model_dump(mode="json").items() if k in payload}
