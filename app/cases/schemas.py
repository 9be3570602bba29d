"""The case record as the API speaks it: every field validated, unknown fields refused."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.cases.record import name_terms
from app.cases.search import Filters
from app.cases.vocab import (
    ConsentPurpose,
    ContactChannel,
    DocumentType,
    LegalBasis,
    Need,
    RiskLevel,
    ServiceStatus,
    Situation,
    Stage,
    VettingStatus,
    WantedStatus,
)
from app.crypto.normalize import normalize_handle, normalize_phone
from app.validation import NoNul, StorableTime

EARLIEST_BIRTH = date(1900, 1, 1)


def _country(code: str) -> str:
    code = code.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166 alpha-2 country code")
    return code


def _not_future(value: date) -> date:
    if value > date.today():  # noqa: DTZ011 - a calendar date, compared as the user sees it
        raise ValueError("must not be in the future")
    return value


def _birth(value: date) -> date:
    if value < EARLIEST_BIRTH:
        raise ValueError("must be after 1900-01-01")
    return _not_future(value)


Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)]
PastDate = Annotated[date, AfterValidator(_not_future)]
BirthDate = Annotated[date, AfterValidator(_birth)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class Strict(BaseModel):
    """Refuses unknown fields, so a typo is an error naming the field, not silently lost."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{5,24}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_TELEGRAM = re.compile(r"^@?[A-Za-z][A-Za-z0-9_]{4,31}$")
_SIGNAL_USERNAME = re.compile(r"^@?[A-Za-z][A-Za-z0-9_]{2,31}\.[0-9]{2,9}$")
_CHANNEL_PATTERNS: dict[ContactChannel, tuple[re.Pattern[str], ...]] = {
    ContactChannel.PHONE: (_PHONE,),
    ContactChannel.EMAIL: (_EMAIL,),
    ContactChannel.TELEGRAM: (_TELEGRAM, _PHONE),
    ContactChannel.SIGNAL: (_SIGNAL_USERNAME, _PHONE),
    ContactChannel.OTHER: (),
}


class Contact(Strict):
    """One way to reach the person."""

    channel: ContactChannel
    value: Short

    @model_validator(mode="after")
    def _value_fits_channel(self) -> Contact:
        patterns = _CHANNEL_PATTERNS[self.channel]
        if patterns and not any(p.match(self.value) for p in patterns):
            raise ValueError(f"value is not a valid {self.channel.value} contact")
        return self


class CriminalCase(Strict):
    """A criminal case against the person (e.g. RU Criminal Code 337, 338)."""

    article: Annotated[str, StringConstraints(max_length=40)] | None = None
    status: Annotated[str, StringConstraints(max_length=60)] | None = None
    notes: Note | None = None


class Wanted(Strict):
    """Whether the person is on a wanted list."""

    status: WantedStatus = WantedStatus.UNKNOWN
    notes: Note | None = None


class DocumentHeld(Strict):
    """An identity document the person holds."""

    type: DocumentType
    expires_on: date | None = None
    notes: Note | None = None


class Vetting(Strict):
    """Whether the request is genuine, and who checked."""

    status: VettingStatus = VettingStatus.UNVERIFIED
    by: Short | None = None
    notes: Note | None = None


class Consent(Strict):
    """Consent (or another legal basis) for one purpose, withdrawable."""

    purpose: ConsentPurpose
    partner: uuid.UUID | None = None
    legal_basis: LegalBasis
    given_at: datetime
    withdrawn_at: datetime | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Consent:
        if self.purpose is ConsentPurpose.SHARE_WITH_PARTNER and self.partner is None:
            raise ValueError("partner is required for share_with_partner")
        if self.purpose is not ConsentPurpose.SHARE_WITH_PARTNER and self.partner is not None:
            raise ValueError("partner is only for share_with_partner")
        if self.given_at.tzinfo is None or (
            self.withdrawn_at is not None and self.withdrawn_at.tzinfo is None
        ):
            raise ValueError("times must carry a timezone")
        if self.withdrawn_at is not None and self.withdrawn_at < self.given_at:
            raise ValueError("withdrawn_at is before given_at")
        return self

    @property
    def active(self) -> bool:
        """Given and not withdrawn."""
        return self.withdrawn_at is None


class Hearing(Strict):
    """A hearing in the person's protection procedure."""

    on: date
    place: Short | None = None
    notes: Note | None = None


class Deadline(Strict):
    """A date by which something must happen."""

    on: date
    what: Short


