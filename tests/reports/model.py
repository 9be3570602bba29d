"""A report's population in plain Python, for property tests: synthetic cases as tuples of
their plain dimensions, grouped exactly as app/reports/queries.py groups them in SQL
(tests/reports/test_queries.py holds the two to the same answers)."""

from __future__ import annotations

from dataclasses import dataclass

from app.cases.vocab import Need
from app.reports.queries import Month, RawCounts


@dataclass(frozen=True)
class Plain:
    """One case as a report sees it."""

    team: int
    month: Month
    stage: str
    citizenship: str | None
    situation: str | None
    current_country: str | None
    source: str
    needs: tuple[str, ...]
    closed: Month | None
    # Finished stays: (stage, whole days).
    stays: tuple[tuple[str, int], ...] = ()
    outcome_kind: str | None = None


def raw_counts(cases: list[Plain]) -> RawCounts:
    """What queries.collect answers for exactly these cases."""
    by: dict[tuple[str, ...], dict[tuple[str | None, ...], int]] = {}
    names = [("stage",), ("situation",), ("source",), ("citizenship",), ("current_country",)]
    for group in [*names, ("citizenship", "situation"), ("situation", "stage")]:
        counts: dict[tuple[str | None, ...], int] = {}
        for c in cases:
            key = tuple(getattr(c, n) for n in group)
            counts[key] = counts.get(key, 0) + 1
        by[group] = counts
    needs = {n.value: sum(n.value in c.needs for c in cases) for n in Need}
    needs["none"] = sum(not c.needs for c in cases)
    outcomes: dict[str | None, int] = {}
    for c in cases:
        if c.stage == "closed":
            outcomes[c.outcome_kind] = outcomes.get(c.outcome_kind, 0) + 1
    intake: dict[Month, int] = {}
    closed: dict[Month, int] = {}
    spells: dict[str, dict[int, int]] = {}
    for c in cases:
        intake[c.month] = intake.get(c.month, 0) + 1
        if c.stage == "closed" and c.closed is not None:
            closed[c.closed] = closed.get(c.closed, 0) + 1
        for stage, days in c.stays:
            hist = spells.setdefault(stage, {})
            hist[days] = hist.get(days, 0) + 1
    return RawCounts(len(cases), by, needs, outcomes, intake, closed, spells)
