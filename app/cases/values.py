"""The values a case record holds, as the API validates them: countries, dates, contacts,
consents, protection steps... The case-field catalogue (app/cases/fields.py) types each field
with these; the request schemas (app/cases/schemas.py) are built from the catalogue."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Annotated

import pycountry
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from app.cases.vocab import (
    ConsentPurpose,
    ContactChannel,
    DocumentType,
    LegalBasis,
    VettingStatus,
    WantedStatus,
)
from app.validation import IsoText, StorableTime, Strict, UtcTime

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


# The schema lists the codes the validator knows (either case; answers give capitals).
COUNTRY_CODES = sorted(c.alpha_2 for c in pycountry.countries)
Country = Annotated[
    str,
    StringConstraints(min_length=2, max_length=2),
    AfterValidator(_country),
    Field(json_schema_extra={"enum": COUNTRY_CODES + [c.lower() for c in COUNTRY_CODES]}),
]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)]
PastDate = Annotated[date, IsoText, AfterValidator(_not_future)]
BirthDate = Annotated[date, IsoText, AfterValidator(_birth)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


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

    # Each channel's value patterns, in the schema as the validator applies them.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "properties": {
                        "channel": {"const": channel.value},
                        "value": {"anyOf": [{"pattern": p.pattern} for p in patterns]},
                    }
                }
                if patterns
                else {"properties": {"channel": {"const": channel.value}}}
                for channel, patterns in _CHANNEL_PATTERNS.items()
            ]
        }
    )

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


# A partner with share_with_partner, and with no other purpose: said in the schema too.
PARTNER_ONLY_FOR_SHARING: JsonDict = {
    "anyOf": [
        {
            "properties": {
                "purpose": {"const": ConsentPurpose.SHARE_WITH_PARTNER.value},
                "partner": {"type": "string", "format": "uuid"},
            },
            "required": ["purpose", "partner"],
        },
        {
            "properties": {
                "purpose": {
                    "enum": [
                        p.value
                        for p in ConsentPurpose
                        if p is not ConsentPurpose.SHARE_WITH_PARTNER
                    ]
                },
                "partner": {"type": "null"},
            }
        },
    ]
}


class Consent(Strict):
    """Consent (or another legal basis) for one purpose, withdrawable: when it was given,
    who recorded it and when, and (once withdrawn) when and who recorded the withdrawal."""

    model_config = ConfigDict(json_schema_extra=PARTNER_ONLY_FOR_SHARING)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    purpose: ConsentPurpose
    partner: uuid.UUID | None = None
    legal_basis: LegalBasis
    given_at: UtcTime
    withdrawn_at: UtcTime | None = None
    recorded_by: uuid.UUID | None = None
    recorded_at: UtcTime | None = None
    withdrawn_by: uuid.UUID | None = None

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
