"""Integrating entries into the Merkle tree at commit, under a short lock on the head row.

`record()` inserts the entry at once (so the caller's transaction sees it); just before the
caller's transaction commits, the entries it added get consecutive positions: the head row
is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite already holds its one write lock
since BEGIN IMMEDIATE), leaves are inserted, the head advances, and the commit releases the
lock. The lock is the last one a transaction takes and is held only for the commit itself,
so it cannot deadlock with row locks and does not queue requests for their whole length.
SECURITY.md ("Audit log") records the measurements behind this choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session, object_session

from app.audit.canonical import entry_leaf
from app.audit.merkle import (
    fold_right,
    frontier_append,
    pack_frontier,
    unpack_frontier,
)
from app.audit.models import AuditEntry, AuditHead, AuditLeaf
from app.db import utcnow

_PENDING = "haven.audit.pending"
HEAD_ID = 1


class AuditHeadMissing(RuntimeError):
    """The head row is absent: the schema was not built by the migrations."""


def lock_head(session: Session) -> AuditHead:
    """The head row, locked until the transaction ends."""
    stmt = (
        select(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    head = session.scalars(stmt).one_or_none()
    if head is None:
        raise AuditHeadMissing("audit_head row 1 is missing: run the migrations")
    return head


def read_head(session: Session) -> tuple[int, bytes]:
    """The head's tree size and root, without locking."""
    stmt = select(AuditHead).where(AuditHead.id == HEAD_ID)
    head = session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()
    if head is None:
        raise AuditHeadMissing("audit_head row 1 is missing: run the migrations")
    return head.size, fold_right(unpack_frontier(head.frontier, head.size))


def append_leaves(session: Session, entries: Sequence[AuditEntry]) -> list[int]:
    """Give flushed entries the next positions; returns their seqs. Caller holds no head."""
    head = lock_head(session)
    size = head.size
    frontier = unpack_frontier(head.frontier, size)
    rows: list[dict[str, Any]] = []
    for entry in sorted(entries, key=lambda e: e.id):
        leaf = entry_leaf(size, entry.id, entry.body)
        rows.append({"seq": size, "entry_id": entry.id, "leaf_hash": leaf})
        frontier_append(frontier, size, leaf)
        size += 1
    session.execute(insert(AuditLeaf), rows)
    head.size = size
    head.frontier = pack_frontier(frontier)
    head.updated_at = utcnow()
    session.flush()
    return [r["seq"] for r in rows]


@event.listens_for(AuditEntry, "after_insert")
def _track_new_entry(_mapper: Any, _connection: Any, target: AuditEntry) -> None:
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_PENDING, []).append(target)


@event.listens_for(Session, "before_commit")
def _integrate_before_commit(session: Session) -> None:
    if not session.info.get(_PENDING) and not any(isinstance(o, AuditEntry) for o in session.new):
        return
    session.flush()  # entries added without record() are inserted (and tracked) now
    pending: list[AuditEntry] = session.info.pop(_PENDING, [])
    # Entries from a rolled-back savepoint are no longer persistent: they never happened.
    live = [e for e in pending if inspect(e).persistent]
    if live:
        append_leaves(session, live)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
