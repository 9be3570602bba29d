"""KEK rotation: every DEK moves to the new version, interrupted runs resume, the old
version is retired and erased, and data stays readable throughout."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditEntry
from app.crypto.ciphertext import Ciphertext
from app.crypto.envelope import (
    create_data_key,
    decrypt_text,
    destroy_data_key,
    open_data_key,
)
from app.crypto.errors import KeyUnavailable
from app.crypto.keyring import Keyring
from app.crypto.models import DataKey, KeyEncryptionKey
from app.crypto.rotation import (
    begin_rotation,
    pending_count,
    retire_drained,
    rewrap_batch,
    rotate,
)
from app.db import transaction
from tests.crypto.conftest import Committed, Interrupted, keyring_with_data_keys


def _versions(factory: sessionmaker[Session]) -> dict[int, int]:
    with transaction(factory) as s:
        rows = s.execute(
            select(DataKey.kek_version, func.count())
            .where(DataKey.wrapped.is_not(None))
            .group_by(DataKey.kek_version)
        ).all()
    return {int(v): int(n) for v, n in rows}


def _all_readable(
    factory: sessionmaker[Session], keyring: Keyring, data: dict[uuid.UUID, tuple[uuid.UUID, bytes]]
) -> None:

    with transaction(factory) as s:
        for i, (key_id, (owner, ct)) in enumerate(data.items()):
            dek = open_data_key(s, keyring=keyring, key_id=key_id, owner_id=owner)
            assert decrypt_text(dek, field="legal_name", ciphertext=Ciphertext(ct)).startswith(
                "Person"
            )
            assert i >= 0


def test_rotation_rewraps_every_dek_and_retires_the_old_version(committed: Committed) -> None:
    _engine, factory = committed
    keyring, data = keyring_with_data_keys(factory, 23)
    assert _versions(factory) == {1: 23}
    seen: list[tuple[int, int]] = []
    report = rotate(
        factory, keyring=keyring, batch_size=5, on_progress=lambda d, t: seen.append((d, t))
    )
    assert report.current_version == 2
    assert report.rewrapped == 23
    assert report.retired == [1]
    assert _versions(factory) == {2: 23}
    assert seen[0] == (0, 23)
    assert seen[-1] == (23, 23)
    with transaction(factory) as s:
        old = s.get_one(KeyEncryptionKey, 1)
        assert (old.state, old.wrapped) == ("retired", None)
        assert s.get_one(KeyEncryptionKey, 2).state == "current"
    # A fresh process (empty KEK cache) reads everything through version 2 only.
    fresh = Keyring()
    fresh.unseal_with_root(_root_of(keyring))
    _all_readable(factory, fresh, data)
    with transaction(factory) as s, pytest.raises(KeyUnavailable):
        fresh.kek(s, 1)


def test_interrupted_rotation_resumes(committed: Committed) -> None:
    _engine, factory = committed
    keyring, data = keyring_with_data_keys(factory, 12)

    def crash_after_first_batch(done: int, _total: int) -> None:
        if done > 0:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotate(factory, keyring=keyring, batch_size=4, on_progress=crash_after_first_batch)
    assert _versions(factory) == {1: 8, 2: 4}
    _all_readable(factory, keyring, data)  # half-rotated data stays readable
    # New keys made meanwhile go under the new version.
    with transaction(factory) as s:
        create_data_key(s, keyring=keyring, owner_id=uuid.uuid4())
    report = rotate(factory, keyring=keyring, batch_size=4)
    assert report.resumed
    assert report.current_version == 2  # no third version was made
    assert report.rewrapped == 8
    assert report.retired == [1]
    assert _versions(factory) == {2: 13}


def test_a_second_rotation_makes_a_third_version(committed: Committed) -> None:
    _engine, factory = committed
    keyring, data = keyring_with_data_keys(factory, 3)
    rotate(factory, keyring=keyring)
    report = rotate(factory, keyring=keyring)
    assert (report.current_version, report.resumed, report.retired) == (3, False, [2])
    assert _versions(factory) == {3: 3}
    _all_readable(factory, keyring, data)


def test_destroyed_keys_are_not_resurrected_by_rotation(committed: Committed) -> None:
    _engine, factory = committed
    keyring, data = keyring_with_data_keys(factory, 3)
    victim = next(iter(data))
    with transaction(factory) as s:
        destroy_data_key(s, key_id=victim)
    rotate(factory, keyring=keyring)
    with transaction(factory) as s:
        assert s.get_one(DataKey, victim).wrapped is None


def _root_of(keyring: Keyring) -> bytes:
    root = keyring._root  # the test needs the same root in a second "process"
    assert root is not None
    return root


def test_a_version_is_retired_only_once_no_live_key_uses_it_and_each_step_is_audited(
    committed: Committed,
) -> None:
    """Retiring erases the old key-encryption key: a data key still wrapped under it would be
    lost with it. So the old version waits while a live key uses it; a shredded key (no
    longer wrapped) holds nothing back and is never pending; the start and the retirement
    are each audited naming the version."""
    _engine, factory = committed
    keyring, data = keyring_with_data_keys(factory, 2)
    kept, shredded = list(data)
    with transaction(factory) as s:
        destroy_data_key(s, key_id=shredded)
    with transaction(factory) as s:
        current, resumed = begin_rotation(s, keyring=keyring)
        assert (current, resumed) == (2, False)
        assert pending_count(s, current=current) == 1  # the live key only
        assert retire_drained(s, keyring=keyring) == []  # still wrapping `kept`
        assert s.get_one(KeyEncryptionKey, 1).wrapped is not None
    with transaction(factory) as s:
        assert rewrap_batch(s, keyring=keyring, current=current, batch_size=10) == 1
        assert pending_count(s, current=current) == 0
        assert retire_drained(s, keyring=keyring) == [1]
        assert s.get_one(KeyEncryptionKey, 1).wrapped is None
    with transaction(factory) as s:
        entries = s.execute(
            select(AuditEntry.object_type, AuditEntry.object_id, AuditEntry.reason_code)
            .where(AuditEntry.action == "sys.key_rotated")
            .order_by(AuditEntry.id)
        ).all()
        owner, blob = data[kept]
        dek = open_data_key(s, keyring=keyring, key_id=kept, owner_id=owner)
        assert decrypt_text(dek, field="legal_name", ciphertext=Ciphertext(blob)) == "Person 0"
    assert [tuple(e) for e in entries] == [("kek", "2", "started"), ("kek", "1", "retired")]


def test_a_rotation_reports_what_it_found_and_what_is_left(committed: Committed) -> None:
    _engine, factory = committed
    keyring, _data = keyring_with_data_keys(factory, 3)
    progress: list[tuple[int, int]] = []
    report = rotate(
        factory, keyring=keyring, batch_size=2, on_progress=lambda d, t: progress.append((d, t))
    )
    assert progress[0] == (0, 3)
    assert progress[-1] == (3, 3)
    assert (report.rewrapped, report.remaining, report.retired) == (3, 0, [1])


def test_a_resumed_rotation_counts_only_what_is_left(committed: Committed) -> None:
    _engine, factory = committed
    keyring, _data = keyring_with_data_keys(factory, 3)

    def stop_after_the_first_batch(done: int, _total: int) -> None:
        if done:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotate(factory, keyring=keyring, batch_size=2, on_progress=stop_after_the_first_batch)
    progress: list[tuple[int, int]] = []
    report = rotate(
        factory, keyring=keyring, batch_size=2, on_progress=lambda d, t: progress.append((d, t))
    )
    assert report.resumed
    assert progress == [(0, 1), (1, 1)]
