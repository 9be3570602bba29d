"""The case-field catalogue: every field of a case record, once, with what Haven must know
of it.

For each field: its API name and value type; where it is stored (a column the service keeps,
a plaintext column the API writes, or a column encrypted under the case's own data key);
whether it is reportable (counted without keys), blind-indexed for search, shown in case
lists, shareable in a referral; and which class of fact it is (`Exposure`). The policy table
(app/policy/permissions.py) decides, per role and class, whether a field is shown in full,
masked or hidden: the catalogue says what a field is, the policy who sees it.

Everything else derives from this list: the model's encrypted columns (app/cases/models.py),
reading and writing (record.py), the list shape and search (search.py), the request and
response schemas (schemas.py), what a referral may carry (app/referrals/rules.py), redaction,
and the subject-access export. Adding a field is one entry here and its migration
(tests/cases/test_fields.py holds every derived place to that).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from app.cases import values as v
from app.cases.vocab import Need, OutcomeKind, RiskLevel, ServiceStatus, Situation, Stage


class Storage(enum.StrEnum):
    """Where a field's value lives."""

    # Kept by the service itself (ids, code, stage, team, times): read-only in the record API.
    RECORD = "record"
    # Written through the API and stored in plaintext, so it can be queried without keys.
    PLAIN = "plain"
    # Encrypted under the case's data key, bound to case and field (AES-256-GCM).
    ENCRYPTED = "encrypted"


class Exposure(enum.StrEnum):
    """The class of fact a field is; the policy table maps (role, class) to a visibility."""

    # The case's opaque id: what the audit log names.
    REFERENCE = "reference"
    # The pseudonymous case code: what a volunteer's task carries.
    CODE = "code"
    # How the case is run: stage, team, assignee, times, and the plain dimensions.
    CASEWORK = "casework"
    # What describes the person.
    PERSONAL = "personal"


Source = Literal["staff", "self_referral"]


@dataclass(frozen=True)
class CaseField:
    """One field of the case record and everything Haven derives from it."""

    name: str
    # The value's type as the API speaks it (never None: every field may be empty).
    value: Any
    storage: Storage
    exposure: Exposure
    # The model attribute when it differs from the API name (team -> team_id).
    column: str | None = None
    # The most items a list field may hold.
    max_items: int | None = None
    # Plaintext and meant to be counted: the dimensions reports are built from.
    reportable: bool = False
    # Blind-indexed, so a search or duplicate check finds it without decrypting every case.
    indexed: bool = False
    # Shown in case lists (the list shape never holds anything that identifies).
    listed: bool = False
    # May be ticked into a referral packet.
    shareable: bool = False
    # Authorises an action (a referral needs consent): read only when it equals the value
    # the latest revision recorded, so an older ciphertext put back fails closed.
    authorises: bool = False

    @property
    def attribute(self) -> str:
        """The model attribute holding the field."""
        return self.column or self.name

    @property
    def encrypted(self) -> bool:
        """True when the value is encrypted under the case key."""
        return self.storage is Storage.ENCRYPTED

    @property
    def writable(self) -> bool:
        """True when the record API writes the field (plain or encrypted)."""
        return self.storage is not Storage.RECORD


R, P, E = Storage.RECORD, Storage.PLAIN, Storage.ENCRYPTED
REF, CODE, WORK, PERS = Exposure.REFERENCE, Exposure.CODE, Exposure.CASEWORK, Exposure.PERSONAL


def _field(name: str, value: Any, storage: Storage, exposure: Exposure, **kw: Any) -> CaseField:
    return CaseField(name=name, value=value, storage=storage, exposure=exposure, **kw)


# A reportable dimension: plaintext, counted in reports, shown in lists, shareable.
_DIMENSION = {"listed": True, "reportable": True, "shareable": True}

