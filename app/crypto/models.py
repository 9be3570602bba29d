"""Persistent keyring state: how the root key is protected, KEK versions and per-owner DEKs.

Nothing here is usable without the root key: the check value is a one-way HMAC, every key
is stored wrapped (AES-256-GCM), and a passphrase-wrapped root needs the passphrase.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow


class KekState(enum.StrEnum):
    """Life of a KEK version: new DEKs use `current`; `draining` ones still wrap some DEKs."""

    CURRENT = "current"
    DRAINING = "draining"
    RETIRED = "retired"


class KeyringState(Base):
    """The single row describing this installation's root key (never the key itself)."""

    __tablename__ = "keyring_state"
    __table_args__ = (CheckConstraint("id = 1", name="singleton"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, default=1)
    mode: Mapped[str] = mapped_column(String(16))
    # HMAC-SHA256 under a key derived from the root: tells a wrong root from the right one.
    check_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # passphrase mode: Argon2id parameters and the root wrapped under the derived key.
    kdf_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    kdf_memory_kib: Mapped[int | None]
    kdf_time_cost: Mapped[int | None]
    kdf_parallelism: Mapped[int | None]
    wrapped_root: Mapped[bytes | None] = mapped_column(LargeBinary)
    # shamir mode: how many shares exist, how many unseal, and the SLIP-39 set identifier.
    shamir_threshold: Mapped[int | None]
    shamir_shares: Mapped[int | None]
    shamir_identifier: Mapped[int | None]


class KeyEncryptionKey(Base):
    """One KEK version: a random 256-bit key wrapped by a key derived from the root key."""

    __tablename__ = "key_encryption_keys"
    __table_args__ = (CheckConstraint("state IN ('current', 'draining', 'retired')", name="state"),)

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16), index=True)
    # NULL once retired: a retired KEK wraps nothing and is destroyed.
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class DataKey(IdMixin, Base):
    """A data key (DEK) for one owner (a case), wrapped by a KEK version.

    Destroying it (crypto-shredding) clears `wrapped` and stamps `destroyed_at`; the row stays
    as a tombstone so foreign keys and the audit trail keep pointing somewhere."""

    __tablename__ = "data_keys"

    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kek_version: Mapped[int] = mapped_column(ForeignKey("key_encryption_keys.version"), index=True)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    destroyed_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"DataKey(id={self.id}, kek_version={self.kek_version})"


class RetiredVerifierKey(Base):
    """The public half of an audit checkpoint key that a root-key rotation retired.

    Checkpoint keys derive from the root key (app/audit/checkpoints.py), so checkpoints signed
    before a rotation verify only under the old public key: it is kept here, public and
    harmless, so the log still verifies end to end. Rows are only ever added."""

    __tablename__ = "retired_verifier_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # "<name>+<hash>+<base64 key>" as `haven audit pubkey` prints it.
    key: Mapped[str] = mapped_column(String(200))
    retired_at: Mapped[datetime] = mapped_column(default=utcnow)
