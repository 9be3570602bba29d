"""The panic seal: drop the root key from memory and end every session and token, at once.

The API (`POST /api/v1/sys/seal`) and the page (`POST /seal`) both call `seal_now`, so the
two can never differ in what sealing does or records.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.crypto.keyring import Keyring
from app.db import after_commit
from app.policy.deps import Actor


def seal_now(db: Session, *, keyring: Keyring, actor: Actor) -> None:
    """Record the seal, then seal once the entry commits (flushes, never commits).

    Sealed after the commit, before the answer leaves: the seal hooks end every session in a
    transaction of their own, which on SQLite needs the write lock this request holds until
    then. A failed commit leaves the service unsealed, and says so."""
    record(db, AuditAction.SEALED, by=actor)
    after_commit(db, keyring.seal)
