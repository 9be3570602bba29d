"""Fixtures for encryption tests: cheap Argon2 parameters, opened DEKs, committed databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from app.crypto.envelope import OpenDataKey, create_data_key, open_data_key
from app.crypto.keyring import Keyring
from app.crypto.passphrase import Argon2Params

# Tests exercise the logic, not the cost: production parameters live in passphrase.py.
CHEAP_ARGON2 = Argon2Params(memory_kib=1024, time_cost=1, parallelism=1)


@pytest.fixture
def owner_id() -> uuid.UUID:
    """The id of a synthetic case that owns a DEK."""
    return uuid.uuid4()


@pytest.fixture
def dek(db: Session, keyring: Keyring, owner_id: uuid.UUID) -> OpenDataKey:
    """An opened DEK for `owner_id`, in the test's rolled-back transaction."""
    row = create_data_key(db, keyring=keyring, owner_id=owner_id)
    return open_data_key(db, keyring=keyring, key_id=row.id, owner_id=owner_id)
