"""The case record as the API speaks it: every field validated, unknown fields refused.

The record's fields come from the catalogue (app/cases/fields.py): `CaseFields` holds every
writable one, `CaseOut` every field a reader may be shown; the value types are in
app/cases/values.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    field_validator,
    model_validator,
)

from app.cases.fields import CATALOGUE, CaseField
from app.cases.record import name_terms
from app.cases.search import Filters
from app.cases.values import PARTNER_ONLY_FOR_SHARING, BirthDate, Consent, Country, Short
from app.cases.vocab import ConsentPurpose, LegalBasis, Need, RiskLevel, Stage
from app.crypto.normalize import normalize_handle, normalize_phone
from app.pagination import Page, PageQuery
from app.validation import NoNul, Strict, UtcTime, YesNo


def _writable(field: CaseField) -> tuple[Any, Any]:
    """A writable field as an optional pydantic field (unset, or null to clear it)."""
    if field.max_items is not None:
        return field.value | None, Field(default=None, max_length=field.max_items)
    return field.value | None, None


class _WritableFields(Strict):
    """The rules that span a field's items; the fields themselves come from the catalogue."""

    @model_validator(mode="after")
    def _needs_unique(self) -> _WritableFields:
        needs = getattr(self, "needs", None)
        if needs is not None and len(set(needs)) != len(needs):
            raise ValueError("needs: each need once")
        return self


class _ShownFields(BaseModel):
    """A case as a reader sees it: the fields the policy shows them, nothing else."""

    model_config = ConfigDict(extra="forbid")


class _ListedFields(BaseModel):
    """A case in a list: the catalogue's listed fields, none of which identifies anyone."""


if TYPE_CHECKING:  # the static view of the models built below from the catalogue
    CaseFields = _WritableFields
    CaseOut = _ShownFields
    CaseListItem = _ListedFields
else:
    CaseFields = create_model(
        "CaseFields",
        __base__=_WritableFields,
        __doc__="Every writable field of a case; all optional so intake can start with little.",
        **{f.name: _writable(f) for f in CATALOGUE if f.writable},
    )
    CaseOut = create_model(
        "CaseOut",
        __base__=_ShownFields,
        __doc__=(
            "One case, each field as the policy lets the caller see it: a field the caller "
            "may not see is absent, a field that is empty is null."
        ),
        **{f.name: (f.value | None, None) for f in CATALOGUE},
    )
    CaseListItem = create_model(
        "CaseListItem",
        __base__=_ListedFields,
        __doc__="A case in a list: its code and plain fields, nothing that identifies anyone.",
        **{f.name: (f.value | None, None) for f in CATALOGUE if f.listed},
    )


CasePage = Page[CaseListItem]


class DuplicatesOut(BaseModel):
    """Who the person may be: matches in the caller's scope, and whether any lay outside."""

    matches: list[CaseListItem]
    outside_scope: bool


class RevisionOut(BaseModel):
    """One change to a case: who, when, which fields, old and new values (visible ones)."""

    version: int
    at: datetime
    actor_id: uuid.UUID | None
    fields: list[str]
    # Per field `{"old", "new"}` (null: empty); a plan destroyed on schedule reads
    # `{"destroyed": "by_schedule"}` instead.
    changes: dict[str, dict[str, Any]]


class CaseCreate(CaseFields):
    """A new intake; the team defaults to the creator's only team."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "legal_name": "Oleg Primerov",
                    "aliases": ["Олег Примеров"],
                    "date_of_birth": "1998-03-14",
                    "citizenship": "RU",
                    "current_country": "GE",
                    "current_city": "Tbilisi",
                    "languages": ["ru"],
                    "contacts": [{"channel": "signal", "value": "oleg_primer.07"}],
                    "situation": "deserted",
                    "service_status": "mobilised",
                    "criminal_case": {"article": "338", "status": "opened"},
                    "needs": ["legal", "documents"],
                    "risk_level": "high",
                    "consents": [
                        {
                            "purpose": "store",
                            "legal_basis": "consent",
                            "given_at": "2026-11-20T10:00:00Z",
                        }
                    ],
                    "intake_notes": "Left his unit in the autumn; needs a lawyer, a new passport.",
                }
            ]
        }
    )

    team_id: uuid.UUID | None = None


class CaseUpdate(CaseFields):
    """A partial update; `version` must be the one last read (409 when stale)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"version": 3, "risk_level": "critical", "needs": ["legal", "asylum"]}]
        }
    )

    version: int = Field(ge=1, le=2**31 - 1)  # the column is a 32-bit integer
    legal_hold: bool = False

    def changes(self) -> dict[str, Any]:
        """Only the fields the caller sent (an explicit null clears a field)."""
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k != "version"}


class Transition(Strict):
    """A request to move a case to another stage."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"to": "documentation"}]})

    to: Stage


ASSIGNEE_PATTERN = r"^(none|[0-9a-fA-F-]{36})$"


def _assignee(value: str) -> str:
    """`none` or a user id (the pattern alone lets 36 dashes through)."""
    if value != "none":
        uuid.UUID(value)  # ValueError: a 422 naming assigned_to
    return value


class AssignIn(Strict):
    """Who the case goes to (null: back to the unassigned queue)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": "b2e4c6d8-1a3f-4e5b-8c7d-9f0a1b2c3d4e"}]}
    )

    user_id: uuid.UUID | None


# `?sort=`: a field, or `-field` for the other direction (app/cases/search.py SORTS).
Sort = Literal[
    "created", "-created", "updated", "-updated", "due", "-due", "risk", "-risk", "stage", "-stage"
]


