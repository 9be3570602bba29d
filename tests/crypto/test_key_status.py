"""What the administrator reads of the keys (app/crypto/status.py, the keys page and
GET /system/keys): every figure checked against the keyring's life — nothing initialised, a
fresh keyring, a rotation stopped half-way, one finished with a key shredded — since an
operator decides from it whether a rotation is unfinished and whether a version still wraps
data keys."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.models import AuditEntry
from app.crypto.envelope import destroy_data_key
from app.crypto.models import KeyEncryptionKey, KeyringState
from app.crypto.rotation import rotate
from app.crypto.status import KekVersion, KeyStatus, key_status
from app.db import transaction
from tests.crypto.conftest import Committed, Interrupted, keyring_with_data_keys
from tests.factories import By


def _status(factory: sessionmaker[Session]) -> KeyStatus:
    with transaction(factory) as s:
        return key_status(s)


def _made(factory: sessionmaker[Session]) -> tuple[datetime, dict[int, KeyEncryptionKey]]:
    """The keyring's creation time and its KEK rows, read directly."""
    with transaction(factory) as s:
        state = s.get_one(KeyringState, 1)
        keks = {k.version: k for k in s.scalars(select(KeyEncryptionKey))}
        return state.created_at, keks


def _rotations(factory: sessionmaker[Session]) -> list[datetime]:
    with transaction(factory) as s:
        stmt = select(AuditEntry.at).where(AuditEntry.action == AuditAction.KEY_ROTATED.value)
        return sorted(s.scalars(stmt))


def test_before_any_keyring_every_figure_is_empty(committed: Committed) -> None:
    _engine, factory = committed
    assert _status(factory) == KeyStatus(
        mode=None, initialised_at=None, versions=[], destroyed_data_keys=0, last_rotation=None
    )


def test_the_keys_through_a_rotation_stopped_half_way_and_finished(committed: Committed) -> None:
    _engine, factory = committed
    keyring, data = keyring_with_data_keys(factory, 5)
    created, keks = _made(factory)
    fresh = _status(factory)
    assert fresh == KeyStatus(
        mode="dev",
        initialised_at=created,
        versions=[KekVersion(1, "current", keks[1].created_at, None, 5)],
        destroyed_data_keys=0,
        last_rotation=None,
    )
    assert (fresh.current, fresh.rotation_unfinished) == (1, False)

    def stop_after_first_batch(done: int, _total: int) -> None:
        if done > 0:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotate(factory, keyring=keyring, batch_size=2, on_progress=stop_after_first_batch)
    _created, keks = _made(factory)
    half = _status(factory)
    assert half.versions == [
        KekVersion(2, "current", keks[2].created_at, None, 2),
        KekVersion(1, "draining", keks[1].created_at, None, 3),
    ]
    assert (half.current, half.rotation_unfinished) == (2, True)
    assert half.last_rotation == _rotations(factory)[-1]

    with transaction(factory) as s:
        destroy_data_key(s, key_id=next(iter(data)))
    rotate(factory, keyring=keyring, batch_size=2)
    with transaction(factory) as s:  # later work: not a rotation
        record(
            s, AuditAction.CASE_READ, by=By(uuid.uuid4(), "caseworker"), on=("case", uuid.uuid4())
        )
    _created, keks = _made(factory)
    assert keks[1].retired_at is not None
    done = _status(factory)
    assert done == KeyStatus(
        mode="dev",
        initialised_at=created,
        versions=[
            KekVersion(2, "current", keks[2].created_at, None, 4),
            KekVersion(1, "retired", keks[1].created_at, keks[1].retired_at, 0),
        ],
        destroyed_data_keys=1,
        last_rotation=_rotations(factory)[-1],
    )
    assert done.last_rotation is not None
    assert done.last_rotation > half.last_rotation  # type: ignore[operator]
    assert (done.current, done.rotation_unfinished) == (2, False)
