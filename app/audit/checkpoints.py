"""Signed checkpoints of the audit tree: the key under the keyring, taken on demand, every
N entries or every M minutes, stored append-only and exportable."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import AuditCheckpoint
from app.audit.note import (
    Checkpoint,
    VerifierKey,
    parse_verifier_key,
    public_verifier_key,
    sign_checkpoint,
)
from app.audit.tree import read_head
from app.background import Poller, background_sessions
from app.config import Settings
from app.crypto.keyring import Keyring
from app.crypto.models import RetiredVerifierKey
from app.db import transaction, utcnow

log = logging.getLogger("haven.audit")

KEY_PURPOSE = "audit-checkpoint-ed25519"


def signing_key(keyring: Keyring) -> Ed25519PrivateKey:
    """The checkpoint signing key, derived from the root key on each use, never stored."""
    return Ed25519PrivateKey.from_private_bytes(keyring.derive(KEY_PURPOSE))


def verifier_key(keyring: Keyring, origin: str) -> VerifierKey:
    """The public key that verifies this log's checkpoints (named after the origin)."""
    return public_verifier_key(origin, signing_key(keyring))


def trusted_keys(session: Session, keyring: Keyring, origin: str) -> list[VerifierKey]:
    """The keys this log's checkpoints may be signed with: today's, and each one a root-key
    rotation retired (`haven keys rotate-root`), so older checkpoints still verify."""
    keys = [verifier_key(keyring, origin)]
    stmt = select(RetiredVerifierKey.key).order_by(RetiredVerifierKey.id)
    keys += [parse_verifier_key(text) for text in session.scalars(stmt)]
    return keys


def take_checkpoint(session: Session, *, keyring: Keyring, origin: str) -> AuditCheckpoint:
    """Sign the head's current size and root and store the note (flushed, not committed)."""
    size, root = read_head(session)
    note = sign_checkpoint(Checkpoint(origin, size, root), origin, signing_key(keyring))
    row = AuditCheckpoint(tree_size=size, root_hash=root, note=note)
    session.add(row)
    session.flush()
    return row


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The most recent stored checkpoint."""
    stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    return session.scalars(stmt).first()


def checkpoint_due(session: Session, *, settings: Settings, now: datetime | None = None) -> bool:
    """True when N entries or M minutes (with growth) have passed since the last checkpoint."""
    size, _ = read_head(session)
    last = latest_checkpoint(session)
    if last is None:
        return size > 0
    if size - last.tree_size >= settings.audit_checkpoint_every:
        return True
    age = (now or utcnow()) - last.created_at
    return size > last.tree_size and age >= timedelta(minutes=settings.audit_checkpoint_minutes)


def checkpoint_if_due(
    factory: sessionmaker[Session], *, keyring: Keyring, settings: Settings
) -> AuditCheckpoint | None:
    """One scheduler step in its own transaction; nothing while sealed."""
    if keyring.sealed:
        return None
    with transaction(factory) as session:
        if not checkpoint_due(session, settings=settings):
            return None
        return take_checkpoint(session, keyring=keyring, origin=settings.audit_origin)


class CheckpointScheduler(Poller):
    """A daemon thread that takes checkpoints when due (every poll interval)."""

    def __init__(
        self, factory: sessionmaker[Session], *, keyring: Keyring, settings: Settings
    ) -> None:
        def step() -> str | None:
            cp = checkpoint_if_due(factory, keyring=keyring, settings=settings)
            return None if cp is None else f"checkpoint taken at tree size {cp.tree_size}"

        super().__init__("audit-checkpoints", settings.audit_checkpoint_poll_seconds, step)


def start_scheduler(settings: Settings, keyring: Keyring) -> CheckpointScheduler | None:
    """Start taking checkpoints in the background (off when the poll interval is 0).

    It has its own engine; on SQLite it waits briefly for the write lock and retries on the
    next tick rather than queueing behind requests."""
    if settings.audit_checkpoint_poll_seconds <= 0:
        return None
    factory = background_sessions(settings.database_url)
    scheduler = CheckpointScheduler(factory, keyring=keyring, settings=settings)
    scheduler.owns_engine_of(factory)
    scheduler.start()
    return scheduler
