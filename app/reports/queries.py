"""The report's SQL: one grouped query per table, over the plain, reportable columns only.

Nothing here touches an encrypted column, a data key or the keyring: every statement selects
from `cases` (stage, team, source, the reportable dimensions, times) and `case_stage_changes`
(from, to, when), and answers counts. Work is per group, never per case, so the cost grows
with the number of rows the database scans, not with Python loops (bench/reports_bench.py).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from app.cases.models import Case, StageChange
from app.cases.vocab import Need, Stage

Month = tuple[int, int]


@dataclass(frozen=True)
class Population:
    """Which cases a report counts: teams (None: every team) and the intake period
    [since, until) in UTC."""

    team_ids: frozenset[uuid.UUID] | None
    since: datetime
    until: datetime

    def where(self, db: Session) -> list[ColumnElement[bool]]:
        """The WHERE conditions on `cases`."""
        # `+created_at` keeps SQLite from walking the (team_id, created_at) index over every
        # team (a skip-scan, then one lookup per row) when a plain scan reads the table once;
        # with a team, the index still narrows by team_id. PostgreSQL's planner needs no hint.
        created: ColumnElement[datetime] = Case.created_at.expression
        if db.get_bind().dialect.name == "sqlite":
            created = literal_column("+cases.created_at", type_=Case.created_at.type)
        out: list[ColumnElement[bool]] = [created >= self.since, created < self.until]
        if self.team_ids is not None:
            out.append(Case.team_id.in_(sorted(self.team_ids)))
        return out


def _utc(db: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The time in UTC whatever the PostgreSQL session's zone (SQLite stores UTC text)."""
    if db.get_bind().dialect.name == "postgresql":
        return func.timezone("UTC", column)
    return column


def _month(db: Session, column: ColumnElement[Any]) -> tuple[ColumnElement[int], ...]:
    at = _utc(db, column)
    return (cast(extract("year", at), Integer), cast(extract("month", at), Integer))


def total(db: Session, pop: Population) -> int:
    """How many cases the population holds."""
    return int(db.scalar(select(func.count()).select_from(Case).where(*pop.where(db))) or 0)


def count_by(db: Session, pop: Population, *columns: str) -> dict[tuple[str | None, ...], int]:
    """Cases grouped by plain columns (one statement), keyed by their values."""
    cols = [getattr(Case, name) for name in columns]
    stmt = select(*cols, func.count()).where(*pop.where(db)).group_by(*cols)
    return {tuple(row[:-1]): int(row[-1]) for row in db.execute(stmt)}


def count_outcomes(db: Session, pop: Population) -> dict[str | None, int]:
    """Closed cases by the kind of their outcome (None: not recorded)."""
    stmt = (
        select(Case.outcome_kind, func.count())
        .where(*pop.where(db), Case.stage == Stage.CLOSED.value)
        .group_by(Case.outcome_kind)
    )
    return {kind: int(n) for kind, n in db.execute(stmt)}


def count_needs(db: Session, pop: Population) -> dict[str, int]:
    """Cases per need (a case counts once in each need it has) and `none`, in one statement.

    `needs` is a JSON list of vocabulary words; its text holds each as `"word"`, which no
    other word contains, so a LIKE on the text is exact on both databases."""
    text = cast(Case.needs, String)
    sums = [
        func.coalesce(func.sum(case((text.like(f'%"{need.value}"%'), 1), else_=0)), 0)
        for need in Need
    ]
    empty = and_(*(text.not_like(f'%"{need.value}"%') for need in Need))
    sums.append(func.coalesce(func.sum(case((empty, 1), else_=0)), 0))
    row = db.execute(select(*sums).where(*pop.where(db))).one()
    return dict(zip([n.value for n in Need] + ["none"], map(int, row), strict=True))


def count_by_month(db: Session, pop: Population, *, closed: bool) -> dict[Month, int]:
    """Cases by month of intake, or (closed) the closed ones by month of closing."""
    column = Case.closed_at.expression if closed else Case.created_at.expression
    year, month = _month(db, column)
    conds = pop.where(db)
    if closed:
        conds += [Case.stage == Stage.CLOSED.value, Case.closed_at.is_not(None)]
    stmt = select(year, month, func.count()).where(*conds).group_by(year, month)
    return {(int(y), int(m)): int(n) for y, m, n in db.execute(stmt)}


def _days(
    db: Session, start: ColumnElement[datetime], end: ColumnElement[datetime]
) -> ColumnElement[int]:
    """Whole days from start to end, in SQL."""
    if db.get_bind().dialect.name == "postgresql":
        seconds = extract("epoch", end - start)
        return cast(func.floor(seconds / 86400), Integer)
    return cast(func.floor(func.julianday(end) - func.julianday(start)), Integer)


def stage_spells(db: Session, pop: Population) -> dict[str, dict[int, int]]:
    """Finished stays in each stage, from the stage history: stage -> {whole days: how many}.

    One statement: each change's next change (LEAD over the case's history, in the order
    of the (case_id, at) index, so no sort) ends the stay it began; a stay still running is
    not counted. A histogram of days, not the stays, comes
    back, so the percentiles need no per-case work."""
    nxt = func.lead(StageChange.at).over(partition_by=StageChange.case_id, order_by=StageChange.at)
    spells = (
        select(
            StageChange.to_stage.label("stage"), StageChange.at.label("began"), nxt.label("ended")
        )
        .join(Case, Case.id == StageChange.case_id)
        .where(*pop.where(db))
        .subquery()
    )
    days = _days(db, spells.c.began, spells.c.ended)
    stmt = (
        select(spells.c.stage, days, func.count())
        .where(spells.c.ended.is_not(None))
        .group_by(spells.c.stage, days)
    )
    out: dict[str, dict[int, int]] = {}
    for stage, d, n in db.execute(stmt):
        out.setdefault(str(stage), {})[max(int(d), 0)] = int(n)
    return out


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
    """The true counts of a population: one grouped statement per table."""
    by: dict[tuple[str, ...], dict[tuple[str | None, ...], int]] = {}
    for names in [(name,) for name in ONE_WAY] + list(CROSSES):
        by[names] = count_by(db, pop, *names)
    return RawCounts(
        total=total(db, pop),
        by=by,
        needs=count_needs(db, pop),
        outcomes=count_outcomes(db, pop),
        intake=count_by_month(db, pop, closed=False),
        closed=count_by_month(db, pop, closed=True),
        spells=stage_spells(db, pop),
    )
