"""Finding cases: filters on plaintext columns, and personal terms through blind indexes.

A blind index is truncated on purpose (SECURITY.md), so an index hit only makes a case a
candidate; candidates are decrypted and compared before anything is returned."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, intersect, select
from sqlalchemy import case as case_when
from sqlalchemy.orm import InstrumentedAttribute, Session, load_only

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import record as rec
from app.cases.codes import normalise_code
from app.cases.deadlines import next_due
from app.cases.errors import SearchTooBroad
from app.cases.fields import BY_NAME, INDEXED_FIELDS, LIST_FIELDS
from app.cases.models import BreakGlassGrant, Case, CaseIndex
from app.cases.vocab import RiskLevel, Stage
from app.crypto.blind_index import IndexedField, blind_index
from app.crypto.keyring import Keyring
from app.crypto.normalize import normalize_handle, normalize_phone
from app.pagination import DEFAULT_COUNT_CAP, Page, PageQuery, page_of, page_rows_bounded
from app.policy.deps import Actor
from app.policy.permissions import Permission, Role
from app.policy.scope import grant_reaches, has_live_grant, readable_cases
from app.reports.counts import ReportCount

# The most candidates one search decrypts. A 2-bit index (phone, handle, birth date alone)
# makes a quarter of all cases candidates: 2,048 at the design population of 8,192
# (SECURITY.md), so this leaves 4x headroom while bounding the work of one request.
MAX_CANDIDATES = 8192
_WORD = re.compile(r"[a-z0-9_]{1,64}")


# The filters a search may use, by name (what its audit entry lists).
_TERMS = (
    "code",
    "stage",
    "risk",
    "assigned_to",
    "country",
    "need",
    "name",
    "phone",
    "handle",
    "date_of_birth",
    "mine",
)


@dataclass(frozen=True)
class Filters:
    """Plaintext filters (safe in a URL) and personal terms (only ever from a POST body)."""

    code: str | None = None
    stage: str | None = None
    risk: str | None = None
    assigned_to: str | None = None  # a user id, or "none" for the unassigned queue
    country: str | None = None
    need: str | None = None
    name: str | None = None
    phone: str | None = None
    handle: str | None = None
    date_of_birth: date | None = None
    # Only the cases assigned to the one asking ("my cases").
    mine: bool = False
    personal: tuple[str, ...] = field(default=())


# What a search loads of each candidate: the list shape, the key, and the indexed fields that
# confirm a match (nothing else is read, let alone decrypted).
_CANDIDATE_COLUMNS = (
    Case.dek_id,
    *(getattr(Case, BY_NAME[name].attribute) for name in (*LIST_FIELDS, *INDEXED_FIELDS)),
)


def list_item(case: Case) -> dict[str, Any]:
    """The list shape: no identifying field."""
    return rec.plain(case, LIST_FIELDS)


def _plain_filters(stmt: Select[Case], f: Filters) -> Select[Case]:
    if f.code:
        stmt = stmt.where(Case.case_code == normalise_code(f.code))
    if f.stage:
        stmt = stmt.where(Case.stage == f.stage)
    if f.risk:
        stmt = stmt.where(Case.risk_level == f.risk)
    if f.assigned_to == "none":
        stmt = stmt.where(Case.assigned_to.is_(None))
    elif f.assigned_to:
        stmt = stmt.where(Case.assigned_to == uuid.UUID(f.assigned_to))
    if f.country:
        stmt = stmt.where(Case.current_country == f.country.upper())
    return stmt


def _index_terms(keyring: Keyring, f: Filters) -> list[tuple[str, int]]:
    terms: list[tuple[str, int]] = []
    if f.name:
        terms += [
            (IndexedField.NAME.value, blind_index(keyring, IndexedField.NAME, t))
            for t in sorted(rec.name_terms([f.name]))
        ]
    if f.date_of_birth:
        dob = blind_index(keyring, IndexedField.DATE_OF_BIRTH, f.date_of_birth)
        terms.append((IndexedField.DATE_OF_BIRTH.value, dob))
    if f.phone:
        terms.append((IndexedField.PHONE.value, blind_index(keyring, IndexedField.PHONE, f.phone)))
    if f.handle:
        terms.append(
            (IndexedField.HANDLE.value, blind_index(keyring, IndexedField.HANDLE, f.handle))
        )
    return terms


def _candidates(stmt: Select[Case], terms: Sequence[tuple[str, int]]) -> Select[Case]:
    """Only cases carrying every index term, read from the index first: the cases carrying
    them all (INTERSECT), joined to the cases by id. As `Case.id IN (...)` conditions the
    database read every case in scope in the list's order and tested each one (SQLite's plan
    for a coordinator: the whole team, 25,000 cases at 100,000), so a search slowed with
    the data; from the index it reads only the hits."""
    hits = [
        select(CaseIndex.case_id).where(CaseIndex.field == fld, CaseIndex.value == value)
        for fld, value in sorted(set(terms))
    ]
    if not hits:
        return stmt
    # INTERSECT returns each id once; one term alone needs DISTINCT (a case may carry the
    # same truncated value twice).
    both = intersect(*hits) if len(hits) > 1 else hits[0].distinct()
    found = both.subquery("hits")
    return stmt.join(found, found.c.case_id == Case.id)


def confirm(fields: dict[str, Any], f: Filters) -> bool:
    """Whether decrypted fields really match the personal terms (not just their indexes)."""
    if f.name:
        names = [fields.get("legal_name") or "", *(fields.get("aliases") or [])]
        if not rec.name_terms([f.name]) <= rec.name_terms(n for n in names if n):
            return False
    if f.date_of_birth and fields.get("date_of_birth") != f.date_of_birth.isoformat():
        return False
    contacts = fields.get("contacts") or []
    if f.phone:
        want = normalize_phone(f.phone)
        if not any(_safe(normalize_phone, c["value"]) == want for c in contacts):
            return False
    if f.handle:
        want = normalize_handle(f.handle)
        if not any(_safe(normalize_handle, c["value"]) == want for c in contacts):
            return False
    return True


def _safe(fn: Any, value: str) -> str | None:
    try:
        return str(fn(value))
    except ValueError:
        return None


def _personal(f: Filters) -> bool:
    return bool(f.name or f.phone or f.handle or f.date_of_birth)


def _need(stmt: Select[Case], need: str | None) -> Select[Case]:
    """`needs` holds a JSON list of vocabulary words; its text contains the word in quotes
    exactly when the list holds it (the quotes delimit: "legal" never meets "legal_aid").
    Portable: the same LIKE on SQLite's JSON text and PostgreSQL's json cast to text."""
    if not need:
        return stmt
    if not _WORD.fullmatch(need):  # the schema only lets vocabulary words through
        raise ValueError("need must be a vocabulary word")
    return stmt.where(cast(Case.needs, String).contains(f'"{need}"', autoescape=True))


# How a list may be ordered: `name` or `-name` (the other way). Risk and stage go by their
# order of severity and of the case's life; `due` by the next hearing or deadline, cases
# without one last.
SORTS = ("created", "updated", "due", "risk", "stage")
DEFAULT_SORT = "-created"
_RISK_ORDER = {r.value: i for i, r in enumerate(RiskLevel)}
_STAGE_ORDER = {s.value: i for i, s in enumerate(Stage)}


def _sort_key(name: str, today: date) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    if name == "created":
        return Case.created_at
    if name == "updated":
        return Case.updated_at
    if name == "due":
        return next_due(today)
    if name == "risk":
        return case_when(_RISK_ORDER, value=Case.risk_level, else_=-1)
    return case_when(_STAGE_ORDER, value=Case.stage, else_=-1)


def _ordered(
    stmt: Select[Case], sort: str = DEFAULT_SORT, *, today: date | None = None
) -> Select[Case]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name in ("created", "updated"):
        # Never NULL: the order of an index on (team_id, created_at, id) or (team_id,
        # updated_at, id), read forwards or backwards, so a page reads only its own rows.
        cols = (_sort_key(name, today or date.today()), Case.id)  # noqa: DTZ011
        return stmt.order_by(*(c.desc() if descending else c.asc() for c in cols))
    key = _sort_key(name, today or date.today())  # noqa: DTZ011 - a calendar day
    column = key.desc() if descending else key.asc()
    return stmt.order_by(column.nulls_last(), Case.created_at.desc(), Case.id.desc())


def filtered(stmt: Select[Case], f: Filters) -> Select[Case]:
    """stmt narrowed by the plain filters and `need`, all in SQL."""
    return _need(_plain_filters(stmt, f), f.need)


def confirmed(
    db: Session,
    *,
    keyring: Keyring,
    stmt: Select[Case],
    f: Filters,
    sort: str = DEFAULT_SORT,
    today: date | None = None,
    enough: int | None = None,
) -> tuple[list[Case], bool]:
    """Cases of stmt (already filtered) carrying the personal terms' index values, confirmed
    by decryption, in stmt's order; and whether every candidate was confirmed. More than
    MAX_CANDIDATES candidates answers 422 (add a term).

    With `enough`, confirming stops once that many match: a common name at a million cases
    has hundreds of candidates, and a page needs only its own (the rest are counted as
    "at least"). The candidates' ids are read first, their rows and keys a batch at a time."""
    found = _candidates(stmt, _index_terms(keyring, f))
    order = _ordered(found, sort, today=today).with_only_columns(Case.id)
    ids = list(db.scalars(order.limit(MAX_CANDIDATES + 1)))
    if len(ids) > MAX_CANDIDATES:
        raise SearchTooBroad()
    out: list[Case] = []
    checked = 0  # candidates confirmed or refused so far, in order
    while checked < len(ids) and (enough is None or len(out) < enough):
        # A batch: what is still needed (most candidates of a name match it), at least 16.
        size = len(ids) if enough is None else max(16, enough - len(out))
        batch = ids[checked : checked + size]
        rows = db.scalars(
            select(Case)
            .where(Case.id.in_(batch))
            .options(load_only(*_CANDIDATE_COLUMNS, raiseload=True))
        )
        by_id = {c.id: c for c in rows}
        keys = rec.preload_keys(db, list(by_id.values()))  # one query for the batch's keys
        for case_id in batch:
            checked += 1
            case = by_id.get(case_id)  # None: erased since its id was read
            if case is None:
                continue
            dek = rec.case_key(db, keyring=keyring, case=case)
            if confirm(rec.read(case, dek, INDEXED_FIELDS), f):
                out.append(case)
                if enough is not None and len(out) >= enough:
                    break
        del keys
    return out, checked == len(ids)