CATALOGUE: tuple[CaseField, ...] = (
    # What the service keeps about the case itself.
    _field("id", uuid.UUID, R, REF, listed=True),
    _field("case_code", str, R, CODE, listed=True),
    _field("stage", Stage, R, WORK, listed=True, reportable=True),
    _field("risk_level", RiskLevel, P, WORK, **_DIMENSION),
    _field("team", uuid.UUID, R, WORK, column="team_id", listed=True),
    _field("assigned_to", uuid.UUID, R, WORK, listed=True),
    _field("created_at", datetime, R, WORK, listed=True),
    _field("updated_at", datetime, R, WORK, listed=True),
    _field("version", int, R, WORK, listed=True),
    # The reportable dimensions (named in SECURITY.md): plaintext so reports need no keys.
    _field("citizenship", v.Country, P, WORK, **_DIMENSION),
    _field("current_country", v.Country, P, WORK, **_DIMENSION),
    _field("situation", Situation, P, WORK, **_DIMENSION),
    _field("needs", list[Need], P, WORK, max_items=len(Need), **_DIMENSION),
    _field("source", Source, R, WORK, reportable=True),
    # How a closed case ended, as a word from a list: counted in reports, never the story.
    _field("outcome_kind", OutcomeKind, P, WORK, reportable=True),
    _field("legal_hold", bool, R, WORK),
    # The person: encrypted under the case key, one column each.
    _field("legal_name", v.Short, E, PERS, indexed=True, shareable=True),
    _field("aliases", list[v.Short], E, PERS, max_items=20, indexed=True, shareable=True),
    _field("date_of_birth", v.BirthDate, E, PERS, indexed=True, shareable=True),
    _field("languages", list[v.LanguageCode], E, PERS, max_items=20, shareable=True),
    _field("current_city", v.Short, E, PERS, shareable=True),
    _field("contacts", list[v.Contact], E, PERS, max_items=20, indexed=True, shareable=True),
    _field("service_status", ServiceStatus, E, PERS, shareable=True),
    _field("unit", v.Short, E, PERS, shareable=True),
    _field("left_service_on", v.PastDate, E, PERS, shareable=True),
    _field("criminal_case", v.CriminalCase, E, PERS, shareable=True),
    _field("wanted", v.Wanted, E, PERS, shareable=True),
    _field("documents_held", list[v.DocumentHeld], E, PERS, max_items=20, shareable=True),
    _field("family", v.Text, E, PERS, shareable=True),
    _field("risk_flags", list[v.Short], E, PERS, max_items=30, shareable=True),
    # The organisation's own judgements and records: never in a referral (what the partner
    # needs goes in the referral's note).
    _field("vetting", v.Vetting, E, PERS),
    _field("consents", list[v.Consent], E, PERS, max_items=50, authorises=True),
    _field("protection", v.Protection, E, PERS, shareable=True),
    # Must not outlive its destroy-after date, so it never leaves Haven.
    _field("movement", v.Movement, E, PERS),
    _field("intake_notes", v.Text, E, PERS),
    _field("outcome", v.Note, E, PERS),
    _field("closing_note", v.Text, E, PERS),
)

BY_NAME: dict[str, CaseField] = {f.name: f for f in CATALOGUE}


def names(fields: Iterable[CaseField]) -> tuple[str, ...]:
    """The API names of fields, in catalogue order."""
    return tuple(f.name for f in fields)


# What the rest of the code base reads, derived once.
CASE_FIELDS: tuple[str, ...] = names(CATALOGUE)
PLAIN_FIELDS: tuple[str, ...] = names(f for f in CATALOGUE if not f.encrypted)
ENCRYPTED_FIELDS: tuple[str, ...] = names(f for f in CATALOGUE if f.encrypted)
WRITABLE_PLAIN_FIELDS: tuple[str, ...] = names(f for f in CATALOGUE if f.storage is P)
LIST_FIELDS: tuple[str, ...] = names(f for f in CATALOGUE if f.listed)
INDEXED_FIELDS: tuple[str, ...] = names(f for f in CATALOGUE if f.indexed)
SHAREABLE_FIELDS: tuple[str, ...] = names(f for f in CATALOGUE if f.shareable)
REPORTABLE_FIELDS: tuple[str, ...] = names(f for f in CATALOGUE if f.reportable)
AUTHORISING_FIELDS: frozenset[str] = frozenset(f.name for f in CATALOGUE if f.authorises)


def exposure(name: str) -> Exposure | None:
    """The class of a field, or None for a name that is not a case field."""
    found = BY_NAME.get(name)
    return found.exposure if found else None
