"""The auditor's service: filters, pages, CSV, alerts, and the verify shape for the API."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.models import AuditEntry
from app.audit.service import AuditFilter, alerts, export_csv, query_entries, verify
from app.audit.tree import sequence_now
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import utcnow
from tests.factories import By

ANNA = uuid.uuid4()  # a synthetic caseworker
BORIS = uuid.uuid4()  # a synthetic coordinator


def _read(db: Session, actor: uuid.UUID, case: str) -> None:
    record(
        db,
        AuditAction.CASE_READ,
        by=By(actor, "caseworker"),
        on=("case", case),
        fields=["legal_name"],
    )


def test_filters_and_pages(db: Session) -> None:
    case = str(uuid.uuid4())
    for _ in range(3):
        _read(db, ANNA, case)
    _read(db, BORIS, case)
    record(db, AuditAction.CASE_UPDATED, by=By(ANNA), on=("case", case))
    db.commit()
    pending = query_entries(db, AuditFilter(case_id=case)).items
    assert all(row.seq is None for row in pending)  # committed, not yet sequenced
    sequence_now(db)
    assert query_entries(db, AuditFilter(actor_id=ANNA)).total == 4
    assert query_entries(db, AuditFilter(case_id=case)).total == 5
    assert query_entries(db, AuditFilter(actor_id=ANNA, action=AuditAction.CASE_READ)).total == 3
    assert query_entries(db, AuditFilter(since=utcnow() + timedelta(minutes=1))).total == 0
    page = query_entries(db, AuditFilter(case_id=case), page=2, per_page=2)
    assert (len(page.items), page.total) == (2, 5)
    assert all(row.seq is not None for row in page.items)  # sequenced: positioned
    newest = query_entries(db, AuditFilter(case_id=case), per_page=1).items[0]
    assert newest.entry.action == AuditAction.CASE_UPDATED.value
    assert newest.as_dict()["fields"] == []


def test_csv_export_neutralises_formulas(db: Session) -> None:
    record(
        db,
        AuditAction.ACCESS_DENIED,
        by=By(ANNA),
        on=("case", "=HYPERLINK(1)"),
        outcome="denied",
        reason="out_of_scope",
    )
    rows = list(csv.reader(io.StringIO("".join(export_csv(db, AuditFilter(actor_id=ANNA))))))
    assert rows[0][:3] == ["seq", "at", "actor_id"]
    assert rows[1][6] == "'=HYPERLINK(1)"
    assert rows[1][8] == "denied"


def test_alerts(db: Session, settings: Settings) -> None:
    start = utcnow() - timedelta(hours=1)
    record(
        db,
        AuditAction.BREAK_GLASS,
        by=By(BORIS),
        on=("case", str(uuid.uuid4())),
        reason="night_emergency",
    )
    for _ in range(settings.audit_alert_reads):  # 40 distinct cases at once
        _read(db, ANNA, str(uuid.uuid4()))
    one_case = str(uuid.uuid4())
    for _ in range(60):  # many reads of one case is not "many cases"
        _read(db, BORIS, one_case)
    for _ in range(settings.audit_alert_denied):
        record(db, AuditAction.ACCESS_DENIED, by=By(BORIS), outcome="denied")
    found = alerts(db, settings=settings, since=start)
    kinds = sorted((a.kind, a.actor_id == ANNA) for a in found)
    assert kinds == [("break_glass", False), ("denied_burst", False), ("mass_read", True)]
    mass = next(a for a in found if a.kind == "mass_read")
    assert mass.count == settings.audit_alert_reads


def test_reads_spread_over_time_raise_no_alert(db: Session, settings: Settings) -> None:
    start = utcnow() - timedelta(days=1)
    for i in range(settings.audit_alert_reads):  # one a minute: 10 in any 10-minute window
        at = start + timedelta(minutes=i)
        case = str(uuid.uuid4())
        db.add(
            AuditEntry.of(
                action="case.read", actor_id=ANNA, object_type="case", object_id=case, at=at
            )
        )
    db.flush()
    assert [a for a in alerts(db, settings=settings, since=start) if a.kind == "mass_read"] == []


def test_verify_has_the_api_shape(db: Session, keyring: Keyring, settings: Settings) -> None:
    _read(db, ANNA, str(uuid.uuid4()))
    db.commit()
    result = verify(db, keyring=keyring, settings=settings)
    assert set(result) == {"ok", "entries", "first_bad"}
    assert result["ok"] is True
    assert result["first_bad"] is None