class Protection(Strict):
    """The legal protection route: visa, asylum, hearings, deadlines, lawyer, decision."""

    visa: Note | None = None
    asylum_country: Country | None = None
    hearings: list[Hearing] = Field(default_factory=list, max_length=50)
    deadlines: list[Deadline] = Field(default_factory=list, max_length=50)
    lawyer: Short | None = None
    decision: Note | None = None


class Movement(Strict):
    """A planned route or meeting: erased automatically after destroy_after."""

    plan: Text
    destroy_after: StorableTime


class CaseFields(Strict):
    """Every writable field of a case; all optional so intake can start with little."""

    risk_level: RiskLevel | None = None
    citizenship: Country | None = None
    current_country: Country | None = None
    situation: Situation | None = None
    needs: list[Need] | None = Field(default=None, max_length=len(Need))
    legal_name: Short | None = None
    aliases: list[Short] | None = Field(default=None, max_length=20)
    date_of_birth: BirthDate | None = None
    languages: list[LanguageCode] | None = Field(default=None, max_length=20)
    current_city: Short | None = None
    contacts: list[Contact] | None = Field(default=None, max_length=20)
    service_status: ServiceStatus | None = None
    unit: Short | None = None
    left_service_on: PastDate | None = None
    criminal_case: CriminalCase | None = None
    wanted: Wanted | None = None
    documents_held: list[DocumentHeld] | None = Field(default=None, max_length=20)
    family: Text | None = None
    risk_flags: list[Short] | None = Field(default=None, max_length=30)
    vetting: Vetting | None = None
    consents: list[Consent] | None = Field(default=None, max_length=50)
    protection: Protection | None = None
    movement: Movement | None = None
    intake_notes: Text | None = None
    outcome: Note | None = None
    closing_note: Text | None = None

    @model_validator(mode="after")
    def _needs_unique(self) -> CaseFields:
        if self.needs is not None and len(set(self.needs)) != len(self.needs):
            raise ValueError("needs: each need once")
        return self


class CaseCreate(CaseFields):
    """A new intake; the team defaults to the creator's only team."""

    team_id: uuid.UUID | None = None


class CaseUpdate(CaseFields):
    """A partial update; `version` must be the one last read (409 when stale)."""

    version: int = Field(ge=1, le=2**31 - 1)  # the column is a 32-bit integer
    legal_hold: bool = False

    def changes(self) -> dict[str, Any]:
        """Only the fields the caller sent (an explicit null clears a field)."""
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if k != "version"}


class Transition(Strict):
    """A request to move a case to another stage."""

    to: Stage


ASSIGNEE_PATTERN = r"^(none|[0-9a-fA-F-]{36})$"


def _assignee(value: str) -> str:
    """`none` or a user id (the pattern alone lets 36 dashes through)."""
    if value != "none":
        uuid.UUID(value)  # ValueError: a 422 naming assigned_to
    return value


class AssignIn(Strict):
    """Who the case goes to (null: back to the unassigned queue)."""

    user_id: uuid.UUID | None


class ListQuery(Strict):
    """Plain filters for GET /cases: nothing personal, so they may sit in a URL."""

    code: Annotated[str, StringConstraints(max_length=32), NoNul] | None = None
    stage: Stage | None = None
    risk: RiskLevel | None = None
    assigned_to: (
        Annotated[str, StringConstraints(pattern=ASSIGNEE_PATTERN), AfterValidator(_assignee)]
        | None
    ) = None
    country: Country | None = None
    need: Need | None = None
    page: int = Field(default=1, ge=1, le=10_000)

    def filters(self) -> Filters:
        """The plain filters."""
        return Filters(
            code=self.code,
            stage=self.stage.value if self.stage else None,
            risk=self.risk.value if self.risk else None,
            assigned_to=self.assigned_to,
            country=self.country,
            need=self.need.value if self.need else None,
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

    name: Annotated[str, StringConstraints(min_length=2, max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(min_length=5, max_length=40)] | None = None
    handle: Annotated[str, StringConstraints(min_length=3, max_length=100)] | None = None
    date_of_birth: BirthDate | None = None

    _name_has_a_word = field_validator("name")(_has_name_term)
    _phone_has_digits = field_validator("phone")(_has_phone_digits)
    _handle_has_text = field_validator("handle")(_has_handle)

    def filters(self) -> Filters:
        """The search filters these terms make."""
        return Filters(
            code=self.code,
            stage=self.stage.value if self.stage else None,
            risk=self.risk.value if self.risk else None,
            assigned_to=self.assigned_to,
            country=self.country,
            need=self.need.value if self.need else None,
            name=self.name,
            phone=self.phone,
            handle=self.handle,
            date_of_birth=self.date_of_birth,
        )


class DuplicatesIn(Strict):
    """What may identify an already known person."""

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
