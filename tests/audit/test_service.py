"""The auditor's service: filters, pages, CSV, alerts, and the verify shape for the API."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.canonical import decode_body
from app.audit.checkpoints import signing_key, take_checkpoint
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.models import AuditEntry, AuditLeaf
from app.audit.note import Checkpoint, sign_checkpoint
from app.audit.service import (
    AuditFilter,
    alerts,
    export_audited,
    export_csv,
    query_entries,
    verify,
)
from app.audit.tree import sequence_now
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import transaction, utcnow
from tests.audit.conftest import AuditLog
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


def test_the_filters_bounds_and_order_to_the_microsecond(db: Session) -> None:
    """since is inclusive, until exclusive; a case filter is that case (not another object
    with the same id); entries come newest first by time even when written out of order;
    a page holds 50 by default and at least one."""
    t0 = utcnow() - timedelta(hours=1)
    case = str(uuid.uuid4())

    def add(at: datetime, **values: object) -> int:
        entry = AuditEntry.of(at=at, action="case.read", actor_id=ANNA, **values)
        db.add(entry)
        db.flush()
        return entry.id

    late = add(t0 + timedelta(seconds=2), object_type="case", object_id=case)
    at_since = add(t0, object_type="case", object_id=case)
    add(t0 + timedelta(seconds=1), object_type="document", object_id=case)  # not the case
    at_until = add(t0 + timedelta(seconds=3), object_type="case", object_id=case)
    other = add(t0 + timedelta(seconds=1), object_type="case", object_id=str(uuid.uuid4()))

    def ids(flt: AuditFilter, **kw: int) -> list[int]:
        return [row.entry.id for row in query_entries(db, flt, **kw).items]

    window = AuditFilter(since=t0, until=t0 + timedelta(seconds=3))
    assert ids(AuditFilter(case_id=case, since=t0)) == [at_until, late, at_since]
    assert ids(AuditFilter(case_id=case, since=window.since, until=window.until)) == [
        late,
        at_since,
    ]
    assert other in ids(window)
    assert ids(AuditFilter(case_id=case, since=t0), per_page=0) == [at_until]
    for n in range(52):
        add(t0 - timedelta(hours=1, seconds=n))
    assert len(query_entries(db, AuditFilter(actor_id=ANNA)).items) == 50


def test_the_csv_holds_each_column_as_recorded(db: Session) -> None:
    """Oldest first by time; an empty value is an empty cell; the fields space-separated;
    a carriage return at a cell's start neutralised like a formula."""
    t0 = utcnow() - timedelta(hours=1)
    late = AuditEntry.of(at=t0 + timedelta(seconds=1), action="case.read", actor_id=ANNA,
                         object_type="case", object_id="c-1", fields=["notes", "legal_name"],
                         request_id="req-1", reason_code="\rsum")  # fmt: skip
    early = AuditEntry.of(at=t0, action="case.read", actor_id=ANNA)
    db.add_all([late, early])
    db.commit()
    sequence_now(db)
    rows = list(csv.DictReader(io.StringIO("".join(export_csv(db, AuditFilter(actor_id=ANNA))))))
    assert [r["at"] for r in rows] == [t0.isoformat(), (t0 + timedelta(seconds=1)).isoformat()]
    assert rows[0]["object_id"] == rows[0]["request_id"] == rows[0]["fields"] == ""
    assert (rows[1]["fields"], rows[1]["request_id"]) == ("legal_name notes", "req-1")
    assert rows[1]["reason_code"] == "'\rsum"
    seqs = [int(r["seq"]) for r in rows]
    assert seqs[0] != seqs[1]
    positions = select(AuditLeaf.entry_id, AuditLeaf.seq)
    stored = {row.entry_id: row.seq for row in db.execute(positions)}
    assert seqs == [stored[early.id], stored[late.id]]


def test_an_export_is_recorded_with_every_filter_named(db: Session) -> None:
    day = timedelta(days=1)
    flt = AuditFilter(actor_id=ANNA, case_id="c-1", action=AuditAction.CASE_READ,
                      since=utcnow() - day, until=utcnow() + day)  # fmt: skip
    for _ in range(2):
        _read(db, ANNA, "c-1")
    body = export_audited(db, actor=By(BORIS, "auditor"), flt=flt)
    assert len(body.splitlines()) == 3
    assert body == "".join(export_csv(db, flt))  # the export's own entry is not among them
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == AuditAction.AUDIT_EXPORTED.value)
    ).one()
    assert (entry.actor_id, entry.object_type, entry.object_id, entry.reason_code) == (
        BORIS,
        "audit_log",
        None,
        "csv",
    )
    assert entry.fields == ["action", "actor", "case", "since", "until"]


def test_verify_checks_a_checkpoint_held_off_the_server(
    db: Session, keyring: Keyring, settings: Settings
) -> None:
    """A checkpoint the auditor brings is checked against the log: one for a tree the log
    never had (another root at the same size) is a failure."""
    _read(db, ANNA, str(uuid.uuid4()))
    db.commit()
    sequence_now(db)
    note = take_checkpoint(db, keyring=keyring, origin=settings.audit_origin).note
    assert verify(db, keyring=keyring, settings=settings, checkpoint=note)["ok"] is True
    size = int(note.split("\n")[1])
    forged = sign_checkpoint(
        Checkpoint(settings.audit_origin, size, bytes(32)), settings.audit_origin,
        signing_key(keyring),
    )  # fmt: skip
    assert verify(db, keyring=keyring, settings=settings)["ok"] is True
    assert verify(db, keyring=keyring, settings=settings, checkpoint=forged)["ok"] is False


def test_a_tampered_body_is_still_shown_from_its_columns(tampered: AuditLog) -> None:
    """A body rewritten out of canonical form (the verifier names it) still appears in the
    auditor's list, read from its columns, instead of breaking the page."""
    target = tampered.entry_id(7)
    body = str(tampered.sql("SELECT body FROM audit_entries WHERE id = :i", i=target)[0][0])
    tampered.sql(
        "UPDATE audit_entries SET body = :b WHERE id = :i", b=body.replace(",", ", "), i=target
    )
    with transaction(tampered.factory) as s:
        rows = [r.as_dict() for r in query_entries(s, per_page=200).items if r.entry.id == target]
    assert len(rows) == 1
    assert rows[0]["seq"] == 7
    assert rows[0]["action"] == decode_body(body).action
