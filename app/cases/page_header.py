"""What every page of one case shows at its top (the case file and its documents, referrals,
tasks and timeline pages): the code, stage, risk and assignee from the plain columns (no
decryption), and the break-glass banner while the caller reaches the case only through a
grant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.cases import break_glass
from app.cases.search import list_item
from app.policy.access import CaseAccess


def case_header(db: Session, access: CaseAccess, *, now: datetime) -> dict[str, Any]:
    """Context for templates/cases/_header.html: `head` (the list shape) and `glass_until`."""
    until = break_glass.held_until(db, actor=access.actor, case=access.case, now=now)
    return {"head": list_item(access.case), "glass_until": until}
