"""What withdrawing share consent does to referrals."""

from __future__ import annotations

import uuid
from collections.abc import Set

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.referrals.models import Referral

PENDING = ("draft", "sent")


def block_referrals_without_consent(
    db: Session, *, case_id: uuid.UUID, partner_ids: Set[uuid.UUID]
) -> int:
    """Block the case's pending referrals to partners whose share consent was withdrawn."""
    if not partner_ids:
        return 0
    result = db.execute(
        update(Referral)
        .where(
            Referral.case_id == case_id,
            Referral.partner_id.in_(partner_ids),
            Referral.status.in_(PENDING),
        )
        .values(blocked=True)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)
