"""Fixtures for encryption tests: cheap Argon2 parameters, opened DEKs, a keyring with data
keys in a committed database."""

from __future__ import annotations

import secrets
import uuid

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import SealMode
from app.crypto.envelope import OpenDataKey, create_data_key, encrypt_text, open_data_key
from app.crypto.keyring import Keyring
from app.crypto.keystore import initialise_keyring
from app.crypto.passphrase import Argon2Params
from app.db import transaction

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


# --- a keyring with data keys in a committed database (rotation and key-status tests) ----

Committed = tuple[Engine, sessionmaker[Session]]


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C between batches of a rotation."""


def keyring_with_data_keys(
    factory: sessionmaker[Session], count: int
) -> tuple[Keyring, dict[uuid.UUID, tuple[uuid.UUID, bytes]]]:
    """A new dev-mode keyring and `count` data keys, each with a name sealed under it,
    committed: {key id: (owner id, ciphertext)}."""
    keyring = Keyring()
    data: dict[uuid.UUID, tuple[uuid.UUID, bytes]] = {}
    with transaction(factory) as s:
        initialise_keyring(s, keyring=keyring, mode=SealMode.DEV, root=secrets.token_bytes(32))
        for i in range(count):
            owner = uuid.uuid4()
            row = create_data_key(s, keyring=keyring, owner_id=owner)
            dek = open_data_key(s, keyring=keyring, key_id=row.id, owner_id=owner)
            data[row.id] = (owner, encrypt_text(dek, field="legal_name", value=f"Person {i}").data)
    return keyring, data
