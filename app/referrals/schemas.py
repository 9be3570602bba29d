"""Partner and referral input, validated: unknown fields refused, errors naming the field."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema, model_validator

from app.cases.schemas import Country, Note, Short, Strict
from app.cases.vocab import Need
from app.referrals.packet import PUBLIC_KEY_PREFIX, PacketError, decode_public_key
from app.referrals.rules import SHAREABLE_FIELDS, ReferralStatus
from app.validation import NoNul


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

    name: Annotated[Short, NoNul]  # a plain, unique column
    services: list[Need] = Field(default_factory=list, max_length=len(Need))
    countries: list[Country] = Field(default_factory=list, max_length=60)
    public_key: PublicKey

    @model_validator(mode="after")
    def _no_repeats(self) -> PartnerIn:
        _unique(self.services, "services")
        _unique(self.countries, "countries")
        return self


class PartnerConfirmIn(Strict):
    """The fingerprint of the partner's key (`key_id`, 16 hex digits), as the partner read
    it out over a channel other than the one the key came by."""

    key_id: str = Field(min_length=16, max_length=40, pattern=r"^[0-9A-Fa-f :-]+$")


class ReferralIn(Strict):
    """A referral draft: the partner, the case fields to share (ticked, never all by
    default), and a note for the partner (encrypted under the case key)."""

    partner_id: uuid.UUID
    fields: list[ShareableField] = Field(min_length=1, max_length=len(SHAREABLE_FIELDS))
    note: Note | None = None

    @model_validator(mode="after")
    def _no_repeats(self) -> ReferralIn:
        _unique(self.fields, "fields")
        return self


class ReferralStatusIn(Strict):
    """A status change: sent, accepted, declined or completed."""

    status: ReferralStatus
