"""The words an operator or a developer is told when the key handling refuses something,
and what `haven init` hands back. No key decision rests on these texts (each refusal is
tested as a refusal elsewhere), but they are what a person reads at a terminal during a
ceremony or in a log at 3 a.m.: each says what is wrong and names no secret. Written out
here in full, so a changed word fails by name."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from app.config import SealMode
from app.crypto import aead, keystore
from app.crypto.ciphertext import Ciphertext
from app.crypto.keyring import Keyring
from app.crypto.normalize import normalize_date, normalize_handle, normalize_phone
from app.errors import Conflict


def _exactly(text: str) -> str:
    return f"^{re.escape(text)}$"


def test_a_second_initialisation_is_refused_in_words(db: Session) -> None:
    ring = Keyring()
    first = keystore.initialise_keyring(db, keyring=ring, mode=SealMode.DEV)
    assert (first.mode, first.kek_version, first.shares) == (SealMode.DEV, 1, [])
    with pytest.raises(Conflict, match=_exactly("The keyring is already initialised.")):
        keystore.initialise_keyring(db, keyring=Keyring(), mode=SealMode.DEV)


def test_passphrase_mode_without_a_passphrase_says_so(db: Session) -> None:
    for missing in (None, ""):
        with pytest.raises(ValueError, match=_exactly("passphrase mode needs a passphrase")):
            keystore.initialise_keyring(
                db, keyring=Keyring(), mode=SealMode.PASSPHRASE, passphrase_text=missing
            )
    assert not keystore.is_initialised(db)


def test_no_current_key_version_asks_for_a_retry(db: Session, keyring: Keyring) -> None:
    """Key versions exist but none is current (a rotation swapping it, read three times
    over): the caller is told to retry, and no version is made current behind its back."""
    keystore.create_kek_version(db, keyring=keyring)
    with pytest.raises(Conflict, match=_exactly("No current key version; retry.")):
        keystore.current_kek_version(db, keyring)


def test_a_key_of_the_wrong_size_is_named_as_such() -> None:
    for size in (0, 16, 31, 33):
        with pytest.raises(ValueError, match=_exactly("AES-256-GCM needs a 32-byte key")):
            aead.aesgcm(bytes(size))


def test_a_failed_decryption_names_what_failed_and_never_the_content() -> None:
    cipher = aead.aesgcm(aead.new_key())
    sealed = aead.seal(cipher, b"invented content", b"case:1")
    why = "failed to authenticate (wrong key, wrong context or tampered)"
    for broken, what, named in (
        (sealed[:10], {"what": "attachment"}, "attachment"),  # too short for nonce and tag
        (sealed, {"what": "attachment"}, "attachment"),  # right bytes, wrong context below
        (sealed, {}, "ciphertext"),
    ):
        with pytest.raises(aead.DecryptionFailed) as failed:
            aead.unseal(cipher, broken, b"case:2", **what)
        assert str(failed.value) == f"{named} {why}"
        assert "invented" not in str(failed.value)
    assert str(aead.DecryptionFailed()) == f"ciphertext {why}"


def test_a_ciphertext_wraps_bytes_and_says_so() -> None:
    for not_bytes in ("text", 7, None):
        with pytest.raises(TypeError, match=_exactly("Ciphertext wraps bytes")):
            Ciphertext(not_bytes)  # type: ignore[arg-type]
    assert Ciphertext(bytearray(b"\x01ab")).data == b"\x01ab"


def test_a_value_that_cannot_be_indexed_says_what_it_lacks() -> None:
    """The caller reports the field; these are the developer's words in its log."""
    with pytest.raises(ValueError, match=_exactly("a phone number needs digits")):
        normalize_phone("no digits")
    with pytest.raises(ValueError, match=_exactly("empty handle")):
        normalize_handle("@")
    with pytest.raises(ValueError, match=_exactly("unrecognised date")):
        normalize_date("31.02.1990")
