"""Ciphertext as a value, and a column type that refuses anything else (docs/style.md rule 5)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator


class Ciphertext:
    """Opaque encrypted bytes. Its repr never shows content; decrypting needs the context."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("Ciphertext wraps bytes")
        self._data = bytes(data)

    @property
    def data(self) -> bytes:
        """The raw bytes (format byte first)."""
        return self._data

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ciphertext) and other._data == self._data

    def __hash__(self) -> int:
        return hash(self._data)

    def __repr__(self) -> str:
        return f"Ciphertext(<{len(self._data)} bytes>)"

    __str__ = __repr__


class PlaintextRefused(TypeError):
    """Raised when code tries to store something that is not a Ciphertext in an encrypted column."""


class Encrypted(TypeDecorator[Ciphertext]):
    """A binary column that only accepts Ciphertext values (a str or bytes raises)."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        if value is None:
            return None
        if not isinstance(value, Ciphertext):
            raise PlaintextRefused(
                f"encrypted column refused a {type(value).__name__}: encrypt it first"
            )
        return value.data

    def process_result_value(self, value: Any, dialect: Any) -> Ciphertext | None:
        if value is None:
            return None
        return Ciphertext(bytes(value))
