"""Key-handling edges found by mutation testing (tests/MUTATION.md): rotation's rewrap refuses
a wrapped key whose header lies, every refusal names what failed, the check value tells one
root key from another, and an unseal hook registered is a hook that runs."""

from __future__ import annotations

import logging
import secrets
import stat
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import SealMode
from app.crypto import aead, stream
from app.crypto.aead import DecryptionFailed
from app.crypto.ciphertext import Ciphertext
from app.crypto.envelope import (
    OpenDataKey,
    create_data_key,
    decrypt_field,
    destroy_data_key,
    open_data_key,
    rewrap_dek,
    unwrap_dek,
    wrap_dek,
)
from app.crypto.errors import KeyUnavailable, UnsealRejected
from app.crypto.keyring import (
    Keyring,
    SealStatus,
    check_value_for,
    create_dev_key_file,
    read_dev_key_file,
)
from app.crypto.keystore import create_kek_version, initialise_keyring
from app.crypto.models import DataKey, KeyEncryptionKey, KeyringState
from app.crypto.rotation import rotate
from app.crypto.system_keys import BREAK_GLASS_OWNER, open_totp_secret, system_data_key
from app.db import transaction
from app.errors import Sealed
from tests.crypto.conftest import CHEAP_ARGON2
from tests.crypto.test_keyring import PASSPHRASE

FAILED = r"^data key failed to authenticate"


@pytest.fixture
def wrapped() -> dict[str, object]:
    """A DEK wrapped under KEK version 7, as rotation finds it in the table."""
    old, new = AESGCM(aead.new_key()), AESGCM(aead.new_key())
    key_id, owner_id, dek = uuid.uuid4(), uuid.uuid4(), aead.new_key()
    blob = wrap_dek(old, dek=dek, key_id=key_id, owner_id=owner_id, version=7)
    return {
        "old": old,
        "new": new,
        "key_id": key_id,
        "owner_id": owner_id,
        "dek": dek,
        "blob": blob,
    }


def _rewrap(w: dict[str, object], blob: bytes, from_version: int = 7) -> bytes:
    ids = w["key_id"].bytes + w["owner_id"].bytes  # type: ignore[attr-defined]
    return rewrap_dek(
        w["old"],  # type: ignore[arg-type]
        w["new"],  # type: ignore[arg-type]
        wrapped=blob,
        ids=ids,
        from_version=from_version,
        to_version=8,
    )


def test_rewrap_moves_the_key_to_the_new_version_only(wrapped: dict[str, object]) -> None:
    moved = _rewrap(wrapped, wrapped["blob"])  # type: ignore[arg-type]
    row = DataKey(id=wrapped["key_id"], owner_id=wrapped["owner_id"], kek_version=8, wrapped=moved)
    assert unwrap_dek(wrapped["new"], row) == wrapped["dek"]  # type: ignore[arg-type]
    with pytest.raises(DecryptionFailed, match=FAILED):
        unwrap_dek(wrapped["old"], row)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("what", "position", "value"),
    [
        ("a header naming another KEK version", 4, 8),
        ("a foreign format byte", 0, 0x02),
    ],
)
def test_rewrap_refuses_a_header_that_lies(
    wrapped: dict[str, object], what: str, position: int, value: int
) -> None:
    """The ciphertext itself is intact: only the header was rewritten. Rotation must refuse
    it rather than carry a row it cannot vouch for into the new version."""
    blob = bytearray(wrapped["blob"])  # type: ignore[arg-type]
    blob[position] = value
    with pytest.raises(DecryptionFailed, match=FAILED):
        _rewrap(wrapped, bytes(blob))


def test_rewrap_of_a_tampered_key_names_the_data_key(wrapped: dict[str, object]) -> None:
    blob = bytearray(wrapped["blob"])  # type: ignore[arg-type]
    blob[-1] ^= 1
    with pytest.raises(DecryptionFailed, match=FAILED):
        _rewrap(wrapped, bytes(blob))
    with pytest.raises(DecryptionFailed, match=FAILED):
        _rewrap(wrapped, bytes(blob[:4]))


