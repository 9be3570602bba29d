"""Finding cases: filters on plaintext columns, and personal terms through blind indexes.

A blind index is truncated on purpose (SECURITY.md), so an index hit only makes a case a
candidate; candidates are decrypted and compared before anything is returned."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.cases import record as rec
from app.cases.codes import normalise_code
from app.cases.models import Case, CaseIndex
from app.crypto.blind_index import IndexedField, blind_index
from app.crypto.keyring import Keyring
from app.crypto.normalize import normalize_handle, normalize_phone
from app.policy.deps import Actor
from app.policy.scope import readable_cases

PAGE_SIZE = 50
LIST_FIELDS = (
    "id",
    "case_code",
    "stage",
    "risk_level",
    "team",
    "assigned_to",
    "created_at",
    "updated_at",
    "version",
    "citizenship",
    "current_country",
    "situation",
    "needs",
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
    personal: tuple[str, ...] = field(default=())


def list_item(case: Case) -> dict[str, Any]:
    """The list shape: no identifying field."""
    full = rec.plain(case)
    return {k: full[k] for k in LIST_FIELDS}


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
    """Only cases carrying every index term."""
    for fld, value in set(terms):
        hit = select(CaseIndex.case_id).where(CaseIndex.field == fld, CaseIndex.value == value)
        stmt = stmt.where(Case.id.in_(hit))
    return stmt


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


def find(db: Session, *, keyring: Keyring, stmt: Select[Case], f: Filters) -> list[Case]:
    """Cases of stmt matching the filters, personal terms confirmed by decryption."""
    stmt = _plain_filters(stmt, f)
    if _personal(f):
        stmt = _candidates(stmt, _index_terms(keyring, f))
    cases = list(db.scalars(stmt.order_by(Case.created_at.desc(), Case.id)))
    if f.need:  # needs is a JSON list: filtered here, portably across both databases
        cases = [c for c in cases if f.need in (c.needs or [])]
    if not _personal(f):
        return cases
    out = []
    for case in cases:
        dek = rec.case_key(db, keyring=keyring, case=case)
        if confirm(rec.read(case, dek, ["legal_name", "aliases", "date_of_birth", "contacts"]), f):
            out.append(case)
    return out


def page_of(cases: list[Case], page: int) -> dict[str, Any]:
    """One page of the list shape."""
    start = (page - 1) * PAGE_SIZE
    return {
        "items": [list_item(c) for c in cases[start : start + PAGE_SIZE]],
        "page": page,
        "per_page": PAGE_SIZE,
        "total": len(cases),
    }


def in_scope(db: Session, *, keyring: Keyring, actor: Actor, f: Filters, now: Any) -> list[Case]:
    """Matching cases the actor may read."""
    return find(db, keyring=keyring, stmt=readable_cases(actor, now=now), f=f)


def duplicates(
    db: Session, *, keyring: Keyring, actor: Actor, probes: list[Filters], now: Any
) -> dict[str, Any]:
    """Cases that may be the same person: in scope listed; outside scope only flagged."""
    readable = {c.id for c in db.scalars(readable_cases(actor, now=now))}
    found: dict[uuid.UUID, Case] = {}
    for probe in probes:
        for case in find(db, keyring=keyring, stmt=select(Case), f=probe):
            found[case.id] = case
    mine = [c for c in found.values() if c.id in readable]
    return {
        "matches": [list_item(c) for c in sorted(mine, key=lambda c: c.case_code)],
        "outside_scope": any(cid not in readable for cid in found),
    }
