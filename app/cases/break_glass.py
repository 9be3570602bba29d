"""Break-glass: time-limited access to a case outside one's scope, after typing a reason.

The grant is audited (who, which case, when; never the reason's text) and listed for
auditors and for the coordinators of the case's team.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases.models import BreakGlassGrant, Case
from app.crypto.keyring import Keyring
from app.crypto.system_keys import open_break_glass_reason, seal_break_glass_reason
from app.errors import InvalidInput
from app.policy.deps import Actor
from app.policy.scope import break_glass_review_scope, case_scope

GRANT_DURATION = timedelta(hours=1)
REASON_MIN, REASON_MAX = 10, 2000


def open_grant(
    db: Session, *, actor: Actor, case: Case, reason: str, now: datetime, keyring: Keyring
) -> BreakGlassGrant:
    """Grant actor one hour of access to case; the reason is stored encrypted, never logged."""
    reason = reason.strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidInput("reason", f"must be {REASON_MIN} to {REASON_MAX} characters")
    grant_id = uuid.uuid4()
    key_id, sealed = seal_break_glass_reason(db, keyring=keyring, grant_id=grant_id, reason=reason)
    grant = BreakGlassGrant(
        id=grant_id,
        actor_id=actor.id,
        case_id=case.id,
        reason=sealed,
        reason_key_id=key_id,
        created_at=now,
        expires_at=now + GRANT_DURATION,
    )
    db.add(grant)
    db.flush()
    record(
        db,
        AuditAction.BREAK_GLASS,
        by=actor,
        on=("case", case.id),
        fields=["reason"],
        reason="granted",
    )
    return grant


def reviewable_grants(
    db: Session, *, actor: Actor, since: datetime | None = None, limit: int | None = None
) -> list[tuple[BreakGlassGrant, Case]]:
    """Grants the actor may review, newest first: auditors all, coordinators those on their
    teams' cases (only those made `since`, at most `limit`, when given)."""
    stmt = (
        select(BreakGlassGrant, Case)
        .join(Case, Case.id == BreakGlassGrant.case_id)
        .where(break_glass_review_scope(actor))
        .order_by(BreakGlassGrant.created_at.desc(), BreakGlassGrant.id)
    )
    if since is not None:
        stmt = stmt.where(BreakGlassGrant.created_at >= since)
    return [(g, c) for g, c in db.execute(stmt.limit(limit))]


def reason_text(db: Session, *, keyring: Keyring, grant: BreakGlassGrant) -> str | None:
    """The grant's reason, decrypted for a reviewer allowed to read it."""
    if grant.reason is None or grant.reason_key_id is None:
        return None
    return open_break_glass_reason(
        db, keyring=keyring, grant_id=grant.id, key_id=grant.reason_key_id, sealed=grant.reason
    )


def held_until(db: Session, *, actor: Actor, case: Case, now: datetime) -> datetime | None:
    """Until when actor reaches case through a live break-glass grant (None: through their
    own scope, or not at all). A page shows it while it lasts."""
    if case_scope_holds(db, actor=actor, case=case, now=now):
        return None
    return db.scalar(
        select(func.max(BreakGlassGrant.expires_at)).where(
            BreakGlassGrant.case_id == case.id,
            BreakGlassGrant.actor_id == actor.id,
            BreakGlassGrant.expires_at > now,
        )
    )


def case_scope_holds(db: Session, *, actor: Actor, case: Case, now: datetime) -> bool:
    """True when the case lies in actor's own scope (no grant needed)."""
    found = db.scalar(select(Case.id).where(Case.id == case.id, case_scope(actor, now=now)))
    return found is not None