def test_shredding_a_key_that_does_not_exist_says_so(db: Session) -> None:
    with pytest.raises(KeyUnavailable, match=r"^no such data key$"):
        destroy_data_key(db, key_id=uuid.uuid4())


def test_the_check_value_tells_one_root_from_another(keyring: Keyring, root_key: bytes) -> None:
    assert keyring.check_value() == check_value_for(root_key)
    assert keyring.check_value() != check_value_for(secrets.token_bytes(32))
    assert len(keyring.check_value()) == 32
    keyring.seal()
    with pytest.raises(Sealed):
        keyring.check_value()


def test_an_unseal_hook_runs_with_the_unsealing_session(db: Session) -> None:
    """A hook is how a process learns of an unseal (e.g. which seals it has seen); a hook
    lost on registration fails silently, since unseal_verified logs a failing hook."""
    root = secrets.token_bytes(32)
    ring = Keyring()
    initialise_keyring(db, keyring=ring, mode=SealMode.DEV, root=root)
    ring.seal()
    seen: list[Session] = []
    ring.on_unseal(seen.append)
    ring.unseal_verified(db, root)
    assert seen == [db]


@pytest.mark.parametrize(
    "column", ["wrapped_root", "kdf_salt", "kdf_memory_kib", "kdf_time_cost", "kdf_parallelism"]
)
def test_a_passphrase_state_missing_a_part_is_refused_as_such(db: Session, column: str) -> None:
    """A damaged or tampered keyring row (one of the wrapped root and its Argon2 parameters
    gone) is refused, naming the problem: never unwrapped with a default in the gap."""
    ring = Keyring()
    initialise_keyring(
        db,
        keyring=ring,
        mode=SealMode.PASSPHRASE,
        root=secrets.token_bytes(32),
        passphrase_text=PASSPHRASE,
        argon2=CHEAP_ARGON2,
    )
    ring.seal()
    state = db.get_one(KeyringState, 1)
    setattr(state, column, None)
    db.flush()
    with pytest.raises(KeyUnavailable, match=r"^the keyring state has no wrapped root key$"):
        ring.submit_unseal_key(db, PASSPHRASE)
    assert ring.sealed


def test_a_dev_key_file_gets_a_private_folder_made_as_needed(tmp_path: Path) -> None:
    """The dev key sits beside the data: the folder made for it is the owner's alone, and
    a path whose parents do not exist yet (a fresh ./var/keys/...) still works."""
    key_file = tmp_path / "var" / "keys" / "root.key"
    create_dev_key_file(key_file)
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == 32


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_dev_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    """Whoever else can read the key file can decrypt every case: refuse to unseal from it,
    saying which file, its mode and the fix."""
    key_file = tmp_path / "root.key"
    create_dev_key_file(key_file)
    key_file.chmod(mode)
    with pytest.raises(PermissionError, match=f"readable by others \\(mode {mode:o}\\); chmod 600"):
        read_dev_key_file(key_file)
    key_file.chmod(0o600)
    assert len(read_dev_key_file(key_file)) == 32


def test_a_short_dev_key_file_is_refused_naming_it(tmp_path: Path) -> None:
    key_file = tmp_path / "root.key"
    create_dev_key_file(key_file)
    key_file.write_bytes(key_file.read_bytes()[:31])
    with pytest.raises(ValueError, match=r"root.key does not hold a 32-byte root key$"):
        read_dev_key_file(key_file)


def test_the_seal_status_before_and_after_init(db: Session) -> None:
    """What anyone may read: before `haven init`, nothing begun and one key wanted; a
    passphrase keyring wants one key too (only Shamir asks for K shares)."""
    ring = Keyring()
    assert ring.status(db) == SealStatus(True, False, None, 0, 1, None)
    initialise_keyring(
        db,
        keyring=ring,
        mode=SealMode.PASSPHRASE,
        root=secrets.token_bytes(32),
        passphrase_text=PASSPHRASE,
        argon2=CHEAP_ARGON2,
    )
    ring.seal()
    assert ring.status(db) == SealStatus(True, True, "passphrase", 0, 1, None)
    assert ring.submit_unseal_key(db, PASSPHRASE) == SealStatus(
        False, True, "passphrase", 0, 1, None
    )
    # A key given to an unsealed keyring changes nothing and says so.
    assert ring.submit_unseal_key(db, "anything at all") == SealStatus(
        False, True, "passphrase", 0, 1, None
    )


