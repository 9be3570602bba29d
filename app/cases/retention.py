"""Data that must not outlive its use: movement plans past their destroy_after, and closed
cases past the retention period (unless on legal hold).

`plan` only reads (what `haven retention purge` prints in a dry run); `purge_movement` and
`execute` change and flush, never commit. Destroying a movement plan also scrubs it from
the case's earlier revisions, so the plan does not live on in the history."""

from __future__ import annotations

import calendar
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session, sessionmaker

from app.audit.events import AuditAction
from app.audit.log import record
from app.background import Poller, background_sessions
from app.cases import record as rec
from app.cases.erasure import erase_for_retention
from app.cases.models import Case, CaseRevision
from app.cases.record import REVISION_FIELD
from app.cases.vocab import Stage
from app.config import Settings
from app.crypto.envelope import OpenDataKey, decrypt_json, encrypt_json
from app.crypto.keyring import Keyring
from app.crypto.shred import checkpoint_sqlite
from app.db import transaction
from app.documents.blobs import BlobStore
from app.security.clock import Clock

log = logging.getLogger("haven.retention")

DESTROYED = {"destroyed": "by_schedule"}


def months_before(now: datetime, months: int) -> datetime:
    """The same instant `months` calendar months earlier (day clamped to the month's end)."""
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class RetentionPlan:
    """What a purge would do: case codes only, never content."""

    movement_due: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    on_hold: int = 0
    cutoff: datetime | None = None


def due_movements(db: Session, *, now: datetime) -> list[Case]:
    """Cases whose movement plan is past its destroy_after."""
    stmt = select(Case).where(
        Case.movement_destroy_after.is_not(None), Case.movement_destroy_after <= now
    )
    return list(db.scalars(stmt.order_by(Case.case_code)))


def expired_cases(db: Session, *, now: datetime, months: int) -> list[Case]:
    """Closed cases whose closure is older than the retention period, not on legal hold."""
    stmt = select(Case).where(
        Case.stage == Stage.CLOSED.value,
        Case.closed_at.is_not(None),
        Case.closed_at < months_before(now, months),
        Case.legal_hold == false(),
    )
    return list(db.scalars(stmt.order_by(Case.case_code)))


def plan(db: Session, *, now: datetime, months: int) -> RetentionPlan:
    """What a purge would erase now (read-only)."""
    cutoff = months_before(now, months)
    held = select(Case.id).where(
        Case.stage == Stage.CLOSED.value, Case.closed_at < cutoff, Case.legal_hold == true()
    )
    return RetentionPlan(
        movement_due=[c.case_code for c in due_movements(db, now=now)],
        expired=[c.case_code for c in expired_cases(db, now=now, months=months)],
        on_hold=len(list(db.scalars(held))),
        cutoff=cutoff,
    )


def _scrub_revisions(db: Session, dek: OpenDataKey, case: Case) -> int:
    """Replace the movement values kept in earlier revisions by a destroyed marker."""
    scrubbed = 0
    for rev in db.scalars(select(CaseRevision).where(CaseRevision.case_id == case.id)):
        if "movement" not in (rev.fields or []):
            continue
        changes = decrypt_json(dek, field=REVISION_FIELD, ciphertext=rev.changes, row_id=rev.id)
        changes["movement"] = DESTROYED
        rev.changes = encrypt_json(dek, field=REVISION_FIELD, value=changes, row_id=rev.id)
        scrubbed += 1
    return scrubbed


def purge_movement(db: Session, *, keyring: Keyring, case: Case, now: datetime) -> None:
    """Erase the case's movement plan, from the case and its history; keep a revision that
    says it was destroyed by schedule (no values)."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    _scrub_revisions(db, dek, case)
    rec.write(case, dek, {"movement": None})
    case.movement_destroy_after = None
    case.updated_at = now
    db.flush()  # bumps the version: a writer holding the old one gets 409 naming movement
    rev_id = uuid.uuid4()
    changes = encrypt_json(dek, field=REVISION_FIELD, value={"movement": DESTROYED}, row_id=rev_id)
    db.add(
        CaseRevision(
            id=rev_id,
            case_id=case.id,
            version=case.version,
            actor_id=None,
            at=now,
            fields=["movement"],
            changes=changes,
        )
    )
    db.flush()
    record(
        db,
        AuditAction.RETENTION_PURGED,
        on=("case", case.id),
        fields=["movement"],
        reason="movement_destroy_after",
    )


def purge_due_movements(db: Session, *, keyring: Keyring, now: datetime) -> list[str]:
    """Erase every movement plan that is due; the codes of the cases touched."""
    codes = []
    for case in due_movements(db, now=now):
        purge_movement(db, keyring=keyring, case=case, now=now)
        codes.append(case.case_code)
    return codes


@dataclass(frozen=True)
class RetentionReport:
    """What a purge did: case codes only."""

    movements_destroyed: list[str]
    cases_erased: list[str]


def execute(
    db: Session,
    *,
    keyring: Keyring | None,
    now: datetime,
    months: int,
    blob_store: BlobStore | None,
) -> RetentionReport:
    """Destroy due movement plans and crypto-shred expired closed cases (flushes only).
    Without a keyring only the erasure runs (it needs no key; the movement purge does)."""
    moved = purge_due_movements(db, keyring=keyring, now=now) if keyring is not None else []
    erased = []
    for case in expired_cases(db, now=now, months=months):
        erased.append(case.case_code)
        erase_for_retention(db, case=case, blob_store=blob_store)
    return RetentionReport(movements_destroyed=moved, cases_erased=erased)


def purge_movements_once(
    factory: sessionmaker[Session], *, keyring: Keyring, clock: Clock
) -> list[str]:
    """One scheduler step in its own transaction; nothing while sealed. Checkpoints SQLite's
    WAL afterwards so the old plan's pages leave the -wal file."""
    if keyring.sealed:
        return []
    with transaction(factory) as db:
        codes = purge_due_movements(db, keyring=keyring, now=clock.now())
        bind = db.get_bind()
    if codes:
        checkpoint_sqlite(bind.engine)
    return codes


class MovementPurgeScheduler(Poller):
    """A daemon thread that destroys due movement plans every poll interval."""

    def __init__(
        self, factory: sessionmaker[Session], *, keyring: Keyring, clock: Clock, interval: float
    ) -> None:
        def step() -> str | None:
            codes = purge_movements_once(factory, keyring=keyring, clock=clock)
            return f"destroyed {len(codes)} movement plan(s) past destroy_after" if codes else None

        super().__init__("movement-purge", interval, step)


def start_movement_scheduler(
    settings: Settings, keyring: Keyring, clock: Clock
) -> MovementPurgeScheduler | None:
    """Start destroying due movement plans in the background (off when the interval is 0).
    It has its own engine; on SQLite it waits only briefly for the write lock."""
    if settings.movement_purge_poll_seconds <= 0:
        return None
    factory = background_sessions(settings.database_url)
    scheduler = MovementPurgeScheduler(
        factory, keyring=keyring, clock=clock, interval=settings.movement_purge_poll_seconds
    )
    scheduler.owns_engine_of(factory)
    scheduler.start()
    return scheduler
