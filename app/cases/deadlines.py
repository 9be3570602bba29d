"""The dates a case must meet, kept in plaintext beside the encrypted protection steps.

A hearing's or deadline's date alone (never its place, court or notes) is written to
`case_deadlines` whenever the protection steps change, so the coordinator's board can show
what falls due in the next days, and a list can be sorted by it, without a key. The trade-off
is named in SECURITY.md: a seized database shows that a case has a date, not what it is.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from app.cases.models import Case, CaseDeadline


class DeadlineKind(enum.StrEnum):
    """What kind of date it is."""

    HEARING = "hearing"
    DEADLINE = "deadline"


def rewrite(db: Session, *, case: Case, protection: Mapping[str, Any] | None) -> None:
    """Replace the case's dates with those of its protection steps (JSON-ready values)."""
    db.execute(delete(CaseDeadline).where(CaseDeadline.case_id == case.id))
    steps = protection or {}
    for kind, key in ((DeadlineKind.HEARING, "hearings"), (DeadlineKind.DEADLINE, "deadlines")):
        for item in steps.get(key) or []:
            db.add(CaseDeadline(case_id=case.id, on=date.fromisoformat(item["on"]), kind=kind))


def next_due(today: date) -> ColumnElement[date]:
    """The case's earliest date from today on (NULL when none), as a correlated subquery."""
    return (
        select(func.min(CaseDeadline.on))
        .where(CaseDeadline.case_id == Case.id, CaseDeadline.on >= today)
        .correlate(Case)
        .scalar_subquery()
    )
