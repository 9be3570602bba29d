"""The auditor's alerts, rule by rule, at their edges: what each rule counts and what it
leaves out, the threshold and the window to the second, a burst's first and last time, its
count and the entries it names, a burst that goes on and one that comes back, entries
written out of time order, and the default look-back of 24 hours. Entries are made with
exact times (synthetic actors and cases only); every expected value is written here."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.audit.events import AuditAction, DuplicateCheck
from app.audit.models import AuditEntry
from app.audit.service import DUPLICATE_BURST, DUPLICATE_OUTSIDE, Alert, alerts
from app.config import Settings
from app.db import utcnow


def _at(db: Session, at: datetime, action: str, actor: uuid.UUID, **values: object) -> int:
    entry = AuditEntry.of(at=at, action=action, actor_id=actor, **values)
    db.add(entry)
    db.flush()
    return entry.id


def _denied(db: Session, at: datetime, actor: uuid.UUID) -> int:
    return _at(db, at, AuditAction.ACCESS_DENIED.value, actor, outcome="denied")


def _kinds(found: list[Alert], kind: str) -> list[Alert]:
    return [a for a in found if a.kind == kind]


def test_a_break_glass_use_is_one_alert_naming_its_entry(db: Session, settings: Settings) -> None:
    start = utcnow() - timedelta(hours=2)
    boris = uuid.uuid4()
    entry = _at(db, start, AuditAction.BREAK_GLASS.value, boris, object_type="case",
                object_id=str(uuid.uuid4()), reason_code="night_emergency")  # fmt: skip
    found = alerts(db, settings=settings, since=start)  # an entry at `since` counts
    assert found == [Alert("break_glass", boris, start, start, 1, [entry])]


def test_denials_alert_at_the_threshold_within_the_window_and_never_below(
    db: Session, settings: Settings
) -> None:
    """Settings: 5 denials within 5 minutes. Each entry counts once; a refusal recorded
    under its own action (outcome denied) counts like access.denied, and so does an
    access.denied whatever its outcome says."""
    start = utcnow() - timedelta(hours=2)
    n, window = settings.audit_alert_denied, timedelta(minutes=settings.audit_alert_denied_minutes)
    assert (n, window) == (5, timedelta(minutes=5))
    few, mixed, edge = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for i in range(n - 1):  # one short of the threshold
        _denied(db, start + timedelta(seconds=i), few)
    ids = [
        _denied(db, start + timedelta(seconds=1), mixed),
        _at(db, start + timedelta(seconds=2), AuditAction.CASE_READ.value, mixed,
            object_type="case", object_id="c-1", outcome="denied"),
        _at(db, start + timedelta(seconds=3), AuditAction.ACCESS_DENIED.value, mixed,
            outcome="refused"),
        _at(db, start + timedelta(seconds=4), AuditAction.TASK_UPDATED.value, mixed,
            outcome="denied"),
        _denied(db, start + timedelta(seconds=5), mixed),
    ]  # fmt: skip
    # Five denials whose first and last are exactly one window apart: never five at once.
    for minute in (0, 1, 2, 3, 5):
        _denied(db, start + timedelta(minutes=minute), edge)
    found = _kinds(alerts(db, settings=settings, since=start), "denied_burst")
    first, last = start + timedelta(seconds=1), start + timedelta(seconds=5)
    assert found == [Alert("denied_burst", mixed, first, last, 5, ids)]


def test_a_burst_that_goes_on_is_one_alert_and_one_that_comes_back_is_another(
    db: Session, settings: Settings
) -> None:
    start = utcnow() - timedelta(hours=3)
    mallory = uuid.uuid4()
    first = [_denied(db, start + timedelta(seconds=10 * i), mallory) for i in range(7)]
    later = start + timedelta(hours=1)
    second = [_denied(db, later + timedelta(seconds=i), mallory) for i in range(5)]
    found = _kinds(alerts(db, settings=settings, since=start), "denied_burst")
    assert found == [
        Alert("denied_burst", mallory, start, start + timedelta(seconds=60), 7, first),
        Alert("denied_burst", mallory, later, later + timedelta(seconds=4), 5, second),
    ]


def test_entries_written_out_of_time_order_are_counted_in_time_order(
    db: Session, settings: Settings
) -> None:
    """Requests commit out of order: the rules read entries by their time, not by id."""
    start = utcnow() - timedelta(hours=2)
    mallory = uuid.uuid4()
    ids = [_denied(db, start + timedelta(minutes=30 - i), mallory) for i in range(5)]
    # Ten minutes earlier, one more: with the rest it would be a burst only in id order.
    _denied(db, start, mallory)
    found = _kinds(alerts(db, settings=settings, since=start), "denied_burst")
    assert found == [
        Alert("denied_burst", mallory, start + timedelta(minutes=26),
              start + timedelta(minutes=30), 5, ids[::-1]),
    ]  # fmt: skip


def test_mass_reads_count_distinct_cases_read_and_nothing_else(
    db: Session, settings: Settings
) -> None:
    """Settings: 40 distinct cases within 10 minutes. A break-glass use and duplicate
    checks carry case ids too; they are not reads."""
    start = utcnow() - timedelta(hours=2)
    n = settings.audit_alert_reads
    anna, olena = uuid.uuid4(), uuid.uuid4()
    read = AuditAction.CASE_READ.value
    for i in range(n - 1):
        _at(db, start + timedelta(seconds=i), read, anna, object_type="case",
            object_id=f"a-{i}")  # fmt: skip
    _at(db, start + timedelta(seconds=50), AuditAction.BREAK_GLASS.value, anna,
        object_type="case", object_id="a-break")  # fmt: skip
    _at(db, start + timedelta(seconds=51), AuditAction.CASE_SEARCHED.value, anna,
        object_type="case", object_id="a-dup", reason_code=DuplicateCheck.REASON.value)  # fmt: skip
    _at(db, start + timedelta(seconds=52), read, anna)  # a read with no case named
    ids = [
        _at(db, start + timedelta(seconds=i), read, olena, object_type="case",
            object_id=f"o-{i}")
        for i in range(n)
    ]  # fmt: skip
    found = _kinds(alerts(db, settings=settings, since=start), "mass_read")
    last = start + timedelta(seconds=n - 1)
    assert found == [Alert("mass_read", olena, start, last, n, ids)]


def test_duplicate_checks_alert_in_bursts_and_outside_the_scope(
    db: Session, settings: Settings
) -> None:
    """Ten checks an hour (a throttled one counts), or three that hit another team's case;
    a name search is not a duplicate check."""
    start = utcnow() - timedelta(hours=3)
    searched = AuditAction.CASE_SEARCHED.value
    checks, name_searches, outside = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert (DUPLICATE_BURST, DUPLICATE_OUTSIDE) == (10, 3)
    ids = [
        _at(db, start + timedelta(minutes=i), searched, checks, reason_code=(
            DuplicateCheck.THROTTLED.value if i == 9 else DuplicateCheck.REASON.value))
        for i in range(10)
    ]  # fmt: skip
    for i in range(9):
        _at(db, start + timedelta(minutes=i), searched, name_searches,
            reason_code=DuplicateCheck.REASON.value)  # fmt: skip
    _at(db, start + timedelta(minutes=9), searched, name_searches, reason_code="name")
    hits = [
        _at(db, start + timedelta(minutes=i), searched, outside, outcome=(
            DuplicateCheck.OUTSIDE_SCOPE.value if i < 3 else "ok"),
            reason_code=DuplicateCheck.REASON.value)
        for i in range(4)
    ]  # fmt: skip
    found = alerts(db, settings=settings, since=start)
    assert _kinds(found, "duplicate_burst") == [
        Alert("duplicate_burst", checks, start, start + timedelta(minutes=9), 10, ids)
    ]
    assert _kinds(found, "duplicate_outside_scope") == [
        Alert("duplicate_outside_scope", outside, start, start + timedelta(minutes=2), 3,
              hits[:3])
    ]  # fmt: skip


def test_alerts_look_back_a_day_by_default_and_come_oldest_first(
    db: Session, settings: Settings
) -> None:
    now = utcnow()
    someone = uuid.uuid4()
    glass = AuditAction.BREAK_GLASS.value
    older = _at(db, now - timedelta(hours=24, minutes=30), glass, someone)
    recent = _at(db, now - timedelta(hours=23), glass, someone)
    earlier = _at(db, now - timedelta(hours=23, minutes=30), glass, someone)
    found = alerts(db, settings=settings)
    assert [a.entry_ids for a in found] == [[earlier], [recent]]
    assert older not in {i for a in found for i in a.entry_ids}


def test_a_case_read_again_stays_counted_when_its_first_read_leaves_the_window(
    db: Session, settings: Settings
) -> None:
    """Case c-0 read at the start and again eleven minutes later, with 39 other cases: the
    first read leaves the ten-minute window, the second keeps c-0 among the 40."""
    start = utcnow() - timedelta(hours=2)
    n = settings.audit_alert_reads
    anna = uuid.uuid4()
    read = AuditAction.CASE_READ.value
    _at(db, start, read, anna, object_type="case", object_id="c-0")
    again = start + timedelta(minutes=11)
    ids = [
        _at(db, again + timedelta(seconds=i), read, anna, object_type="case", object_id=f"c-{i}")
        for i in range(n)
    ]
    found = _kinds(alerts(db, settings=settings, since=start), "mass_read")
    assert found == [Alert("mass_read", anna, again, again + timedelta(seconds=n - 1), n, ids)]
