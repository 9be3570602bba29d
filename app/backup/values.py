"""Column values in a backup: JSON, chosen by the column's type so that a value read from
SQLite restores into PostgreSQL (and back) unchanged. An unknown type refuses the backup
rather than guessing."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)

from app.crypto.ciphertext import Ciphertext, Encrypted
from app.db import UTCDateTime

Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unb64(value: str) -> bytes:
    return base64.b64decode(value.encode("ascii"), validate=True)


def _same(value: Any) -> Any:
    return value


def _nullable(codec: Codec) -> Codec:
    encode, decode = codec
    return (
        lambda v: None if v is None else encode(v),
        lambda v: None if v is None else decode(v),
    )


_CODECS: list[tuple[type[Any], Codec]] = [
    (Encrypted, (lambda v: _b64(v.data), lambda v: Ciphertext(_unb64(v)))),
    (UTCDateTime, (lambda v: v.isoformat(), datetime.fromisoformat)),
    (LargeBinary, (lambda v: _b64(bytes(v)), _unb64)),
    (Uuid, (str, uuid.UUID)),
    (DateTime, (lambda v: v.isoformat(), datetime.fromisoformat)),
    (Date, (lambda v: v.isoformat(), date.fromisoformat)),
    (JSON, (_same, _same)),
    (Boolean, (bool, bool)),
    (BigInteger, (int, int)),
    (Integer, (int, int)),
    (Float, (float, float)),
    (String, (str, str)),
    (Text, (str, str)),
]


def codec_for(column: Column[Any]) -> Codec:
    """(encode, decode) for one column."""
    kind = column.type
    for base, codec in _CODECS:
        if isinstance(kind, base):
            return _nullable(codec)
    raise TypeError(f"{column.table.name}.{column.name}: no backup codec for {kind!r}")