def page_in_scope(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    permission: Permission,
    f: Filters,
    paging: PageQuery,
    sort: str = DEFAULT_SORT,
    now: datetime,
    count_cap: int = DEFAULT_COUNT_CAP,
) -> Page[Case]:
    """One page of the matching cases the actor may read. Plain filters only: LIMIT and
    OFFSET in SQL, and the total exact from the maintained counts (a coordinator's list,
    whole or by stage) or counted up to count_cap (app/pagination.py). With personal terms:
    the (capped) candidates confirmed, then paged."""
    # Without a live break-glass grant the scope is the team's (or the assigned) cases alone:
    # a plain WHERE that an index reads in the list's order; the OR with the grant's EXISTS
    # would make the database read and sort every case in scope.
    scope = permission if has_live_grant(db, actor.id, now=now) else None
    stmt = filtered(readable_cases(actor, scope, now=now), f)
    if f.mine:
        stmt = stmt.where(Case.assigned_to == actor.id)
    if _personal(f):
        # Confirmed up to this page and one more: a name shared by hundreds of cases costs a
        # page's decryptions, not hundreds; the total is then "at least" (total_capped).
        shown = paging.offset + paging.per_page
        cases, every = confirmed(
            db, keyring=keyring, stmt=stmt, f=f, sort=sort, today=now.date(), enough=shown + 1
        )
        if every:
            return page_of(cases, paging)
        items = cases[paging.offset : shown]
        return page_of(items, paging, paging.offset + len(items), capped=True)
    kept = _kept_total(db, actor, permission, f, now=now)
    rows, total, capped = page_rows_bounded(
        db, _ordered(stmt, sort, today=now.date()), paging, cap=count_cap, total=kept
    )
    return page_of(rows, paging, total, capped=capped)


