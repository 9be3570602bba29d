"""Reading and writing a case's encrypted fields and blind indexes under its own data key."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, cast, delete, select
from sqlalchemy.orm import Session, object_session

from app.cases.errors import CaseDamaged
from app.cases.fields import (
    AUTHORISING_FIELDS,
    BY_NAME,
    ENCRYPTED_FIELDS,
    PLAIN_FIELDS,
    WRITABLE_PLAIN_FIELDS,
)
from app.cases.models import Case, CaseIndex, CaseRevision
from app.crypto.blind_index import IndexedField, blind_index
from app.crypto.envelope import (
    OpenDataKey,
    create_data_key,
    decrypt_json,
    encrypt_json,
    open_data_key,
)
from app.crypto.keyring import Keyring
from app.crypto.models import DataKey
from app.crypto.normalize import fold_token, tokenize

HANDLE_CHANNELS = frozenset({"telegram", "signal", "email", "other"})
# The associated-data name of an encrypted revision (bound to the revision's row id).
REVISION_FIELD = "revision"


def new_case_key(db: Session, *, keyring: Keyring, case: Case) -> OpenDataKey:
    """Create the case's own data key (the case id must be set) and open it."""
    row = create_data_key(db, keyring=keyring, owner_id=case.id)
    case.dek_id = row.id
    return open_data_key(db, keyring=keyring, key_id=row.id, owner_id=case.id)


def case_key(db: Session, *, keyring: Keyring, case: Case) -> OpenDataKey:
    """Open the data key of an existing case."""
    return open_data_key(db, keyring=keyring, key_id=case.dek_id, owner_id=case.id)


def preload_keys(db: Session, cases: Sequence[Case]) -> list[DataKey]:
    """The wrapped data keys of these cases in one query, so that `case_key` finds each in
    the session instead of reading it alone. Keep the list while the keys are opened: the
    session's identity map holds a row only while something refers to it."""
    ids = [c.dek_id for c in cases]
    return list(db.scalars(select(DataKey).where(DataKey.id.in_(ids)))) if ids else []


def write(case: Case, dek: OpenDataKey, values: Mapping[str, Any]) -> None:
    """Set plain and encrypted fields from JSON-ready values (None clears a field)."""
    for name, value in values.items():
        if name in WRITABLE_PLAIN_FIELDS:
            setattr(case, name, [] if name == "needs" and value is None else value)
        elif name in ENCRYPTED_FIELDS:
            ct = None if value is None else encrypt_json(dek, field=name, value=value)
            setattr(case, name, ct)
        else:
            raise KeyError(name)


def read(case: Case, dek: OpenDataKey, names: Iterable[str] = ENCRYPTED_FIELDS) -> dict[str, Any]:
    """Decrypt the named encrypted fields (absent ones read as None). A field that authorises
    an action is checked against the case's latest revision first (see `check_latest`)."""
    out: dict[str, Any] = {}
    for name in names:
        ct = getattr(case, name)
        out[name] = None if ct is None else decrypt_json(dek, field=name, ciphertext=ct)
        if name in AUTHORISING_FIELDS:
            check_latest(case, dek, name, out[name])
    return out


def check_latest(case: Case, dek: OpenDataKey, name: str, value: Any) -> None:
    """Refuse a field whose value is not the one its latest revision recorded.

    The field AAD binds case and field, not a version: someone with write access to the
    database could put back an older ciphertext of the same field (a withdrawn consent
    revived). Each change also writes an encrypted revision bound to its own row id, so an
    old ciphertext no longer matches the newest revision's `new` value. Applied to the
    fields that authorise something (the catalogue's `authorises`); limits in SECURITY.md."""
    db = object_session(case)
    if db is None:  # a case outside any session has no history to compare with
        raise CaseDamaged()
    rev = db.scalars(
        select(CaseRevision)
        .where(
            CaseRevision.case_id == case.id,
            cast(CaseRevision.fields, String).contains(f'"{name}"', autoescape=True),
        )
        .order_by(CaseRevision.version.desc(), CaseRevision.at.desc())
        .limit(1)
    ).first()
    expected = None
    if rev is not None:
        changes = decrypt_json(dek, field=REVISION_FIELD, ciphertext=rev.changes, row_id=rev.id)
        expected = (changes.get(name) or {}).get("new")
    if (value or None) != (expected or None):  # an empty list is recorded as no change
        raise CaseDamaged()


def _json(value: Any) -> Any:
    """A plain column's value as the API speaks it (ids and times as strings)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def plain(case: Case, names: Iterable[str] = PLAIN_FIELDS) -> dict[str, Any]:
    """The named plaintext fields (every one by default) under their API names."""
    out = {}
    for name in names:
        field = BY_NAME[name]
        value = getattr(case, field.attribute)
        out[name] = [] if value is None and field.max_items is not None else _json(value)
    return out


def name_terms(names: Iterable[str]) -> set[str]:
    """What a name is indexed under: each word's skeleton (so a surname alone finds it)."""
    return {t for name in names for t in (fold_token(w) for w in tokenize(name)) if len(t) >= 2}


def index_values(keyring: Keyring, fields: Mapping[str, Any]) -> set[tuple[str, int]]:
    """Every (field, truncated HMAC) pair a case with these decrypted fields is indexed by."""
    out: set[tuple[str, int]] = set()
    names = [fields.get("legal_name") or "", *(fields.get("aliases") or [])]
    for term in name_terms(n for n in names if n):
        out.add((IndexedField.NAME.value, blind_index(keyring, IndexedField.NAME, term)))
    dob = fields.get("date_of_birth")
    if dob:
        value = date.fromisoformat(dob)
        out.add(
            (
                IndexedField.DATE_OF_BIRTH.value,
                blind_index(keyring, IndexedField.DATE_OF_BIRTH, value),
            )
        )
    for contact in fields.get("contacts") or []:
        channel, text = contact["channel"], contact["value"]
        kinds = [IndexedField.PHONE] if channel == "phone" else []
        if channel in HANDLE_CHANNELS:
            kinds.append(IndexedField.HANDLE)
        if channel in {"signal", "telegram"} and any(ch.isdigit() for ch in text):
            kinds.append(IndexedField.PHONE)
        for kind in kinds:
            try:
                out.add((kind.value, blind_index(keyring, kind, text)))
            except ValueError:  # nothing indexable in it (e.g. a phone with no digits)
                continue
    return out


def reindex(
    db: Session, *, keyring: Keyring, case_id: uuid.UUID, fields: Mapping[str, Any]
) -> None:
    """Replace the case's blind-index rows with those for its current fields."""
    db.execute(delete(CaseIndex).where(CaseIndex.case_id == case_id))
    db.add_all(
        CaseIndex(case_id=case_id, field=f, value=v)
        for f, v in sorted(index_values(keyring, fields))
    )
