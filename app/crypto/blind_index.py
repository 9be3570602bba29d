"""Blind indexes: truncated HMAC-SHA256 of a normalised value under a per-field key.

The key of each field is derived (HKDF) from the root key, so indexes are useless without
it. Lengths follow a written coincidence budget (CipherSweet's planner method, figures in
SECURITY.md): with every index of one case combined, a design population of R = 2**13
cases still has C = R / 2**(sum of bits) >= 2 coincidences, so an index value proves nothing
on its own and matches are always confirmed by decrypting the candidates."""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
from datetime import date

from app.crypto import normalize
from app.crypto.keyring import Keyring


class IndexedField(enum.StrEnum):
    """Searchable fields. Aliases share NAME's key so a search finds either."""

    NAME = "name"
    DATE_OF_BIRTH = "date_of_birth"
    PHONE = "phone"
    HANDLE = "handle"


# Bits kept per index; their sum is the budget checked by tests against DESIGN_POPULATION.
INDEX_BITS: dict[IndexedField, int] = {
    IndexedField.NAME: 6,
    IndexedField.DATE_OF_BIRTH: 2,
    IndexedField.PHONE: 2,
    IndexedField.HANDLE: 2,
}
# Input domains in bits (log2 of distinct possible values), per CipherSweet's K_i.
INPUT_DOMAIN_BITS: dict[IndexedField, float] = {
    IndexedField.NAME: 40.0,
    IndexedField.DATE_OF_BIRTH: math.log2(100 * 365.25),
    IndexedField.PHONE: math.log2(10**10),
    IndexedField.HANDLE: 40.0,
}
DESIGN_POPULATION = 2**13


def coincidence_count(population: int, fields: list[IndexedField] | None = None) -> float:
    """Expected rows sharing one combination of index values (CipherSweet's formula)."""
    chosen = fields if fields is not None else list(IndexedField)
    exponent = sum(min(INDEX_BITS[f], INPUT_DOMAIN_BITS[f]) for f in chosen)
    return max(1, population) / 2**exponent


def normalised(field: IndexedField, value: str | date) -> str:
    """The canonical text a field's index is computed over."""
    if field is IndexedField.DATE_OF_BIRTH:
        return normalize.normalize_date(value)
    if isinstance(value, date):
        raise TypeError(f"{field} takes text")
    if field is IndexedField.NAME:
        key = normalize.name_key(value)
    elif field is IndexedField.PHONE:
        key = normalize.normalize_phone(value)
    else:
        key = normalize.normalize_handle(value)
    if not key:
        raise ValueError(f"nothing to index in {field}")
    return key


def blind_index(keyring: Keyring, field: IndexedField, value: str | date) -> int:
    """The truncated index of a value: an int in [0, 2**INDEX_BITS[field])."""
    key = keyring.derive(f"blind-index/{field.value}")
    mac = hmac.new(key, normalised(field, value).encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(mac[:4], "big") >> (32 - INDEX_BITS[field])