def test_dev_mode_without_a_key_file_says_what_is_missing(db: Session) -> None:
    ring = Keyring()
    initialise_keyring(db, keyring=ring, mode=SealMode.DEV, root=secrets.token_bytes(32))
    ring.seal()
    with pytest.raises(UnsealRejected) as refused:
        ring.submit_unseal_key(db, "a passphrase")
    assert refused.value.message == "Dev mode unseals from its key file; none is configured."
    assert ring.sealed


def test_a_retired_kek_is_gone_from_the_running_process_too(
    committed: tuple[Engine, sessionmaker[Session]],
) -> None:
    """Rotation erases the old KEK in the database; the process that rotated had it cached.
    A key wrapped under the old version (say, a row put back from an old backup) must not
    open through that cache."""
    _engine, factory = committed
    keyring = Keyring()
    owner = uuid.uuid4()
    with transaction(factory) as s:
        initialise_keyring(s, keyring=keyring, mode=SealMode.DEV, root=secrets.token_bytes(32))
        row = create_data_key(s, keyring=keyring, owner_id=owner)
        old_wrapped, old_id = row.wrapped, row.id
        open_data_key(s, keyring=keyring, key_id=row.id, owner_id=owner)  # KEK 1 now cached
    assert rotate(factory, keyring=keyring).retired == [1]
    with transaction(factory) as s:
        with pytest.raises(KeyUnavailable, match="KEK version 1 is retired or unknown"):
            keyring.kek(s, 1)
        put_back = s.get_one(DataKey, old_id)
        put_back.wrapped, put_back.kek_version = old_wrapped, 1
        s.flush()
        with pytest.raises(KeyUnavailable):
            open_data_key(s, keyring=keyring, key_id=old_id, owner_id=owner)


def test_a_foreign_root_is_refused_in_so_many_words(db: Session) -> None:
    ring = Keyring()
    initialise_keyring(db, keyring=ring, mode=SealMode.DEV, root=secrets.token_bytes(32))
    ring.seal()
    with pytest.raises(UnsealRejected) as refused:
        ring.unseal_verified(db, secrets.token_bytes(32))
    assert refused.value.message == "This key does not belong to this installation."
    assert ring.sealed


