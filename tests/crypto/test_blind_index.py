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


# Indexes stored by the release of 2026-12-07 under the root bytes(range(32)): eight
# synthetic values a field, each field under its own key.
_KNOWN = {
    IndexedField.NAME: (
        ["Кирилл", "Олеся", "Ivan", "Марта", "Богдан", "Petro", "Анна", "Dmytro",
         "Иван Петров", "Olena Kovalenko Sr", "Марта Іванівна Шевчук"],
        [59, 41, 26, 25, 52, 36, 27, 39, 48, 7, 12],
    ),
    IndexedField.PHONE: (
        ["+7 999 123-45-67", "+380 50 111 2233", "+375 29 765 4321", "+49 30 1234567",
         "+7 912 000 1122", "+380 67 555 0101", "+995 555 12 34 56", "+48 600 700 800"],
        [2, 0, 1, 0, 0, 0, 1, 1],
    ),
    IndexedField.HANDLE: (
        ["@kirill_v", "olesya.k", "@ivan1990", "marta_s", "@bogdan", "petro.m", "@anna_k",
         "dmytro77"],
        [1, 1, 1, 1, 3, 3, 1, 1],
    ),
    IndexedField.DATE_OF_BIRTH: (
        [date(1990, 1, 2), date(1985, 5, 17), date(2001, 12, 31), date(1979, 7, 7),
         date(1995, 3, 3), date(2003, 8, 19), date(1988, 11, 11), date(1999, 9, 9)],
        [3, 1, 0, 3, 3, 3, 2, 3],
    ),
}  # fmt: skip


def test_indexes_stored_by_an_earlier_release_still_match() -> None:
    """Known answers: a change to a field's key label (or one key for every field, which
    would let equal values of two fields be told apart from the index table alone) or to
    the truncation makes every stored index miss, and searches find nothing."""
    keyring = Keyring()
    keyring.unseal_with_root(bytes(range(32)))
    for field, (values, indexes) in _KNOWN.items():
        assert [blind_index(keyring, field, v) for v in values] == indexes, field


def test_the_coincidence_budget_counts_the_fields_asked_for() -> None:
    assert coincidence_count(DESIGN_POPULATION, [IndexedField.NAME]) == DESIGN_POPULATION / 64
    assert coincidence_count(0, [IndexedField.PHONE]) == 1 / 4  # an empty population is one