class ListQuery(PageQuery):
    """Plain filters for GET /cases: nothing personal, so they may sit in a URL. `mine`: only
    the cases assigned to the caller; `sort`: a field, `-field` for the other direction."""

    code: Annotated[str, StringConstraints(max_length=32), NoNul] | None = None
    stage: Stage | None = None
    risk: RiskLevel | None = None
    assigned_to: (
        Annotated[str, StringConstraints(pattern=ASSIGNEE_PATTERN), AfterValidator(_assignee)]
        | None
    ) = None
    country: Country | None = None
    need: Need | None = None
    mine: YesNo = False
    sort: Sort = "-created"

    def filters(self) -> Filters:
        """The plain filters."""
        return Filters(
            code=self.code,
            stage=self.stage.value if self.stage else None,
            risk=self.risk.value if self.risk else None,
            assigned_to=self.assigned_to,
            country=self.country,
            need=self.need.value if self.need else None,
            mine=self.mine,
        )


def _indexable(normalize: Callable[[str], str], message: str) -> Callable[[str | None], str | None]:
    """A validator refusing a term its blind index normalises to nothing (which would
    otherwise fail deep in the search), with `message` naming what is missing."""

    def check(value: str | None) -> str | None:
        if value is not None:
            try:
                normalize(value)
            except ValueError:
                raise ValueError(message) from None
        return value

    return check


# A phone with no digit 0-9, or a handle that is only '@', a link prefix or invisible
# characters, has nothing to search by.
_has_phone_digits = _indexable(normalize_phone, "needs the digits 0-9")
_has_handle = _indexable(normalize_handle, "needs a letter or digit after any @ or link prefix")


def _has_name_term(value: str | None) -> str | None:
    """A name that yields no searchable word (each needs two letters or more) would search
    nothing, leaving e.g. "does any case have this birth date": refused."""
    if value is not None and not name_terms([value]):
        raise ValueError("needs a word of at least two letters")
    return value


class SearchIn(ListQuery):
    """Search terms; personal ones only ever travel in a POST body."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Oleg Primerov", "stage": "intake", "page": 1}]}
    )

    name: Annotated[str, StringConstraints(min_length=2, max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(min_length=5, max_length=40)] | None = None
    handle: Annotated[str, StringConstraints(min_length=3, max_length=100)] | None = None
    date_of_birth: BirthDate | None = None

    _name_has_a_word = field_validator("name")(_has_name_term)
    _phone_has_digits = field_validator("phone")(_has_phone_digits)
    _handle_has_text = field_validator("handle")(_has_handle)

    def filters(self) -> Filters:
        """The search filters these terms make: the plain ones and the personal terms."""
        return replace(
            super().filters(),
            name=self.name,
            phone=self.phone,
            handle=self.handle,
            date_of_birth=self.date_of_birth,
        )


class DuplicatesIn(Strict):
    """What may identify an already known person."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"legal_name": "Oleg Primerov", "date_of_birth": "1998-03-14"}]
        }
    )

    legal_name: Short | None = None
    date_of_birth: BirthDate | None = None
    phone: Annotated[str, StringConstraints(min_length=5, max_length=40)] | None = None
    handle: Annotated[str, StringConstraints(min_length=3, max_length=100)] | None = None

    _name_has_a_word = field_validator("legal_name")(_has_name_term)
    _phone_has_digits = field_validator("phone")(_has_phone_digits)
    _handle_has_text = field_validator("handle")(_has_handle)

    @model_validator(mode="after")
    def _something(self) -> DuplicatesIn:
        if not (self.legal_name and self.date_of_birth) and not (self.phone or self.handle):
            raise ValueError("give legal_name with date_of_birth, or a phone, or a handle")
        return self

    def probes(self) -> list[Filters]:
        """One probe per way a person may match: name and birth date, phone, handle."""
        out = []
        if self.legal_name and self.date_of_birth:
            out.append(Filters(name=self.legal_name, date_of_birth=self.date_of_birth))
        if self.phone:
            out.append(Filters(phone=self.phone))
        if self.handle:
            out.append(Filters(handle=self.handle))
        return out


class ConsentIn(Strict):
    """One consent (or another legal basis) to record: for which purpose (and partner), on
    what basis, given when. Who recorded it and when is added by Haven."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"purpose": "store", "legal_basis": "consent", "given_at": "2026-11-20T10:00:00Z"}
            ],
            **PARTNER_ONLY_FOR_SHARING,
        }
    )

    purpose: ConsentPurpose
    partner: uuid.UUID | None = None
    legal_basis: LegalBasis
    given_at: UtcTime

    @model_validator(mode="after")
    def _partner_for_sharing_only(self) -> ConsentIn:
        # As Consent checks it, here so that it answers 422 naming the field.
        if (self.purpose is ConsentPurpose.SHARE_WITH_PARTNER) != (self.partner is not None):
            raise ValueError("partner: given for share_with_partner, and only for it")
        return self

    def consent(self) -> Consent:
        """The consent to record (validated as every consent is)."""
        return Consent.model_validate(self.model_dump())


class TimelineEvent(BaseModel):
    """One thing that happened to a case. `kind`: created, updated, assigned, stage, consent
    (a field revision: `fields` and, where the reader may see them, `changes`), document,
    referral, task (the object by id, and its status then)."""

    at: datetime
    kind: Literal[
        "created", "updated", "assigned", "stage", "consent", "document", "referral", "task"
    ]
    actor_id: uuid.UUID | None
    fields: list[str]
    changes: dict[str, dict[str, Any]]
    object_type: Literal["document", "referral", "task"] | None
    object_id: uuid.UUID | None
    status: str | None
