"""The auditor's view: entries filtered and paginated, CSV export, alerts, and verification
in the shape the API returns. Metadata only: entries never hold case content."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.audit.canonical import BodyError, Recorded
from app.audit.checkpoints import trusted_keys
from app.audit.events import AuditAction, DuplicateCheck
from app.audit.log import record
from app.audit.models import AuditEntry, AuditLeaf
from app.audit.verify import verify_log
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import utcnow

MAX_PER_PAGE = 200
CSV_COLUMNS = (
    "seq", "at", "actor_id", "actor_role", "action", "object_type", "object_id",
    "fields", "outcome", "request_id", "reason_code",
)  # fmt: skip


@dataclass(frozen=True)
class AuditFilter:
    """What the auditor asks for; every part optional."""

    actor_id: uuid.UUID | None = None
    case_id: str | None = None
    action: AuditAction | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    """One entry as the auditor sees it, with its position in the tree (None until sequenced)."""

    seq: int | None
    entry: AuditEntry

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, read from the entry's body (what its leaf commits to); a body
        that is not canonical (tampered: the verifier names it) shows its columns."""
        try:
            e: Recorded | AuditEntry = self.entry.recorded()
        except BodyError:
            e = self.entry
        return {
            "seq": self.seq,
            "at": e.at.isoformat(),
            "actor_id": str(e.actor_id) if e.actor_id else None,
            "actor_role": e.actor_role,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "fields": list(e.fields),
            "outcome": e.outcome,
            "request_id": e.request_id,
            "reason_code": e.reason_code,
        }


@dataclass(frozen=True)
class Page:
    """One page of entries, newest first."""

    items: list[AuditRow]
    page: int
    per_page: int
    total: int


def _filtered(flt: AuditFilter) -> Select[AuditEntry, int]:
    stmt = select(AuditEntry, AuditLeaf.seq).outerjoin(
        AuditLeaf, AuditLeaf.entry_id == AuditEntry.id
    )
    if flt.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == flt.actor_id)
    if flt.case_id is not None:
        stmt = stmt.where(AuditEntry.object_type == "case", AuditEntry.object_id == flt.case_id)
    if flt.action is not None:
        stmt = stmt.where(AuditEntry.action == flt.action.value)
    if flt.since is not None:
        stmt = stmt.where(AuditEntry.at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEntry.at < flt.until)
    return stmt


