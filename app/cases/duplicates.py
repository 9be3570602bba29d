"""The duplicate check at intake: may this person already be known to the organisation?

It looks beyond the actor's scope (a person known to another team must not get a second case
unnoticed) and only says so (`outside_scope`), which makes it an oracle ("is this phone a
client?") for an infiltrated account. Bounded three ways: a probe must carry a real term (a
name with a word of two letters or more: never a birth date alone), checks are throttled per
account in the database (every process shares the count), and every check is audited with
the kinds of term and whether it hit outside the scope, never the terms, so that a burst
raises an auditor alert (`app/audit/service.py`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction, DuplicateCheck
from app.audit.log import record
from app.cases.models import Case
from app.cases.search import Filters, confirmed, list_item
from app.crypto.keyring import Keyring
from app.errors import Throttled
from app.policy.deps import Actor
from app.policy.permissions import Permission
from app.policy.scope import readable_cases
from app.security.throttle import counter_row, retry_after

CHECKS_PER_WINDOW = 30
WINDOW = timedelta(hours=1)
# Rows live in the shared throttle table under their own prefix (like the public intake's).
THROTTLE_PREFIX = "dup:"
# How the audit log marks a duplicate check (action case.searched) and its outcomes.
REASON = DuplicateCheck.REASON.value
REASON_THROTTLED = DuplicateCheck.THROTTLED.value
OUTSIDE_SCOPE = DuplicateCheck.OUTSIDE_SCOPE.value


def admit(db: Session, *, actor_id: uuid.UUID, now: datetime) -> None:
    """Count one duplicate check for the account, or raise Throttled (429) past the limit.
    The row is locked (PostgreSQL) or the database is (SQLite) until the request commits,
    so parallel requests of one account cannot both take the last slot."""
    row = counter_row(db, THROTTLE_PREFIX + str(actor_id), now)
    if now - row.window_start >= WINDOW:
        row.failures, row.window_start, row.locked_until = 0, now, None
    if row.failures >= CHECKS_PER_WINDOW:
        row.locked_until = row.window_start + WINDOW
        db.flush()
        raise Throttled(
            "Too many duplicate checks; try again later.",
            retry_after=retry_after(row.locked_until, now),
        )
    row.failures += 1
    db.flush()


def record_throttled(db: Session, *, actor: Actor, kinds: list[str]) -> None:
    """Audit a refused check (outcome denied, so it also feeds the denied-burst alert)."""
    record(
        db,
        AuditAction.CASE_SEARCHED,
        by=actor,
        on=("case", None),
        fields=sorted(kinds),
        outcome="denied",
        reason=REASON_THROTTLED,
    )


def find(
    db: Session, *, keyring: Keyring, actor: Actor, probes: list[Filters], now: datetime
) -> dict[str, Any]:
    """Cases that may be the same person: in scope listed; outside scope only flagged."""
    found: set[uuid.UUID] = set()
    for probe in probes:
        cases, _every = confirmed(db, keyring=keyring, stmt=select(Case), f=probe)
        found |= {c.id for c in cases}
    mine = list(
        db.scalars(
            readable_cases(actor, Permission.CASE_SEARCH, now=now)
            .where(Case.id.in_(found))
            .order_by(Case.case_code)
        )
    )
    return {
        "matches": [list_item(c) for c in mine],
        "outside_scope": len(mine) < len(found),
    }


def check(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    probes: list[Filters],
    kinds: list[str],
    now: datetime,
) -> dict[str, Any]:
    """Throttle, look, audit (outcome `outside_scope` when a hit lay outside the scope). A
    refused check is audited too, and the refusal kept although the request fails."""
    try:
        admit(db, actor_id=actor.id, now=now)
    except Throttled as refused:
        record_throttled(db, actor=actor, kinds=kinds)
        refused.keep_record = True
        raise
    result = find(db, keyring=keyring, actor=actor, probes=probes, now=now)
    outcome = OUTSIDE_SCOPE if result["outside_scope"] else "ok"
    record(
        db,
        AuditAction.CASE_SEARCHED,
        by=actor,
        on=("case", None),
        fields=sorted(kinds),
        outcome=outcome,
        reason=REASON,
    )
    return result
