"""Giving committed entries their positions in the Merkle tree: a sequencer, not the request.

An entry is inserted in the caller's transaction together with a *pending* row
(`audit_pending`: its id and `pending_digest(id, body)`), and commits with it: no lock on
the tree is taken by the request, so readers do not queue behind each other's commits.
The sequencer (`sequence_pending`) later gives committed pending entries the next
positions in one transaction: it locks the one head row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite serialises every writer with BEGIN IMMEDIATE), checks each entry's body
against its digest, inserts the leaves, advances the head and deletes the pending rows.
Positions are only ever assigned under the head lock, so two sequencers (one per server
process) cannot fork the tree or leave a gap; a background one skips its turn while
another holds the head. An entry whose body no longer matches its digest is never
sequenced: it stays pending, and the verifier names it.

A crash between the request's commit and the sequencer loses nothing: the pending row is
committed with the entry and the next sequencer (after a restart) picks it up. The
verifier (app/audit/verify.py) checks the not-yet-sequenced tail against the digests.
SECURITY.md ("Audit log") records the measurements behind this choice.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.canonical import entry_leaf, pending_digest
from app.audit.merkle import (
    fold_right,
    frontier_append,
    pack_frontier,
    unpack_frontier,
)
from app.audit.models import AuditEntry, AuditHead, AuditLeaf, AuditPending
from app.background import Poller, background_sessions
from app.config import Settings
from app.db import transaction, utcnow

log = logging.getLogger("haven.audit")

HEAD_ID = 1
# Entries sequenced per transaction: the head lock is held for one batch at a time.
BATCH = 2000


class AuditHeadMissing(RuntimeError):
    """The head row is absent: the schema was not built by the migrations."""


def lock_head(session: Session, *, wait: bool = True) -> AuditHead | None:
    """The head row, locked until the transaction ends; None when `wait` is False and
    another transaction holds it (PostgreSQL; SQLite has already queued at BEGIN)."""
    stmt = (
        select(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .with_for_update(skip_locked=not wait)
        .execution_options(populate_existing=True)
    )
    head = session.scalars(stmt).one_or_none()
    if head is None and (wait or session.get(AuditHead, HEAD_ID) is None):
        raise AuditHeadMissing("audit_head row 1 is missing: run the migrations")
    return head


def read_head(session: Session) -> tuple[int, bytes]:
    """The head's tree size and root, without locking."""
    stmt = select(AuditHead).where(AuditHead.id == HEAD_ID)
    head = session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()
    if head is None:
        raise AuditHeadMissing("audit_head row 1 is missing: run the migrations")
    return head.size, fold_right(unpack_frontier(head.frontier, head.size))


def _append(session: Session, head: AuditHead, entries: Sequence[tuple[int, str]]) -> list[int]:
    """Give (id, body) entries the next positions in id order, under the locked head."""
    size = head.size
    frontier = unpack_frontier(head.frontier, size)
    rows: list[dict[str, Any]] = []
    for entry_id, body in sorted(entries):
        leaf = entry_leaf(size, entry_id, body)
        rows.append({"seq": size, "entry_id": entry_id, "leaf_hash": leaf})
        frontier_append(frontier, size, leaf)
        size += 1
    session.execute(insert(AuditLeaf), rows)
    head.size = size
    head.frontier = pack_frontier(frontier)
    head.updated_at = utcnow()
    session.flush()
    return [r["seq"] for r in rows]


def append_leaves(session: Session, entries: Sequence[AuditEntry]) -> list[int]:
    """Give these flushed entries the next positions now, under the head lock (the
    sequencer's step without its pending rows; a migration or a test rebuilding a tree)."""
    head = lock_head(session)
    assert head is not None  # noqa: S101 - lock_head waits, or raises when it is missing
    return _append(session, head, [(e.id, e.body) for e in entries])


