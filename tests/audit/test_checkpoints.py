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
    checkpoint_if_due,
    latest_checkpoint,
    signing_key,
    start_scheduler,
    take_checkpoint,
    trusted_keys,
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
from app.crypto.models import RetiredVerifierKey
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


def test_no_checkpoint_is_due_for_a_log_that_has_not_grown(audit_log: AuditLog) -> None:
    """M minutes pass a checkpoint only with growth: a quiet log gets no new checkpoint of
    the same size each interval; with growth it is due at M minutes exactly."""
    settings = _settings(audit_checkpoint_every=5, audit_checkpoint_minutes=10)
    audit_log.write(2)
    audit_log.checkpoint_note()
    with transaction(audit_log.factory) as s:
        taken = latest_checkpoint(s)
        assert taken is not None
        at_interval = taken.created_at + timedelta(minutes=10)
        assert not checkpoint_due(s, settings=settings, now=at_interval + timedelta(days=1))
    audit_log.write(1)
    with transaction(audit_log.factory) as s:
        assert not checkpoint_due(s, settings=settings, now=at_interval - timedelta(seconds=1))
        assert checkpoint_due(s, settings=settings, now=at_interval)


def test_one_scheduler_step_takes_a_checkpoint_only_when_due_and_unsealed(
    audit_log: AuditLog, root_key: bytes
) -> None:
    """What the scheduler thread runs each tick: nothing (and no error to log) while nothing
    is due or the keyring is sealed; a checkpoint of the whole log, named in the log line,
    when one is due."""
    settings = _settings(audit_checkpoint_every=3)
    scheduler = CheckpointScheduler(audit_log.factory, keyring=audit_log.keyring, settings=settings)
    assert scheduler._step() is None  # empty log: nothing due
    audit_log.write(3)
    audit_log.keyring.seal()
    due = checkpoint_if_due(audit_log.factory, keyring=audit_log.keyring, settings=settings)
    assert due is None
    audit_log.keyring.unseal_with_root(root_key)
    assert scheduler._step() == "checkpoint taken at tree size 3"
    with transaction(audit_log.factory) as s:
        last = latest_checkpoint(s)
        assert last is not None
        assert last.tree_size == 3
    assert scheduler._step() is None  # just taken: not due again


def _first_checkpoint_is_of(audit_log: AuditLog, scheduler: CheckpointScheduler, size: int) -> None:
    """Wait (10 s at most) for the running scheduler's first checkpoint, stop the scheduler,
    and check that checkpoint covers `size` entries and the log verifies."""
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
    assert last.tree_size == size
    assert audit_log.verify().ok


@pytest.mark.slow
def test_scheduler_takes_checkpoints_when_due(audit_log: AuditLog) -> None:
    settings = _settings(audit_checkpoint_every=3, audit_checkpoint_poll_seconds=0.05)
    scheduler = CheckpointScheduler(audit_log.factory, keyring=audit_log.keyring, settings=settings)
    # Written before the scheduler starts: a first checkpoint is due at once, and it must not
    # race the writes and catch the log half-way.
    audit_log.write(3)
    scheduler.start()
    _first_checkpoint_is_of(audit_log, scheduler, size=3)


def test_the_latest_checkpoint_is_the_newest_of_several(audit_log: AuditLog) -> None:
    audit_log.write(6, checkpoint_every=2)
    with transaction(audit_log.factory) as s:
        last = latest_checkpoint(s)
        assert last is not None
        assert last.tree_size == 6


def test_checkpoints_signed_before_a_root_rotation_stay_trusted(
    audit_log: AuditLog, keyring: Keyring
) -> None:
    """A root-key rotation retires the checkpoint key with the root; its public half, kept in
    retired_verifier_keys, still opens the checkpoints it signed, and today's key opens
    today's. A key never retired opens nothing."""
    old = Keyring()
    old.unseal_with_root(bytes(range(32)))
    retired = Keyring()
    retired.unseal_with_root(bytes(range(1, 33)))
    with transaction(audit_log.factory) as s:
        s.add(RetiredVerifierKey(key=verifier_key(old, ORIGIN).encode()))
        s.add(RetiredVerifierKey(key=verifier_key(retired, ORIGIN).encode()))
    audit_log.write(2)
    with transaction(audit_log.factory) as s:
        before = take_checkpoint(s, keyring=old, origin=ORIGIN).note
        today = take_checkpoint(s, keyring=keyring, origin=ORIGIN).note
        keys = trusted_keys(s, keyring, ORIGIN)
    assert [k.encode() for k in keys] == [
        verifier_key(keyring, ORIGIN).encode(),
        verifier_key(old, ORIGIN).encode(),
        verifier_key(retired, ORIGIN).encode(),
    ]
    for note in (before, today):
        assert open_checkpoint(note, keys).size == 2
    stranger = Keyring()
    stranger.unseal_with_root(bytes(range(2, 34)))
    with transaction(audit_log.factory) as s:
        forged = take_checkpoint(s, keyring=stranger, origin=ORIGIN).note
    with pytest.raises(NoteError, match="trusted"):
        open_checkpoint(forged, keys)


@pytest.mark.slow
def test_the_service_starts_its_scheduler_unless_the_poll_is_off(audit_log: AuditLog) -> None:
    """What `haven serve` calls: no scheduler at a poll of 0; at any other poll (a fraction
    of a second here) a scheduler of its own engine, taking the checkpoint that is due."""
    url = audit_log.engine.url.render_as_string(hide_password=False)
    off = _settings(database_url=url, audit_checkpoint_poll_seconds=0)
    assert start_scheduler(off, audit_log.keyring) is None
    audit_log.write(3)
    settings = _settings(
        database_url=url, audit_checkpoint_every=3, audit_checkpoint_poll_seconds=0.05
    )
    scheduler = start_scheduler(settings, audit_log.keyring)
    assert scheduler is not None
    _first_checkpoint_is_of(audit_log, scheduler, size=3)


def test_the_checkpoint_key_is_the_documented_derivation_of_the_root() -> None:
    """HKDF-SHA256 of the root, no salt, info "haven/v1/audit-checkpoint-ed25519", read as
    an Ed25519 private key (computed here with the library alone): the checkpoints a lawyer
    holds keep verifying after an upgrade only while this stays exactly so."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    root = bytes(range(32))
    ring = Keyring()
    ring.unseal_with_root(root)
    seed = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"haven/v1/audit-checkpoint-ed25519"
    ).derive(root)
    expected = public_verifier_key(ORIGIN, Ed25519PrivateKey.from_private_bytes(seed))
    assert verifier_key(ring, ORIGIN) == expected
    assert (
        expected.encode()
        == "haven.test/audit+c188aafa+AUKeQLjDBqXc0y2tihOOrWcQ+MHO5cR0jpu5tsFuPcCY"
    )
