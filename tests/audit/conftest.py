"""Audit fixtures: a committed log of synthetic entries in a database of its own, and an
attacker's hand on it (the append-only triggers dropped, as DB access would allow)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.canonical import entry_leaf
from app.audit.checkpoints import take_checkpoint, verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.models import AuditEntry
from app.audit.tree import sequence_now
from app.audit.verify import VerifyReport, verify_log
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import upgrade
from tests.conftest import ScratchDatabase
from tests.factories import By

ORIGIN = "haven.test/audit"
APPEND_ONLY = ("audit_entries", "audit_leaves", "audit_checkpoints")


@dataclass
class AuditLog:
    """A migrated database of its own, with helpers to write, tamper and verify."""

    engine: Engine
    factory: sessionmaker[Session]
    keyring: Keyring
    backend: str

    def write(self, n: int, *, checkpoint_every: int = 0, sequence: bool = True) -> None:
        """Commit n entries, one per transaction, each sequenced after its commit (as the
        server's sequencer would) unless `sequence` is False, checkpointing every k."""
        for _ in range(n):
            with transaction(self.factory) as s:
                record(
                    s,
                    AuditAction.CASE_READ,
                    by=By(uuid.uuid4(), "caseworker"),
                    on=("case", uuid.uuid4()),
                    fields=["legal_name", "unit"],
                )
            if sequence:
                sequence_now(self.factory)
            if checkpoint_every:
                self.maybe_checkpoint(checkpoint_every)

    def maybe_checkpoint(self, every: int) -> None:
        with transaction(self.factory) as s:
            size = s.execute(text("SELECT size FROM audit_head")).scalar_one()
            if size % every == 0:
                take_checkpoint(s, keyring=self.keyring, origin=ORIGIN)

    def checkpoint_note(self) -> str:
        """Take a checkpoint now and return its note (as a lawyer would keep it)."""
        with transaction(self.factory) as s:
            return take_checkpoint(s, keyring=self.keyring, origin=ORIGIN).note

    def verify(self, external: str | None = None) -> VerifyReport:
        with transaction(self.factory) as s:
            key = verifier_key(self.keyring, ORIGIN)
            return verify_log(s, keys=[key], origin=ORIGIN, external_checkpoint=external)

    def sql(self, statement: str, **params: object) -> list[tuple[object, ...]]:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(r) for r in result] if result.returns_rows else []

    def drop_triggers(self) -> None:
        """What an attacker with database access does first."""
        for table in APPEND_ONLY:
            if self.backend == "postgresql":
                self.sql(f"DROP TRIGGER {table}_append_only ON {table}")
                self.sql(f"DROP TRIGGER {table}_no_truncate ON {table}")
            else:
                self.sql(f"DROP TRIGGER {table}_no_update")
                self.sql(f"DROP TRIGGER {table}_no_delete")

    def edit_body(self, seq: int, old: str, new: str) -> None:
        """The attacker rewrites the stored body of the entry at seq (triggers dropped)."""
        self.sql(
            "UPDATE audit_entries SET body = replace(body, :old, :new) WHERE id = :i",
            old=old,
            new=new,
            i=self.entry_id(seq),
        )

    def leaf_of(self, entry_id: int, seq: int) -> bytes:
        """The leaf a careful attacker computes for this entry at seq (the format is public)."""
        with transaction(self.factory) as s:
            entry = s.get(AuditEntry, entry_id)
            assert entry is not None
            return entry_leaf(seq, entry.id, entry.body)

    def rehash(self, start: int) -> None:
        """The careful attacker recomputes the stored leaf hashes from `start` on."""
        rows = self.sql(
            "SELECT seq, entry_id FROM audit_leaves WHERE seq >= :s ORDER BY seq", s=start
        )
        for seq, entry_id in rows:
            h = self.leaf_of(int(entry_id), int(seq))  # type: ignore[call-overload]
            self.sql("UPDATE audit_leaves SET leaf_hash = :h WHERE seq = :s", h=h, s=seq)

    def truncate(self, at: int) -> None:
        """The attacker deletes every entry from position `at` on, leaves and rows."""
        tail = [r[0] for r in self.sql("SELECT entry_id FROM audit_leaves WHERE seq >= :s", s=at)]
        self.sql("DELETE FROM audit_leaves WHERE seq >= :s", s=at)
        for eid in tail:
            self.sql("DELETE FROM audit_entries WHERE id = :i", i=eid)

    def entry_id(self, seq: int) -> int:
        return int(self.sql("SELECT entry_id FROM audit_leaves WHERE seq = :s", s=seq)[0][0])


@pytest.fixture
def audit_log(fresh_db: ScratchDatabase, keyring: Keyring) -> Iterator[AuditLog]:
    """An empty, migrated audit log in a database of its own."""
    upgrade(fresh_db.url)
    engine = make_engine(fresh_db.url)
    yield AuditLog(engine, make_sessionmaker(engine), keyring, fresh_db.backend)
    engine.dispose()


@pytest.fixture
def tampered(audit_log: AuditLog) -> AuditLog:
    """20 committed entries, stored checkpoints at 5, 10, 15 and 20, triggers dropped."""
    audit_log.write(20, checkpoint_every=5)
    assert audit_log.verify().ok
    audit_log.drop_triggers()
    return audit_log
