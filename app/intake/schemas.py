"""A public self-referral as the API and the form speak it: as little as a pseudonym and a
safe way to reach the person."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from app.cases.values import Contact, Country, Short
from app.cases.vocab import VettingStatus
from app.validation import Strict

MESSAGE_MAX = 5_000
CONTACTS_MAX = 5


class RequestIn(Strict):
    """What someone asking for help sends (no account)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pseudonym": "Лесник",
                    "contacts": [{"channel": "signal", "value": "lesnik_safe.42"}],
                    "message": "Ушёл из части, сейчас в Тбилиси. Нужен юрист.",
                    "citizenship": "RU",
                    "current_country": "GE",
                }
            ]
        }
    )

    pseudonym: Short
    contacts: list[Contact] = Field(min_length=1, max_length=CONTACTS_MAX)
    message: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MESSAGE_MAX)
    ]
    citizenship: Country | None = None
    current_country: Country | None = None


class VettingIn(Strict):
    """A coordinator's judgement of a request, on the case as read at `version`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "verified", "version": 1}]}
    )

    status: VettingStatus
    version: int = Field(ge=1, le=2**31 - 1)  # the column is a 32-bit integer
