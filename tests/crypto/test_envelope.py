"""Per-case DEKs and field encryption: every misplaced, altered or foreign ciphertext fails."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, MetaData, Table, Uuid, insert, select
from sqlalchemy.orm import Session

from app.crypto import aead
from app.crypto.aead import DecryptionFailed
from app.crypto.ciphertext import Ciphertext, Encrypted, PlaintextRefused
from app.crypto.envelope import (
    OpenDataKey,
    create_data_key,
    decrypt_field,
    decrypt_json,
    decrypt_text,
    destroy_data_key,
    encrypt_field,
    encrypt_json,
    encrypt_text,
    field_aad,
    open_data_key,
)
from app.crypto.errors import KeyUnavailable
from app.crypto.keyring import Keyring
from app.crypto.models import DataKey
from app.errors import Sealed

NAME = "Кирилл Вымышленный"


def test_text_round_trip(dek: OpenDataKey) -> None:
    ct = encrypt_text(dek, field="legal_name", value=NAME)
    assert decrypt_text(dek, field="legal_name", ciphertext=ct) == NAME


def test_same_value_twice_differs(dek: OpenDataKey) -> None:
    first = encrypt_text(dek, field="legal_name", value=NAME)
    second = encrypt_text(dek, field="legal_name", value=NAME)
    assert first != second
    assert first.data[1:13] != second.data[1:13]  # fresh nonces


def test_ciphertext_moved_to_another_column_fails(dek: OpenDataKey) -> None:
    ct = encrypt_text(dek, field="legal_name", value=NAME)
    with pytest.raises(DecryptionFailed):
        decrypt_text(dek, field="family", ciphertext=ct)


def test_ciphertext_moved_to_another_row_fails(dek: OpenDataKey) -> None:
    alias_a, alias_b = uuid.uuid4(), uuid.uuid4()
    ct = encrypt_text(dek, field="alias", value=NAME, row_id=alias_a)
    assert decrypt_text(dek, field="alias", ciphertext=ct, row_id=alias_a) == NAME
    with pytest.raises(DecryptionFailed):
        decrypt_text(dek, field="alias", ciphertext=ct, row_id=alias_b)
    with pytest.raises(DecryptionFailed):
        decrypt_text(dek, field="alias", ciphertext=ct)


def test_ciphertext_moved_to_another_case_fails(
    db: Session, keyring: Keyring, dek: OpenDataKey
) -> None:
    other_case = uuid.uuid4()
    row = create_data_key(db, keyring=keyring, owner_id=other_case)
    other = open_data_key(db, keyring=keyring, key_id=row.id, owner_id=other_case)
    ct = encrypt_text(dek, field="legal_name", value=NAME)
    with pytest.raises(DecryptionFailed):
        decrypt_text(other, field="legal_name", ciphertext=ct)


def test_every_flipped_bit_fails(dek: OpenDataKey) -> None:
    ct = encrypt_text(dek, field="unit", value="в/ч 00000").data
    for position in range(len(ct)):
        for bit in range(8):
            forged = bytearray(ct)
            forged[position] ^= 1 << bit
            with pytest.raises(DecryptionFailed):
                decrypt_field(dek, field="unit", ciphertext=Ciphertext(bytes(forged)))


def test_truncated_or_empty_ciphertext_fails(dek: OpenDataKey) -> None:
    ct = encrypt_text(dek, field="unit", value="x").data
    for forged in (b"", ct[:1], ct[:20], ct[:-1]):
        with pytest.raises(DecryptionFailed):
            decrypt_field(dek, field="unit", ciphertext=Ciphertext(forged))


def test_length_is_padded_to_blocks(dek: OpenDataKey) -> None:
    short = encrypt_text(dek, field="f", value="Ян")
    longer = encrypt_text(dek, field="f", value="Ян Вымы")  # 4 and 13 UTF-8 bytes
    assert len(short) == len(longer)


def test_json_round_trip_of_structured_fields(dek: OpenDataKey) -> None:
    contacts = [
        {"channel": "signal", "value": "@canary_person"},
        {"channel": "phone", "value": "+7"},
    ]
    ct = encrypt_json(dek, field="contacts", value=contacts)
    assert decrypt_json(dek, field="contacts", ciphertext=ct) == contacts


def test_a_json_field_is_bound_to_its_row(dek: OpenDataKey) -> None:
    """A revision's changes (JSON) are sealed to the revision's row: copied onto another
    revision of the same case, or read without its row, they fail."""
    rev_a, rev_b = uuid.uuid4(), uuid.uuid4()
    changes = {"legal_name": NAME}
    ct = encrypt_json(dek, field="changes", value=changes, row_id=rev_a)
    assert decrypt_json(dek, field="changes", ciphertext=ct, row_id=rev_a) == changes
    for elsewhere in (rev_b, None):
        with pytest.raises(DecryptionFailed):
            decrypt_json(dek, field="changes", ciphertext=ct, row_id=elsewhere)
    unbound = encrypt_json(dek, field="changes", value=changes)
    with pytest.raises(DecryptionFailed):
        decrypt_json(dek, field="changes", ciphertext=unbound, row_id=rev_a)


def test_a_json_field_is_stored_as_canonical_json(dek: OpenDataKey) -> None:
    """One value, one plaintext: keys sorted, no spaces, text as UTF-8 rather than \\u
    escapes (so the padded length follows the value, not the order it was built in)."""
    value = {"value": NAME, "channel": "signal", "tags": [1, 2]}
    ct = encrypt_json(dek, field="contacts", value=value)
    plaintext = decrypt_text(dek, field="contacts", ciphertext=ct)
    assert plaintext == '{"channel":"signal","tags":[1,2],"value":"' + NAME + '"}'


def test_a_field_that_fails_to_decrypt_is_named(dek: OpenDataKey) -> None:
    """The failure says which field would not open (the operator's first question); a wrong
    format byte and a failed tag alike."""
    ct = encrypt_text(dek, field="legal_name", value=NAME).data
    wrong_format = bytes([0x02]) + ct[1:]
    flipped_tag = ct[:-1] + bytes([ct[-1] ^ 1])
    for forged in (wrong_format, flipped_tag):
        with pytest.raises(DecryptionFailed, match=r"^field legal_name failed"):
            decrypt_text(dek, field="legal_name", ciphertext=Ciphertext(forged))


def test_an_authenticated_but_badly_padded_field_is_refused_by_name(dek: OpenDataKey) -> None:
    """A ciphertext that authenticates but does not unpad (only a writer bug can make one)
    fails like any other, naming the field: never returned with its padding."""
    aad = field_aad(owner_id=dek.owner_id, field="unit", row_id=None)
    forged = bytes([0x01]) + aead.seal(dek.cipher(), b"unpadded", aad)
    with pytest.raises(DecryptionFailed, match=r"^field unit failed"):
        decrypt_field(dek, field="unit", ciphertext=Ciphertext(forged))


@pytest.mark.parametrize("name", ["", "x" * 65, "имя", "a\x00b", "\x00"])
def test_a_field_name_that_is_not_short_ascii_is_refused(dek: OpenDataKey, name: str) -> None:
    """Field names go into the associated data as bytes: empty, longer than 64, non-ASCII or
    holding a NUL, they are refused before anything is sealed."""
    with pytest.raises(ValueError, match=r"^field names are short, non-empty ASCII$"):
        encrypt_text(dek, field=name, value=NAME)


def test_a_field_name_of_64_characters_is_accepted(dek: OpenDataKey) -> None:
    name = "f" * 64
    ct = encrypt_text(dek, field=name, value=NAME)
    assert decrypt_text(dek, field=name, ciphertext=ct) == NAME


def test_sealing_stops_an_opened_key(dek: OpenDataKey, keyring: Keyring) -> None:
    ct = encrypt_text(dek, field="f", value=NAME)
    keyring.seal()
    with pytest.raises(Sealed):
        decrypt_text(dek, field="f", ciphertext=ct)
    with pytest.raises(Sealed):
        encrypt_text(dek, field="f", value=NAME)


def test_sealed_keyring_opens_no_key(db: Session, keyring: Keyring, owner_id: uuid.UUID) -> None:
    row = create_data_key(db, keyring=keyring, owner_id=owner_id)
    keyring.seal()
    with pytest.raises(Sealed):
        open_data_key(db, keyring=keyring, key_id=row.id, owner_id=owner_id)


def test_wrapped_dek_claimed_by_another_owner_fails(
    db: Session, keyring: Keyring, owner_id: uuid.UUID
) -> None:
    row = create_data_key(db, keyring=keyring, owner_id=owner_id)
    with pytest.raises(DecryptionFailed):
        open_data_key(db, keyring=keyring, key_id=row.id, owner_id=uuid.uuid4())
    # Even rewriting the owner column in the database does not make the wrapped key open.
    row.owner_id = stranger = uuid.uuid4()
    db.flush()
    with pytest.raises(DecryptionFailed):
        open_data_key(db, keyring=keyring, key_id=row.id, owner_id=stranger)


def test_wrapped_dek_copied_to_another_row_fails(
    db: Session, keyring: Keyring, owner_id: uuid.UUID
) -> None:
    a = create_data_key(db, keyring=keyring, owner_id=owner_id)
    b = create_data_key(db, keyring=keyring, owner_id=owner_id)
    b.wrapped = a.wrapped
    db.flush()
    with pytest.raises(DecryptionFailed):
        open_data_key(db, keyring=keyring, key_id=b.id, owner_id=owner_id)


def test_wrong_root_key_opens_nothing(db: Session, keyring: Keyring, owner_id: uuid.UUID) -> None:
    row = create_data_key(db, keyring=keyring, owner_id=owner_id)
    impostor = Keyring()
    impostor.unseal_with_root(b"\x01" * 32)
    with pytest.raises(DecryptionFailed):
        open_data_key(db, keyring=impostor, key_id=row.id, owner_id=owner_id)


def test_destroyed_key_cannot_be_opened(db: Session, keyring: Keyring, owner_id: uuid.UUID) -> None:
    row = create_data_key(db, keyring=keyring, owner_id=owner_id)
    destroy_data_key(db, key_id=row.id)
    stored = db.get_one(DataKey, row.id)
    assert stored.wrapped is None
    assert stored.destroyed_at is not None
    with pytest.raises(KeyUnavailable):
        open_data_key(db, keyring=keyring, key_id=row.id, owner_id=owner_id)


def test_repr_never_shows_content(dek: OpenDataKey) -> None:
    ct = encrypt_text(dek, field="f", value=NAME)
    assert repr(ct) == f"Ciphertext(<{len(ct)} bytes>)"
    assert "hidden" in repr(dek)
    assert NAME not in repr(ct) + str(ct)


_probe = Table(
    "encrypted_probe",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("secret", Encrypted, nullable=True),
)


@pytest.mark.parametrize("plaintext", ["Кирилл", b"raw bytes", 42])
def test_encrypted_column_refuses_plaintext(db: Session, plaintext: object) -> None:
    _probe.create(db.connection())
    with pytest.raises(Exception, match="refused") as info:
        db.execute(insert(_probe).values(id=uuid.uuid4(), secret=plaintext))
    assert isinstance(info.value.__cause__ or info.value, PlaintextRefused)


def test_encrypted_column_stores_and_returns_ciphertext(db: Session, dek: OpenDataKey) -> None:
    _probe.create(db.connection())
    ct = encrypt_text(dek, field="secret", value=NAME)
    row_id = uuid.uuid4()
    db.execute(insert(_probe).values(id=row_id, secret=ct))
    loaded = db.execute(select(_probe.c.secret).where(_probe.c.id == row_id)).scalar_one()
    assert isinstance(loaded, Ciphertext)
    assert decrypt_text(dek, field="secret", ciphertext=loaded) == NAME


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_hypothesis = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_hypothesis
@given(value=st.binary(max_size=300), field=st.sampled_from(["legal_name", "unit", "notes"]))
def test_bytes_round_trip_property(dek: OpenDataKey, value: bytes, field: str) -> None:
    ct = encrypt_field(dek, field=field, value=value)
    assert decrypt_field(dek, field=field, ciphertext=ct) == value
    body = len(ct) - 1 - 12 - 16  # format byte, nonce, tag
    assert body % 16 == 0
    assert body > len(value)


@_hypothesis
@given(value=st.text(max_size=200))
def test_text_round_trip_property(dek: OpenDataKey, value: str) -> None:
    ct = encrypt_text(dek, field="intake_notes", value=value)
    assert decrypt_text(dek, field="intake_notes", ciphertext=ct) == value


@_hypothesis
@given(value=_json)
def test_json_round_trip_property(dek: OpenDataKey, value: object) -> None:
    ct = encrypt_json(dek, field="protection", value=value)
    assert decrypt_json(dek, field="protection", ciphertext=ct) == value
