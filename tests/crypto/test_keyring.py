"""Seal modes: a passphrase, K of N shares or the dev key file bring the root key back;
anything else is refused with a clear message, and K-1 shares reveal nothing."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from shamir_mnemonic import Share
from sqlalchemy.orm import Session

from app.config import SealMode
from app.crypto import shamir
from app.crypto.errors import KeyringNotInitialised, UnsealRejected
from app.crypto.keyring import Keyring, create_dev_key_file
from app.crypto.keystore import initialise_keyring
from app.crypto.models import KeyEncryptionKey, KeyringState
from app.errors import Conflict, Sealed
from tests.crypto.conftest import CHEAP_ARGON2

PASSPHRASE = "correct horse battery staple"


def _init(db: Session, mode: SealMode, **kwargs: object) -> tuple[bytes, list[str]]:
    root = secrets.token_bytes(32)
    ring = Keyring()
    result = initialise_keyring(db, keyring=ring, mode=mode, root=root, **kwargs)  # type: ignore[arg-type]
    ring.seal()
    return root, result.shares


def test_passphrase_unseals_and_wrong_one_is_refused_clearly(db: Session) -> None:
    root, _ = _init(db, SealMode.PASSPHRASE, passphrase_text=PASSPHRASE, argon2=CHEAP_ARGON2)
    ring = Keyring()
    with pytest.raises(UnsealRejected, match="The passphrase is wrong"):
        ring.submit_unseal_key(db, "correct horse battery stapler")
    assert ring.sealed
    status = ring.submit_unseal_key(db, PASSPHRASE)
    assert not status.sealed
    assert ring.derive("x") == _derive_with(root, "x")


def test_passphrase_state_holds_no_root(db: Session) -> None:
    root, _ = _init(db, SealMode.PASSPHRASE, passphrase_text=PASSPHRASE, argon2=CHEAP_ARGON2)
    state = db.get_one(KeyringState, 1)
    stored = b"".join(
        v for v in (state.wrapped_root, state.kdf_salt, state.check_value) if v is not None
    )
    assert root not in stored
    assert state.kdf_memory_kib == CHEAP_ARGON2.memory_kib


def test_short_passphrase_is_refused(db: Session) -> None:
    with pytest.raises(ValueError, match="at least 12"):
        _init(db, SealMode.PASSPHRASE, passphrase_text="short", argon2=CHEAP_ARGON2)


def test_k_minus_one_shares_fail_and_k_succeed(db: Session) -> None:
    root, shares = _init(db, SealMode.SHAMIR, shares=5, threshold=3)
    assert len(shares) == 5
    ring = Keyring()
    for count, share in enumerate(shares[:2], start=1):
        status = ring.submit_unseal_key(db, share)
        assert status.sealed
        assert (status.progress, status.threshold, status.shares) == (count, 3, 5)
    with pytest.raises(Sealed):
        ring.derive("x")
    status = ring.submit_unseal_key(db, shares[4])
    assert not status.sealed
    assert ring.derive("x") == _derive_with(root, "x")


def test_any_k_of_n_shares_work(db: Session) -> None:
    _root, shares = _init(db, SealMode.SHAMIR, shares=4, threshold=2)
    for pair in [(0, 1), (1, 3), (2, 0)]:
        ring = Keyring()
        for index in pair:
            ring.submit_unseal_key(db, shares[index])
        assert not ring.sealed


def test_k_minus_one_shares_are_independent_of_the_root() -> None:
    # Shamir over GF(256): with threshold 2 a single share's value is uniformly random,
    # whatever the secret. Two splits of the same root give unrelated first shares, and a
    # share of an all-zero root looks no different from a share of a random one.
    root = secrets.token_bytes(32)
    first = Share.from_mnemonic(shamir.split_root(root, shares=3, threshold=2)[0]).value
    again = Share.from_mnemonic(shamir.split_root(root, shares=3, threshold=2)[0]).value
    zero = Share.from_mnemonic(shamir.split_root(bytes(32), shares=3, threshold=2)[0]).value
    assert first != again
    assert root not in (first, again)
    assert zero != bytes(32)
    assert len({first, again, zero}) == 3


def test_mistyped_share_gets_a_clear_error_without_its_words(db: Session) -> None:
    _root, shares = _init(db, SealMode.SHAMIR, shares=3, threshold=2)
    words = shares[0].split()
    swapped = words.copy()
    swapped[5], swapped[6] = swapped[6], swapped[5]
    replacement = "academic" if words[7] != "academic" else "acid"
    typo = [*words[:7], replacement, *words[8:]]
    cases = {
        " ".join(typo): "checksum",
        " ".join(swapped): "checksum",
        " ".join([*words[:4], "notaword", *words[5:]]): "word list",
        " ".join(words[:-3]): "checksum|number of words",
    }
    ring = Keyring()
    for bad, reason in cases.items():
        with pytest.raises(UnsealRejected, match=reason) as info:
            ring.submit_unseal_key(db, bad)
        assert not any(w in info.value.message.split() for w in words)
    assert ring.status(db).progress == 0


def test_share_from_another_set_and_repeated_share_are_refused(db: Session) -> None:
    _root, shares = _init(db, SealMode.SHAMIR, shares=3, threshold=2)
    foreign = shamir.split_root(secrets.token_bytes(32), shares=3, threshold=2)
    ring = Keyring()
    if shamir.identifier_of(foreign[0]) != shamir.identifier_of(shares[0]):
        with pytest.raises(UnsealRejected, match="different share set"):
            ring.submit_unseal_key(db, foreign[0])
    ring.submit_unseal_key(db, shares[0])
    with pytest.raises(UnsealRejected, match="already entered"):
        ring.submit_unseal_key(db, shares[0])
    assert ring.status(db).progress == 1


def test_sealing_forgets_entered_shares(db: Session) -> None:
    _root, shares = _init(db, SealMode.SHAMIR, shares=3, threshold=2)
    ring = Keyring()
    ring.submit_unseal_key(db, shares[0])
    ring.seal()
    assert ring.status(db).progress == 0
    assert ring.submit_unseal_key(db, shares[1]).sealed


def test_foreign_root_is_refused_by_the_check_value(db: Session, tmp_path: Path) -> None:
    _init(db, SealMode.DEV)
    ring = Keyring()
    with pytest.raises(UnsealRejected, match="does not belong"):
        ring.unseal_verified(db, secrets.token_bytes(32))
    key_file = tmp_path / "other.key"
    create_dev_key_file(key_file)
    with pytest.raises(UnsealRejected):
        ring.unseal_from_key_file(db, key_file)
    assert ring.sealed


def test_dev_mode_unseals_from_its_key_file(db: Session, tmp_path: Path) -> None:
    key_file = tmp_path / "root.key"
    create_dev_key_file(key_file)
    ring = Keyring()
    initialise_keyring(db, keyring=ring, mode=SealMode.DEV, root=key_file.read_bytes())
    ring.seal()
    assert not ring.submit_unseal_key(db, "ignored", key_file=key_file).sealed


def test_unseal_before_init_says_so(db: Session) -> None:
    with pytest.raises(KeyringNotInitialised):
        Keyring().submit_unseal_key(db, "anything")


def test_init_twice_is_refused(db: Session) -> None:
    _init(db, SealMode.DEV)
    with pytest.raises(Conflict):
        _init(db, SealMode.DEV)


def test_init_creates_a_wrapped_current_kek(db: Session) -> None:
    root, _ = _init(db, SealMode.DEV)
    kek = db.get_one(KeyEncryptionKey, 1)
    assert kek.state == "current"
    assert kek.wrapped is not None
    assert root not in kek.wrapped


def test_seal_drops_keys_and_runs_hooks(keyring: Keyring, db: Session) -> None:
    calls: list[str] = []
    keyring.on_seal(lambda: calls.append("sessions ended"))
    epoch = keyring.epoch
    keyring.seal()
    assert keyring.sealed
    assert keyring.epoch == epoch + 1
    assert calls == ["sessions ended"]
    with pytest.raises(Sealed):
        keyring.kek(db, 1)


def _derive_with(root: bytes, purpose: str) -> bytes:
    ring = Keyring()
    ring.unseal_with_root(root)
    return ring.derive(purpose)
