"""Blind indexes: spellings meet, keys are per field and per installation, and the
truncation respects the written coincidence budget."""

from __future__ import annotations

import math
import secrets
from datetime import date

import pytest

from app.crypto.blind_index import (
    DESIGN_POPULATION,
    INDEX_BITS,
    IndexedField,
    blind_index,
    coincidence_count,
    normalised,
)
from app.crypto.keyring import Keyring
from app.errors import Sealed
from tests.crypto.test_normalize import SAME_NAME


def test_name_index_meets_across_scripts_and_order(keyring: Keyring) -> None:
    values = {blind_index(keyring, IndexedField.NAME, n) for n in
              ("Иван Петров", "Ivan Petrov", "Іван Петров", "PETROV, Ivan")}  # fmt: skip
    assert len(values) == 1


@pytest.mark.parametrize(("one", "other"), SAME_NAME[:10])
def test_spelling_pairs_share_an_index(keyring: Keyring, one: str, other: str) -> None:
    assert blind_index(keyring, IndexedField.NAME, one) == blind_index(
        keyring, IndexedField.NAME, other
    )


def test_other_fields_normalise_before_hashing(keyring: Keyring) -> None:
    phone = {
        blind_index(keyring, IndexedField.PHONE, p) for p in ("+7 916 123-45-67", "89161234567")
    }
    handle = {blind_index(keyring, IndexedField.HANDLE, h) for h in ("@Canary", "canary")}
    dob = {
        blind_index(keyring, IndexedField.DATE_OF_BIRTH, d)
        for d in ("07.03.1990", date(1990, 3, 7))
    }
    assert len(phone) == len(handle) == len(dob) == 1


def test_index_values_fit_their_bit_length(keyring: Keyring) -> None:
    for field in IndexedField:
        sample = "1990-01-01" if field is IndexedField.DATE_OF_BIRTH else "79160000000"
        value = blind_index(keyring, field, sample)
        assert 0 <= value < 2 ** INDEX_BITS[field]


def test_keys_differ_per_installation() -> None:
    # With 6 bits a single collision is likely; 64 names under two roots must not line up.
    names = [f"Synthetic Person {i}" for i in range(64)]
    rings = []
    for _ in range(2):
        ring = Keyring()
        ring.unseal_with_root(secrets.token_bytes(32))
        rings.append(ring)
    first, second = ([blind_index(r, IndexedField.NAME, n) for n in names] for r in rings)
    assert first != second


def test_keys_differ_per_field(keyring: Keyring) -> None:
    assert keyring.derive("blind-index/name") != keyring.derive("blind-index/handle")


def test_index_needs_an_unsealed_keyring(keyring: Keyring) -> None:
    keyring.seal()
    with pytest.raises(Sealed):
        blind_index(keyring, IndexedField.NAME, "Ivan Petrov")


def test_values_spread_over_the_whole_range(keyring: Keyring) -> None:
    seen = {blind_index(keyring, IndexedField.NAME, f"Person {i}") for i in range(2000)}
    assert len(seen) == 2 ** INDEX_BITS[IndexedField.NAME]


def test_coincidence_budget_holds_at_the_design_population() -> None:
    # CipherSweet: with every index of a row combined, 2 <= R / 2**sum(bits) <= sqrt(R).
    combined = coincidence_count(DESIGN_POPULATION)
    assert 2 <= combined <= math.sqrt(DESIGN_POPULATION)
    for field in IndexedField:
        assert coincidence_count(DESIGN_POPULATION, [field]) >= 2


def test_empty_names_are_refused() -> None:
    with pytest.raises(ValueError, match="nothing to index"):
        normalised(IndexedField.NAME, " \u200b-- ")
