"""Partners and referrals as the API speaks them: input validated (unknown fields refused,
errors naming the field), output described."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from app.cases.values import Country, Note, Short
from app.cases.vocab import Need
from app.referrals.packet import PUBLIC_KEY_PREFIX, PacketError, decode_public_key
from app.referrals.rules import SHAREABLE_FIELDS, ReferralStatus
from app.validation import NoNul, Strict


def _public_key(text: str) -> str:
    try:
        decode_public_key(text)
    except PacketError as exc:
        raise ValueError(str(exc)) from None
    return text.strip()


def _shareable(name: str) -> str:
    if name not in SHAREABLE_FIELDS:
        raise ValueError("not a case field a referral may carry")
    return name


PublicKey = Annotated[
    str,
    StringConstraints(max_length=200),
    AfterValidator(_public_key),
    WithJsonSchema({"type": "string", "pattern": f"^{PUBLIC_KEY_PREFIX}[A-Za-z0-9_-]{{43}}$"}),
]
ShareableField = Annotated[
    str,
    AfterValidator(_shareable),
    WithJsonSchema({"type": "string", "enum": list(SHAREABLE_FIELDS)}),
]


def _unique(items: list[str] | list[Need], what: str) -> None:
    if len(set(items)) != len(items):
        raise ValueError(f"{what}: each value once")


class PartnerIn(Strict):
    """A partner organisation; `public_key` exactly as `haven partner keygen` printed it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Example Legal Aid e.V.",
                    "services": ["legal", "asylum"],
                    "countries": ["DE"],
                    "public_key": "haven-partner-x25519:"
                    "mkQfkBMXxvzEgL4oSgY6nDoheqGF3CB-D9-dJ1EJFvQ",
                }
            ]
        }
    )

    name: Annotated[Short, NoNul]  # a plain, unique column
    services: list[Need] = Field(
        default_factory=list, max_length=len(Need), json_schema_extra={"uniqueItems": True}
    )
    countries: list[Country] = Field(
        default_factory=list, max_length=60, json_schema_extra={"uniqueItems": True}
    )
    public_key: PublicKey

    @model_validator(mode="after")
    def _no_repeats(self) -> PartnerIn:
        _unique(self.services, "services")
        _unique(self.countries, "countries")
        return self


class PartnerConfirmIn(Strict):
    """The fingerprint of the partner's key (`key_id`, 16 hex digits), as the partner read
    it out over a channel other than the one the key came by."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"key_id": "3f2a9c4107bed5e8"}]})

    key_id: str = Field(min_length=16, max_length=40, pattern=r"^[0-9A-Fa-f :-]+$")


class ReferralIn(Strict):
    """A referral draft: the partner, the case fields to share (ticked, never all by
    default), and a note for the partner (encrypted under the case key)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "partner_id": "0d9e8f7a-6b5c-4d3e-a2f1-e0d9c8b7a6f5",
                    "fields": ["legal_name", "date_of_birth", "situation", "criminal_case"],
                    "note": "Asylum hearing in March; he prefers Russian.",
                }
            ]
        }
    )

    partner_id: uuid.UUID
    fields: list[ShareableField] = Field(min_length=1, max_length=len(SHAREABLE_FIELDS))
    note: Note | None = None

    @model_validator(mode="after")
    def _no_repeats(self) -> ReferralIn:
        _unique(self.fields, "fields")
        return self


class ReferralStatusIn(Strict):
    """A status change: sent, accepted, declined or completed."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "sent"}]})

    status: ReferralStatus


class PartnerOut(BaseModel):
    """A partner organisation, with the fingerprint of its key (`key_id`) to read out over
    another channel, and whether a coordinator has confirmed it."""

    id: uuid.UUID
    name: str
    services: list[Need]
    countries: list[str]
    public_key: str
    key_id: str
    created_at: datetime
    confirmed: bool


class ReferralOut(BaseModel):
    """A referral as the case team sees it: partner, status, the fields chosen, the note."""

    id: uuid.UUID
    case_id: uuid.UUID
    partner_id: uuid.UUID
    partner_name: str
    status: ReferralStatus
    # A withdrawn consent to share blocks the referral until consent is given again.
    blocked: bool
    fields: list[str]
    note: str | None
    # True once sent: the packet sealed to the partner's key can be downloaded.
    has_packet: bool
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