_NOT_KEPT = ("code", "risk", "assigned_to", "country", "need", "mine")


def _kept_total(
    db: Session, actor: Actor, permission: Permission, f: Filters, *, now: datetime
) -> int | None:
    """The exact number of cases of a coordinator's list, unfiltered or by stage, without
    counting them: their teams' cases from the maintained report counts (kept with every case
    write, app/reports/counts.py), plus the cases of other teams a live break-glass grant
    opens (a handful). None for any other list (it is counted, up to the cap)."""
    if actor.role is not Role.COORDINATOR or any(getattr(f, name) for name in _NOT_KEPT):
        return None
    teams = sorted(actor.team_ids)
    kept = select(func.coalesce(func.sum(ReportCount.n), 0)).where(
        ReportCount.team_id.in_(teams), ReportCount.dim == "stage", ReportCount.b == ""
    )
    if f.stage:
        kept = kept.where(ReportCount.a == f.stage)
    total = int(db.scalar(kept) or 0) if teams else 0
    if grant_reaches(permission):
        granted = (
            select(func.count(func.distinct(Case.id)))
            .select_from(BreakGlassGrant)
            .join(Case, Case.id == BreakGlassGrant.case_id)
            .where(
                BreakGlassGrant.actor_id == actor.id,
                BreakGlassGrant.expires_at > now,
                Case.team_id.not_in(teams),
            )
        )
        if f.stage:
            granted = granted.where(Case.stage == f.stage)
        total += int(db.scalar(granted) or 0)
    return total


def search_in_scope(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    f: Filters,
    paging: PageQuery,
    sort: str = DEFAULT_SORT,
    now: datetime,
) -> Page[Case]:
    """A search by personal terms (from a POST body): one page of confirmed matches in scope,
    audited with the names of the terms used, never their values."""
    found = page_in_scope(
        db,
        keyring=keyring,
        actor=actor,
        permission=Permission.CASE_SEARCH,
        f=f,
        paging=paging,
        sort=sort,
        now=now,
    )
    used = [k for k in _TERMS if getattr(f, k) not in (None, False)]
    record(db, AuditAction.CASE_SEARCHED, by=actor, on=("case", None), fields=sorted(used))
    return found
