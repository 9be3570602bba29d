"""Input rules shared by the API's schemas: what the database can hold, refused as a 422
naming the field instead of failing in the driver (a 500)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


def no_nul(value: str) -> str:
    """Text stored or compared in plain columns: PostgreSQL text cannot hold NUL."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def storable_time(value: datetime) -> datetime:
    """A timezone-aware time that exists in UTC (what UTCDateTime stores and compares):
    0001-01-01T00:00+01:00 or 9999-12-31T23:59-01:00 do not."""
    if value.tzinfo is None:
        raise ValueError("must carry a timezone")
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    return value


def in_utc(value: datetime) -> datetime:
    """A storable time said in UTC, so every answer gives times one way (`Z`)."""
    return storable_time(value).astimezone(UTC)


_NUMBER = re.compile(r"\s*[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?\s*")


def as_text(value: object) -> object:
    """Dates and times come as ISO 8601 text, as the schema says: a number, in JSON or as
    text in a query (which pydantic would read as seconds since 1970), is refused."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be ISO 8601 text")
    return value


def not_a_number(value: object) -> object:
    """A yes/no comes as true or false (or as text in a query string): a JSON 0 or 1, which
    pydantic would read as false or true, is refused."""
    if type(value) in (int, float):
        raise ValueError("must be true or false")
    return value


NoNul = AfterValidator(no_nul)
YesNo = Annotated[bool, BeforeValidator(not_a_number)]
IsoText = BeforeValidator(as_text)
StorableTime = Annotated[datetime, IsoText, AfterValidator(storable_time)]
UtcTime = Annotated[datetime, IsoText, AfterValidator(in_utc)]


class Strict(BaseModel):
    """Refuses unknown fields, so a typo is an error naming the field, not silently lost."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