def test_a_failing_unseal_hook_leaves_the_unseal_standing_and_says_so(
    db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator's trail: the unseal is logged, and a hook that fails is logged as such
    (with its traceback) while the keyring stays unsealed and later hooks still run."""
    root = secrets.token_bytes(32)
    ring = Keyring()
    initialise_keyring(db, keyring=ring, mode=SealMode.DEV, root=root)
    ring.seal()

    def broken(_: Session) -> None:
        raise RuntimeError("hook bug")

    later: list[Session] = []
    ring.on_unseal(broken)
    ring.on_unseal(later.append)
    with caplog.at_level(logging.INFO, logger="haven.keyring"):
        ring.unseal_verified(db, root)
    assert not ring.sealed
    assert later == [db]
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "haven.keyring"]
    assert said == [(logging.INFO, "keyring unsealed"), (logging.ERROR, "an unseal hook failed")]
    assert caplog.records[-1].exc_info is not None


# Written by this code on 6 December 2026 and kept as bytes: what is stored today must open
# tomorrow. Root key 00..1f; KEK version 3 = 20..3f; DEK 40..5f of key ...0a, case ...0b;
# the field legal_name of row ...0c.
_V_ROOT, _V_KEK, _V_DEK = bytes(range(32)), bytes(range(32, 64)), bytes(range(64, 96))
_V_KEY_ID = uuid.UUID("00000000-0000-4000-8000-00000000000a")
_V_OWNER = uuid.UUID("00000000-0000-4000-8000-00000000000b")
_V_ROW = uuid.UUID("00000000-0000-4000-8000-00000000000c")
_V_WRAPPED_KEK = bytes.fromhex(
    "0135f86f36091715fbb38daf3a31013ec23535da91678119f57e33375f2314389e1eca3fa35d5116204b74b1"
    "b02424f5bb8055b50611520a47689c08ea"
)
_V_WRAPPED_DEK = bytes.fromhex(
    "01000000037848e3196996cc461160959b2457d258fd92757c0d4bf85bd2289cbbd52e81a87dab4a192fb2bd"
    "c0d387e071f7d82ede7dd2f95753244ba197523df0"
)
_V_FIELD = bytes.fromhex(
    "01f977ca259934acdf8b16fa2edc9b337a46233a607f3639a600c115c460864f44f3daab01c143b757dab1af"
    "aea4edf1e4c9c91a29f1c49b548fa9d075b3501347e2f4b09415cc6a6a7d82325b"
)


def test_keys_and_fields_stored_by_an_earlier_release_still_open(db: Session) -> None:
    """Known answers for the three layers (root -> KEK, KEK -> DEK, DEK -> field): a change to
    any associated data (its label, the packing of a version, the order of the ids) makes
    every key and field already stored unreadable, and round trips alone cannot see it."""
    keyring = Keyring()
    keyring.unseal_with_root(_V_ROOT)
    db.add(KeyEncryptionKey(version=3, state="current", wrapped=_V_WRAPPED_KEK))
    db.flush()
    kek = keyring.kek(db, 3)
    row = DataKey(id=_V_KEY_ID, owner_id=_V_OWNER, kek_version=3, wrapped=_V_WRAPPED_DEK)
    assert unwrap_dek(kek, row) == _V_DEK
    dek = OpenDataKey(
        key_id=_V_KEY_ID, owner_id=_V_OWNER, cipher=aead.aesgcm(_V_DEK), keyring=keyring
    )
    plain = decrypt_field(dek, field="legal_name", ciphertext=Ciphertext(_V_FIELD), row_id=_V_ROW)
    assert plain.decode() == "Кирилл Вымышленный"


_V_USER = uuid.UUID("00000000-0000-4000-8000-00000000000d")
_V_BLOB = uuid.UUID("00000000-0000-4000-8000-00000000000e")
# A TOTP secret sealed under _V_ROOT for _V_USER, and a one-chunk document under _V_DEK for
# _V_OWNER's blob _V_BLOB, by the release of 2026-12-07.
_V_TOTP = bytes.fromhex(
    "010f84697e317c56c7de3e29151fe2b850ed6f949dfab70c3d31aed5350975dd5519cec1b6f2d513050539"
    "951cbf5db84cdb8b93d58b1b324771d31db2abc2b427b27039bc45f7f49bbca2c2dc"
)
_V_DOCUMENT = bytes.fromhex(
    "485642014d1d900d06a0da4d2088610d200d6115256c2dbe4bff8224ac0e20e7022ce667ad1b5ec556964"
    "2ed977b82ea8b2735d9acebdeb7d84d"
)


def test_totp_secrets_and_documents_stored_by_an_earlier_release_still_open() -> None:
    """Known answers for the two other layers under the root: an account's TOTP secret (its
    key derived from the root under its own label) and a stored document (each chunk's
    associated data: label, owner, blob, place, whether it ends the stream). A change to
    either would lock every enrolled person out, or make every stored document unreadable;
    round trips cannot see it."""
    keyring = Keyring()
    keyring.unseal_with_root(_V_ROOT)
    secret = open_totp_secret(keyring, user_id=_V_USER, sealed=Ciphertext(_V_TOTP))
    assert secret == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    dek = OpenDataKey(
        key_id=_V_KEY_ID, owner_id=_V_OWNER, cipher=aead.aesgcm(_V_DEK), keyring=keyring
    )
    plain = b"".join(stream.decrypt_stream(dek, _V_BLOB, [_V_DOCUMENT]))
    assert plain == b"synthetic summons, page 1\n"
    # A chunk's associated data, byte by byte (a chunk that is not the last says so too).
    assert stream.chunk_aad(owner_id=_V_OWNER, blob_id=_V_BLOB, index=1, last=False) == (
        b"haven/blob/v1" + _V_OWNER.bytes + _V_BLOB.bytes + bytes(7) + b"\x01" + b"\x00"
    )


def test_a_damaged_document_is_refused_naming_what_failed(keyring: Keyring) -> None:
    dek = OpenDataKey(
        key_id=_V_KEY_ID, owner_id=_V_OWNER, cipher=aead.aesgcm(_V_DEK), keyring=keyring
    )
    with pytest.raises(DecryptionFailed, match=r"^attachment failed to authenticate"):
        list(stream.decrypt_stream(dek, _V_BLOB, [b"XXXX" + _V_DOCUMENT[4:]]))
    flipped = bytearray(_V_DOCUMENT)
    flipped[-1] ^= 1
    with pytest.raises(DecryptionFailed, match=r"^attachment chunk failed to authenticate"):
        list(stream.decrypt_stream(dek, _V_BLOB, [bytes(flipped)]))


def test_a_data_key_row_marked_destroyed_or_emptied_opens_nothing(
    db: Session, keyring: Keyring
) -> None:
    """Shredding empties `wrapped` and stamps `destroyed_at`; either alone (a row whose bytes
    came back from a backup, or lost them without the stamp) means the key is gone."""
    owner = uuid.uuid4()
    for destroyed, keep_bytes in ((True, True), (False, False)):
        row = create_data_key(db, keyring=keyring, owner_id=owner)
        if destroyed:
            row.destroyed_at = row.created_at
        if not keep_bytes:
            row.wrapped = None
        db.flush()
        with pytest.raises(KeyUnavailable, match=r"^the data key was destroyed$"):
            open_data_key(db, keyring=keyring, key_id=row.id, owner_id=owner)


def test_a_data_key_refused_for_its_header_or_owner_says_data_key(
    db: Session, keyring: Keyring
) -> None:
    """A wrapped DEK whose format byte or KEK version header was changed, or opened for
    another case, is refused as the data key failing (the format byte is not part of the
    AEAD's associated data: only this check stops a changed one)."""
    owner = uuid.uuid4()
    row = create_data_key(db, keyring=keyring, owner_id=owner)
    good = row.wrapped
    assert good is not None
    with pytest.raises(DecryptionFailed, match=FAILED):
        open_data_key(db, keyring=keyring, key_id=row.id, owner_id=uuid.uuid4())
    row.wrapped = bytes([0x02]) + good[1:]
    db.flush()
    with pytest.raises(DecryptionFailed, match=FAILED):
        open_data_key(db, keyring=keyring, key_id=row.id, owner_id=owner)
    kek = keyring.kek(db, row.kek_version)
    lying = DataKey(id=row.id, owner_id=owner, kek_version=row.kek_version + 1, wrapped=good)
    with pytest.raises(DecryptionFailed, match=FAILED):
        unwrap_dek(kek, lying)
    with pytest.raises(KeyUnavailable, match=r"^no such data key$"):
        open_data_key(db, keyring=keyring, key_id=uuid.uuid4(), owner_id=owner)


def test_a_damaged_kek_row_is_refused_naming_the_kek(db: Session, keyring: Keyring) -> None:
    version = create_kek_version(db, keyring=keyring)
    row = db.get_one(KeyEncryptionKey, version)
    good = row.wrapped
    assert good is not None
    row.wrapped = bytes([0x02]) + good[1:]
    db.flush()
    with pytest.raises(KeyUnavailable, match=rf"^KEK version {version} has an unknown format$"):
        keyring.kek(db, version)
    row.wrapped = good[:-1] + bytes([good[-1] ^ 1])
    db.flush()
    with pytest.raises(DecryptionFailed, match=r"^KEK failed to authenticate"):
        keyring.kek(db, version)


def test_a_key_opened_before_a_seal_stays_dead_after_unsealing_again(
    db: Session, keyring: Keyring, root_key: bytes
) -> None:
    """Each seal starts a new epoch; a DEK opened in an earlier one never works again, however
    many times the keyring is unsealed since (not only while it is sealed): keys opened in
    the first epoch and in a later one alike."""
    owner = uuid.uuid4()
    key_id = create_data_key(db, keyring=keyring, owner_id=owner).id
    for _ in range(3):
        dek = open_data_key(db, keyring=keyring, key_id=key_id, owner_id=owner)
        keyring.seal()
        keyring.unseal_with_root(root_key)
        with pytest.raises(Sealed):
            dek.cipher()


@pytest.mark.parametrize("size", [0, 31, 33])
def test_a_root_key_of_the_wrong_size_is_refused_saying_so(size: int) -> None:
    with pytest.raises(ValueError, match=r"^root key must be 32 bytes$"):
        Keyring().unseal_with_root(secrets.token_bytes(size))


def test_a_kek_unwrapped_across_a_seal_is_not_cached(
    db: Session, keyring: Keyring, root_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seal (and a new unseal) while a KEK is being unwrapped: the KEK unwrapped before the
    seal is not put in the new epoch's cache. Seen from outside: once the KEK is retired in
    the database, asking for it again fails instead of answering from memory."""
    version = create_kek_version(db, keyring=keyring)
    real = aead.unseal

    def seal_midway(*args: object, **kwargs: object) -> bytes:
        opened = real(*args, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(aead, "unseal", real)
        keyring.seal()
        keyring.unseal_with_root(root_key)
        return opened

    monkeypatch.setattr(aead, "unseal", seal_midway)
    keyring.kek(db, version)
    db.get_one(KeyEncryptionKey, version).wrapped = None
    db.flush()
    with pytest.raises(KeyUnavailable, match="retired or unknown"):
        keyring.kek(db, version)


def test_a_kek_is_unwrapped_once_and_served_from_memory_until_a_seal(
    db: Session, keyring: Keyring, root_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every data key opened goes through its KEK: it is unwrapped from its row once, then
    the same cipher is served without reading the row again, until a seal forgets it."""
    version = create_kek_version(db, keyring=keyring)
    unwrapped: list[str] = []
    real = aead.unseal

    def counting(*args: object, **kwargs: object) -> bytes:
        unwrapped.append(str(kwargs.get("what")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aead, "unseal", counting)
    first = keyring.kek(db, version)
    assert keyring.kek(db, version) is first
    assert unwrapped == ["KEK"]
    keyring.seal()
    keyring.unseal_with_root(root_key)
    again = keyring.kek(db, version)
    assert again is not first
    assert keyring.kek(db, version) is again
    assert unwrapped == ["KEK", "KEK"]


def test_a_system_owners_key_is_its_own_the_same_each_time_and_never_a_destroyed_one(
    db: Session, keyring: Keyring
) -> None:
    """The key break-glass reasons are sealed under: created once for its system owner
    (never another owner's key, though a case's key is older), the same one each time
    after, and a new one once it is destroyed."""
    create_data_key(db, keyring=keyring, owner_id=uuid.uuid4())  # a case's key, older
    db.flush()
    first = system_data_key(db, keyring=keyring, owner_id=BREAK_GLASS_OWNER)
    assert first.owner_id == BREAK_GLASS_OWNER
    assert system_data_key(db, keyring=keyring, owner_id=BREAK_GLASS_OWNER).key_id == first.key_id
    destroy_data_key(db, key_id=first.key_id)
    db.flush()
    after = system_data_key(db, keyring=keyring, owner_id=BREAK_GLASS_OWNER)
    assert after.key_id != first.key_id
    assert after.owner_id == BREAK_GLASS_OWNER
