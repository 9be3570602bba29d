"""Signed checkpoints: the C2SP note form, the key under the keyring, when they are taken."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.audit.checkpoints import (
    CheckpointScheduler,
    checkpoint_due,
    latest_checkpoint,
    signing_key,
    verifier_key,
)
from app.audit.note import (
    SIG_PREFIX,
    Checkpoint,
    NoteError,
    open_checkpoint,
    parse_verifier_key,
    public_verifier_key,
    sign_checkpoint,
)
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import transaction, utcnow
from tests.audit.conftest import ORIGIN, AuditLog

ROOT = bytes(range(32))


def test_note_has_the_c2sp_shape() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    note = sign_checkpoint(Checkpoint("example.org/log", 7, ROOT), "example.org/log", key)
    body, sig = note.split("\n\n")
    assert body.split("\n") == ["example.org/log", "7", base64.b64encode(ROOT).decode()]
    assert sig.startswith(SIG_PREFIX + "example.org/log ")
    assert sig.endswith("\n")
    raw = base64.b64decode(sig.split(" ")[2])
    vkey = public_verifier_key("example.org/log", key)
    assert raw[:4] == vkey.key_hash
    assert len(raw) == 68
    assert parse_verifier_key(vkey.encode()) == vkey
    assert open_checkpoint(note, [vkey]) == Checkpoint("example.org/log", 7, ROOT)


def test_known_key_hash() -> None:
    # The key hash is SHA-256(name || "\n" || 0x01 || key)[:4], as C2SP signed-note defines it.
    vkey = public_verifier_key("PeterNeumann", Ed25519PrivateKey.from_private_bytes(bytes(32)))
    assert vkey.encode().startswith("PeterNeumann+")
    assert len(vkey.encode().split("+")[1]) == 8


@pytest.mark.parametrize(
    "mutate",
    [
        lambda n: n.replace("\n7\n", "\n8\n", 1),  # another size
        lambda n: n[:-6] + ("A" if n[-6] != "A" else "B") + n[-5:],  # a bit of the signature
        lambda n: n.replace("\n\n", "\n"),  # no blank line
        lambda n: n.rstrip("\n"),  # no final newline
        lambda n: n.replace(SIG_PREFIX, "- "),  # not an em dash
        lambda n: "other.org/log" + n[len("example.org/log") :],  # other origin, same key
    ],
)
def test_tampered_note_is_refused(mutate: object) -> None:
    key = Ed25519PrivateKey.from_private_bytes(secrets.token_bytes(32))
    note = sign_checkpoint(Checkpoint("example.org/log", 7, ROOT), "example.org/log", key)
    with pytest.raises(NoteError):
        open_checkpoint(mutate(note), [public_verifier_key("example.org/log", key)])  # type: ignore[operator]


def test_other_key_is_not_trusted() -> None:
    mine = Ed25519PrivateKey.from_private_bytes(secrets.token_bytes(32))
    theirs = Ed25519PrivateKey.from_private_bytes(secrets.token_bytes(32))
    note = sign_checkpoint(Checkpoint("o/l", 1, ROOT), "o/l", theirs)
    with pytest.raises(NoteError, match="trusted"):
        open_checkpoint(note, [public_verifier_key("o/l", mine)])


def test_signing_key_comes_from_the_keyring_and_needs_it_unsealed(keyring: Keyring) -> None:
    a = verifier_key(keyring, ORIGIN)
    assert verifier_key(keyring, ORIGIN) == a  # derived, stable
    other = Keyring()
    other.unseal_with_root(secrets.token_bytes(32))
    assert verifier_key(other, ORIGIN) != a
    keyring.seal()
    with pytest.raises(Exception, match=r"[Ss]eal"):
        signing_key(keyring)


def _settings(**kw: object) -> Settings:
    return Settings(audit_origin=ORIGIN, **kw)  # type: ignore[arg-type]


def test_checkpoint_due_every_n_entries_or_m_minutes(audit_log: AuditLog) -> None:
    settings = _settings(audit_checkpoint_every=5, audit_checkpoint_minutes=10)
    with transaction(audit_log.factory) as s:
        assert not checkpoint_due(s, settings=settings)  # empty log
    audit_log.write(1)
    with transaction(audit_log.factory) as s:
        assert checkpoint_due(s, settings=settings)  # first checkpoint
    audit_log.checkpoint_note()
    audit_log.write(4)
    with transaction(audit_log.factory) as s:
        assert not checkpoint_due(s, settings=settings)
        later = utcnow() + timedelta(minutes=11)
        assert checkpoint_due(s, settings=settings, now=later)
    audit_log.write(1)
    with transaction(audit_log.factory) as s:
        assert checkpoint_due(s, settings=settings)


@pytest.mark.slow
def test_scheduler_takes_checkpoints_when_due(audit_log: AuditLog) -> None:
    settings = _settings(audit_checkpoint_every=3, audit_checkpoint_poll_seconds=0.05)
    scheduler = CheckpointScheduler(audit_log.factory, keyring=audit_log.keyring, settings=settings)
    # Written before the scheduler starts: a first checkpoint is due at once, and it must not
    # race the writes and catch the log half-way.
    audit_log.write(3)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            with transaction(audit_log.factory) as s:
                last = latest_checkpoint(s)
            if last is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert last is not None
    assert last.tree_size == 3
    assert audit_log.verify().ok
