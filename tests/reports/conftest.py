"""Synthetic populations for report tests: cases with chosen plain dimensions, intake and
closing times and stage history (no personal field is set: reports never read one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.cases.models import Case, StageChange
from app.crypto.keyring import Keyring
from app.users.models import Team
from tests.factories import make_case


@dataclass
class Spec:
    """One synthetic case, as the report sees it."""

    citizenship: str | None = "RU"
    situation: str | None = "deserted"
    current_country: str | None = "GE"
    needs: list[str] = field(default_factory=lambda: ["legal"])
    source: str = "staff"
    # Days before now the case was taken in.
    age_days: int = 40
    # (stage, days after intake) of each later transition, in order.
    moves: list[tuple[str, int]] = field(default_factory=list)
    outcome_kind: str | None = None


def add_cases(
    db: Session, keyring: Keyring, team: Team, specs: list[Spec], *, now: datetime
) -> list[Case]:
    """The cases, made through the case service, then given their times and history."""
    out = []
    for spec in specs:
        created_at = now - timedelta(days=spec.age_days)
        values: dict[str, object] = {"needs": spec.needs}
        for name in ("citizenship", "situation", "current_country"):
            if getattr(spec, name) is not None:
                values[name] = getattr(spec, name)
        case = make_case(db, keyring=keyring, team=team, values=values, now=created_at)
        case.source = spec.source
        case.outcome_kind = spec.outcome_kind
        case.created_at = created_at
        stage = "intake"
        for to, days in spec.moves:
            at = created_at + timedelta(days=days)
            db.add(StageChange(case_id=case.id, at=at, from_stage=stage, to_stage=to))
            stage = to
            case.closed_at = at if to == "closed" else None
        case.stage = stage
        out.append(case)
    db.flush()
    return out