def sequence_pending(
    session: Session, *, limit: int | None = None, wait: bool = True
) -> int | None:
    """Sequence up to `limit` (a batch by default) committed pending entries, oldest id
    first, in the caller's transaction (commit it to publish them). Returns how many were
    given a position, or None when `wait` is False and another sequencer holds the head."""
    limit = BATCH if limit is None else limit
    session.flush()
    head = lock_head(session, wait=wait)
    if head is None:
        return None
    stmt = (
        select(AuditPending.entry_id, AuditPending.digest, AuditEntry.body)
        .join(AuditEntry, AuditEntry.id == AuditPending.entry_id)
        .outerjoin(AuditLeaf, AuditLeaf.entry_id == AuditPending.entry_id)
        .where(AuditLeaf.seq.is_(None))
        .order_by(AuditPending.entry_id)
        .limit(limit)
    )
    good: list[tuple[int, str]] = []
    for entry_id, digest, body in session.execute(stmt):
        if isinstance(body, str) and hmac.compare_digest(pending_digest(entry_id, body), digest):
            good.append((entry_id, body))
        else:  # left pending: the verifier names it; never sequenced as it reads now
            log.warning("audit entry id %d does not match its digest: not sequenced", entry_id)
    if not good:
        return 0
    _append(session, head, good)
    ids = [entry_id for entry_id, _ in good]
    session.execute(delete(AuditPending).where(AuditPending.entry_id.in_(ids)))
    session.flush()
    return len(good)


def sequence_now(target: Session | sessionmaker[Session]) -> int:
    """Sequence every committed pending entry now; returns how many. Given a session, its
    transaction is committed after each batch; given a factory, each batch has its own.
    For the CLI, checkpoints on demand and tests that read the tree after a request."""
    done = 0
    while True:
        if isinstance(target, Session):
            n = sequence_pending(target) or 0
            target.commit()
        else:
            with transaction(target) as session:
                n = sequence_pending(session) or 0
        done += n
        if n < BATCH:
            return done


@event.listens_for(Session, "after_flush")
def _mark_pending(session: Session, _context: Any) -> None:
    """Every entry a flush inserted gets its pending row in the same transaction, all of a
    flush's in one statement (a rolled-back transaction or savepoint takes both away)."""
    entries = [o for o in session.new if isinstance(o, AuditEntry)]
    if entries:
        rows = [{"entry_id": e.id, "digest": pending_digest(e.id, e.body)} for e in entries]
        session.connection().execute(insert(AuditPending), rows)


def anything_pending(factory: sessionmaker[Session]) -> bool:
    """Whether any committed entry waits for a position: one read outside any transaction.
    On SQLite every transaction takes the one write lock (app/db.py), so an idle server's
    sequencer would take it ten times a second, in the way of the requests, to find nothing."""
    raw = factory.kw["bind"].raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT 1 FROM {AuditPending.__tablename__} LIMIT 1")  # noqa: S608 - a constant
        found = cursor.fetchone() is not None
        cursor.close()
    finally:
        raw.close()  # back to the pool, which ends the read (PostgreSQL) with a rollback
    return found


def sequencer_step(factory: sessionmaker[Session]) -> str | None:
    """One background turn: sequence what is pending, batch after batch; nothing when
    nothing is pending, or when another process's sequencer holds the head (it will do the
    work)."""
    if not anything_pending(factory):
        return None
    done = 0
    while True:
        with transaction(factory) as session:
            n = sequence_pending(session, wait=False)
        if n is None:
            return None
        done += n
        if n < BATCH:
            return None if done < BATCH else f"sequenced {done} entries"


class Sequencer(Poller):
    """A daemon thread that sequences pending entries every poll interval."""

    def __init__(self, factory: sessionmaker[Session], interval: float) -> None:
        super().__init__("audit-sequencer", interval, lambda: sequencer_step(factory))


def start_sequencer(settings: Settings) -> Sequencer | None:
    """Start sequencing in the background (off when the poll interval is 0). It has its
    own engine; on SQLite it waits briefly for the write lock and retries on the next tick
    rather than queueing behind requests."""
    if settings.audit_sequence_poll_seconds <= 0:
        return None
    factory = background_sessions(settings.database_url)
    sequencer = Sequencer(factory, settings.audit_sequence_poll_seconds)
    sequencer.owns_engine_of(factory)
    sequencer.start()
    return sequencer
