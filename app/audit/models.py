"""The audit tables: entries (append-only, metadata only), their positions in the Merkle
tree (append-only), signed checkpoints (append-only), the one mutable head row, and the
entries committed but not yet sequenced (pending)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Computed,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column

from app.audit.canonical import Recorded, decode_body, encode_body
from app.audit.schema import expression
from app.db import Base, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class _Generated(ColumnElement[Any]):
    """A column's generation expression, spelled per dialect (app/audit/schema.py)."""

    inherit_cache = True

    def __init__(self, name: str) -> None:
        self.name = name


@compiles(_Generated)
def _compile_generated(element: _Generated, compiler: Any, **_kw: Any) -> str:
    return expression(compiler.dialect.name, element.name)


def _generated(name: str) -> Computed:
    return Computed(_Generated(name))


class AuditEntry(Base):
    """One security-relevant event: who, role, when, what, which object, which fields.

    `body` is the entry (app/audit/canonical.py); the other value columns are generated
    from it by the database and are read-only. Create entries with `AuditEntry.of(...)`."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_actor_at", "actor_id", "at"),
        Index("ix_audit_entries_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(_generated("at"), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(_generated("actor_id"))
    actor_role: Mapped[str | None] = mapped_column(String(32), _generated("actor_role"))
    action: Mapped[str] = mapped_column(String(64), _generated("action"), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32), _generated("object_type"))
    object_id: Mapped[str | None] = mapped_column(String(64), _generated("object_id"))
    fields: Mapped[list[str]] = mapped_column(JSON, _generated("fields"))
    outcome: Mapped[str] = mapped_column(String(16), _generated("outcome"))
    request_id: Mapped[str | None] = mapped_column(String(32), _generated("request_id"))
    reason_code: Mapped[str | None] = mapped_column(String(64), _generated("reason_code"))

    @classmethod
    def of(cls, *, at: datetime | None = None, **values: Any) -> AuditEntry:
        """A new entry (not yet added to a session) recording these values."""
        return cls(body=encode_body(at=at or utcnow(), **values))

    def recorded(self) -> Recorded:
        """The values as the body records them (what the leaf commits to)."""
        return decode_body(self.body)


class AuditLeaf(Base):
    """An entry's position (seq) in the tree and its RFC 6962 leaf hash. No gaps, no forks:
    seq is the primary key and is assigned under the head lock by the sequencer."""

    __tablename__ = "audit_leaves"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("audit_entries.id"), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHead(Base):
    """The tree's current size and right border (compact range); one row, id 1.

    It is a cache that makes appends O(log n): the verifier never trusts it, it recomputes
    the tree from the leaves and compares."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) of the tree at one size."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)


class AuditPending(Base):
    """An entry committed but not yet given a position (app/audit/tree.py): inserted in the
    entry's own transaction, deleted in the one that inserts its leaf. `digest` is
    `pending_digest(entry_id, body)`, what the verifier and the sequencer check the entry
    against until its leaf hash does."""

    __tablename__ = "audit_pending"

    entry_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("audit_entries.id"), primary_key=True, autoincrement=False
    )
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