def query_entries(
    session: Session, flt: AuditFilter = AuditFilter(), *, page: int = 1, per_page: int = 50
) -> Page:
    """Entries matching the filter, newest first, one page (1-based; at most 200 a page)."""
    page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
    stmt = _filtered(flt)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page([AuditRow(r[1], r[0]) for r in rows], page, per_page, total)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(session: Session, flt: AuditFilter = AuditFilter()) -> Iterator[str]:
    """CSV lines (header first) of every matching entry, oldest first, streamed."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    yield buf.getvalue()
    stmt = _filtered(flt).order_by(AuditEntry.at, AuditEntry.id)
    for r in session.execute(stmt.execution_options(yield_per=1000)):
        buf.seek(0)
        buf.truncate()
        row = AuditRow(r[1], r[0]).as_dict()
        row["fields"] = " ".join(row["fields"])
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        yield buf.getvalue()


@dataclass(frozen=True)
class Alert:
    """Something an auditor must look at."""

    # "break_glass" | "denied_burst" | "mass_read" | "duplicate_burst" | "duplicate_outside_scope"
    kind: str
    actor_id: uuid.UUID | None
    first_at: datetime
    last_at: datetime
    count: int
    entry_ids: list[int] = field(default_factory=list)


def _sliding_bursts(
    events: Sequence[tuple[datetime, int, str]], threshold: int, window: timedelta
) -> list[tuple[datetime, datetime, int, list[int]]]:
    """Maximal bursts where `threshold` distinct keys occur within `window` (time-sorted)."""
    bursts: list[tuple[datetime, datetime, int, list[int]]] = []
    win: deque[tuple[datetime, int, str]] = deque()
    counts: dict[str, int] = defaultdict(int)
    current: list[tuple[datetime, int, str]] | None = None
    for ev in events:
        win.append(ev)
        counts[ev[2]] += 1
        while win[0][0] <= ev[0] - window:
            old = win.popleft()
            counts[old[2]] -= 1
            if not counts[old[2]]:
                del counts[old[2]]
        if len(counts) >= threshold:
            if current is None:
                current = list(win)  # the burst starts with everything in the window
            else:
                current.append(ev)
        elif current is not None:
            bursts.append(_burst(current))
            current = None
    if current is not None:
        bursts.append(_burst(current))
    return bursts


def _burst(evs: list[tuple[datetime, int, str]]) -> tuple[datetime, datetime, int, list[int]]:
    return evs[0][0], evs[-1][0], len({e[2] for e in evs}), [e[1] for e in evs]


# Duplicate checks (POST /cases/duplicates) look across the whole organisation: a burst from
# one account is someone testing who is a client. Per account, within DUPLICATE_MINUTES:
DUPLICATE_BURST = 10  # checks of any outcome
DUPLICATE_OUTSIDE = 3  # checks that hit a case outside the account's scope
DUPLICATE_MINUTES = 60
_DUPLICATE_REASONS = (DuplicateCheck.REASON.value, DuplicateCheck.THROTTLED.value)

Events = dict[uuid.UUID | None, list[tuple[datetime, int, str]]]


def _alert_entries(since: datetime) -> Select[AuditEntry]:
    return (
        select(AuditEntry)
        .where(AuditEntry.at >= since)
        .where(
            or_(
                AuditEntry.action.in_([AuditAction.BREAK_GLASS.value, AuditAction.CASE_READ.value]),
                AuditEntry.action == AuditAction.ACCESS_DENIED.value,
                AuditEntry.outcome == "denied",
                and_(
                    AuditEntry.action == AuditAction.CASE_SEARCHED.value,
                    AuditEntry.reason_code.in_(_DUPLICATE_REASONS),
                ),
            )
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )


def _sort(e: AuditEntry, found: list[Alert], events: dict[str, Events]) -> None:
    """File one entry: a break-glass alert now, or an event for the burst rules."""
    ev = (e.at, e.id, str(e.id))  # every entry counts once
    if e.action == AuditAction.BREAK_GLASS.value:
        found.append(Alert("break_glass", e.actor_id, e.at, e.at, 1, [e.id]))
    if e.action == AuditAction.CASE_SEARCHED.value and e.reason_code in _DUPLICATE_REASONS:
        events["duplicate_burst"][e.actor_id].append(ev)
        if e.outcome == DuplicateCheck.OUTSIDE_SCOPE:
            events["duplicate_outside_scope"][e.actor_id].append(ev)
    if e.outcome == "denied" or e.action == AuditAction.ACCESS_DENIED.value:
        events["denied_burst"][e.actor_id].append(ev)
    elif e.action == AuditAction.CASE_READ.value and e.object_id:
        events["mass_read"][e.actor_id].append((e.at, e.id, e.object_id))  # distinct cases


def alerts(session: Session, *, settings: Settings, since: datetime | None = None) -> list[Alert]:
    """Break-glass uses, denied-access bursts, mass case reads and duplicate-check bursts
    (any, or hitting outside the scope) since `since` (default 24 h)."""
    since = since or utcnow() - timedelta(hours=24)
    found: list[Alert] = []
    events: dict[str, Events] = defaultdict(lambda: defaultdict(list))
    for e in session.scalars(_alert_entries(since).execution_options(yield_per=1000)):
        _sort(e, found, events)
    rules = (
        ("denied_burst", settings.audit_alert_denied, settings.audit_alert_denied_minutes),
        ("mass_read", settings.audit_alert_reads, settings.audit_alert_reads_minutes),
        ("duplicate_burst", DUPLICATE_BURST, DUPLICATE_MINUTES),
        ("duplicate_outside_scope", DUPLICATE_OUTSIDE, DUPLICATE_MINUTES),
    )
    for kind, threshold, minutes in rules:
        for actor, evs in events[kind].items():
            for first, last, n, ids in _sliding_bursts(evs, threshold, timedelta(minutes=minutes)):
                found.append(Alert(kind, actor, first, last, n, ids))
    return sorted(found, key=lambda a: a.first_at)


def verify(
    session: Session, *, keyring: Keyring, settings: Settings, checkpoint: str | None = None
) -> dict[str, Any]:
    """`{"ok", "entries", "first_bad"}` for `GET /api/v1/audit/verify` (keyring unsealed)."""
    keys = trusted_keys(session, keyring, settings.audit_origin)
    report = verify_log(
        session, keys=keys, origin=settings.audit_origin, external_checkpoint=checkpoint
    )
    return report.as_dict()


def used_filters(flt: AuditFilter) -> list[str]:
    """The filter names the auditor used (names only, as every entry holds)."""
    names: dict[str, object] = {"actor": flt.actor_id, "case": flt.case_id}
    names |= {"action": flt.action, "since": flt.since, "until": flt.until}
    return [k for k, v in names.items() if v is not None]


def export_audited(session: Session, *, actor: Any, flt: AuditFilter) -> str:
    """The CSV of every matching entry (formula-like cells neutralised), and the export's
    own entry in the log. Built in memory: a streamed body would outlive the request's
    session (and, on SQLite, hold the write lock while the client reads)."""
    body = "".join(export_csv(session, flt))
    record(
        session,
        AuditAction.AUDIT_EXPORTED,
        by=actor,
        on=("audit_log", None),
        fields=used_filters(flt),
        reason="csv",
    )
    return body
