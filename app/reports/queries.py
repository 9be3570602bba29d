"""The report's counts: one grouped statement over the maintained counts, plain values only.

Nothing here touches an encrypted column, a data key or the keyring: the statement sums
`report_counts` (app/reports/counts.py: per team, month of intake and reportable value, kept
with every case write) over the population's teams and months. Its cost grows with teams x
months x categories, not with the number of cases (bench/reports_bench.py).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.vocab import Need
from app.reports.counts import NONE, ReportCount

Month = tuple[int, int]


@dataclass(frozen=True)
class Population:
    """Which cases a report counts: teams (None: every team) and the months of intake,
    first and last included (the maintained counts are kept per month of intake)."""

    team_ids: frozenset[uuid.UUID] | None
    first: Month
    last: Month


def nearest_rank(histogram: dict[int, int], share: float) -> int | None:
    """The nearest-rank percentile (share in (0, 1]) of a histogram of whole days."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank, seen = max(1, math.ceil(round(share * n, 9))), 0
    for days in sorted(histogram):
        seen += histogram[days]
        if seen >= rank:
            return days
    return max(histogram)


def months_between(first: Month, last: Month) -> Sequence[Month]:
    """Every month from first to last, inclusive."""
    out, (y, m) = [], first
    while (y, m) <= last:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


CROSSES: tuple[tuple[str, str], ...] = (("citizenship", "situation"), ("situation", "stage"))
ONE_WAY = ("stage", "situation", "source", "citizenship", "current_country")


@dataclass(frozen=True)
class RawCounts:
    """Every true count a summary is made from, before any suppression (never leaves the
    service: build_summary suppresses it at once)."""

    total: int
    by: dict[tuple[str, ...], dict[tuple[str | None, ...], int]]
    needs: dict[str, int]
    outcomes: dict[str | None, int]
    intake: dict[Month, int]
    closed: dict[Month, int]
    spells: dict[str, dict[int, int]]


def collect(db: Session, pop: Population) -> RawCounts:
    """The true counts of a population: one grouped statement over the maintained counts
    (app/reports/counts.py), whatever the number of cases."""
    stmt = (
        select(ReportCount.dim, ReportCount.a, ReportCount.b, func.sum(ReportCount.n))
        .where(
            ReportCount.month >= pop.first[0] * 100 + pop.first[1],
            ReportCount.month <= pop.last[0] * 100 + pop.last[1],
        )
        .group_by(ReportCount.dim, ReportCount.a, ReportCount.b)
    )
    if pop.team_ids is not None:
        stmt = stmt.where(ReportCount.team_id.in_(sorted(pop.team_ids)))
    by: dict[tuple[str, ...], dict[tuple[str | None, ...], int]] = {
        names: {} for names in [(name,) for name in ONE_WAY] + list(CROSSES)
    }
    needs = {n.value: 0 for n in Need} | {"none": 0}
    outcomes: dict[str | None, int] = {}
    intake: dict[Month, int] = {}
    closed: dict[Month, int] = {}
    spells: dict[str, dict[int, int]] = {}
    for dim, a, b, total in db.execute(stmt):
        n = int(total or 0)
        if n == 0:
            continue
        if dim in ONE_WAY:
            by[(dim,)][(_value(a),)] = n
        elif "|" in dim:
            r, c = dim.split("|")
            by[(r, c)][(_value(a), _value(b))] = n
        elif dim == "need":
            needs[a] = n
        elif dim == "outcome_kind":
            outcomes[_value(a)] = n
        elif dim in ("intake_month", "closure_month"):
            month = (int(a[:4]), int(a[5:7]))
            (intake if dim == "intake_month" else closed)[month] = n
        elif dim == "spell":
            spells.setdefault(a, {})[int(b)] = n
    return RawCounts(
        total=sum(by[("stage",)].values()),
        by=by,
        needs=needs,
        outcomes=outcomes,
        intake=intake,
        closed=closed,
        spells=spells,
    )


def _value(stored: str) -> str | None:
    return None if stored == NONE else stored
