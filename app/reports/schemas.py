"""The summary report as the API answers it: every count suppressed (docs/reports.md)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from app.reports.service import Summary, month_key
from app.reports.suppression import Published

MONTH_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"


class CountOut(BaseModel):
    """A count as published: `value` is rounded to a multiple of `k`, or null when hidden;
    `shown` is how it reads (`10`, `<5`, `×`); `hidden` says why: `small` (under k) or
    `complementary` (hidden so that a small count cannot be worked out from the others)."""

    value: int | None
    shown: str
    hidden: Literal["small", "complementary"] | None

    @classmethod
    def of(cls, cell: Published, k: int) -> CountOut:
        """The API shape of a published count."""
        hidden = cell.hidden.value if cell.hidden else None
        return cls(value=cell.value, shown=cell.text(k), hidden=hidden)


class RowOut(CountOut):
    """One category of a table (a vocabulary value, a country code, `other`, `unknown`,
    `none` or a month `YYYY-MM`)."""

    key: str


class TableOut(BaseModel):
    """Counts by one dimension; `adds_up` is false where a case counts in several rows."""

    name: str
    adds_up: bool
    rows: list[RowOut]


class CellOut(CountOut):
    """One cell of a two-way table."""

    row: str
    column: str


class CrossTableOut(BaseModel):
    """Counts by two dimensions (e.g. citizenship by situation)."""

    name: str
    rows: str
    columns: str
    cells: list[CellOut]


class StageTimeOut(BaseModel):
    """Finished stays in a stage: how many, and their median and 90th percentile in whole
    days (null when fewer than k stays)."""

    stage: str
    stays: CountOut
    median_days: int | None
    p90_days: int | None


class RuleOut(BaseModel):
    """How the counts were protected: under `min_cell` hidden, the rest rounded to a
    multiple of `rounding`, complementary cells hidden (docs/reports.md)."""

    min_cell: int
    rounding: int


class SummaryOut(BaseModel):
    """Aggregate counts of the cases taken in during the period, in the caller's scope."""

    since: str = Field(pattern=MONTH_PATTERN)
    until: str = Field(pattern=MONTH_PATTERN)
    team: uuid.UUID | None
    rule: RuleOut
    total: CountOut
    tables: list[TableOut]
    cross_tables: list[CrossTableOut]
    time_in_stage: list[StageTimeOut]

    @classmethod
    def of(cls, s: Summary) -> SummaryOut:
        """The API shape of a summary."""
        k = s.k
        return cls(
            since=month_key(s.period.first),
            until=month_key(s.period.last),
            team=s.team_id,
            rule=RuleOut(min_cell=k, rounding=k),
            total=CountOut.of(s.total, k),
            tables=[
                TableOut(
                    name=t.name,
                    adds_up=t.adds_up,
                    rows=[
                        RowOut(key=r.key, **CountOut.of(r.count, k).model_dump()) for r in t.rows
                    ],
                )
                for t in s.tables
            ],
            cross_tables=[
                CrossTableOut(
                    name=c.name,
                    rows=c.rows,
                    columns=c.columns,
                    cells=[
                        CellOut(row=x, column=y, **CountOut.of(c.cells[(x, y)], k).model_dump())
                        for x in c.row_keys
                        for y in c.column_keys
                    ],
                )
                for c in s.crosses
            ],
            time_in_stage=[
                StageTimeOut(
                    stage=t.stage,
                    stays=CountOut.of(t.stays, k),
                    median_days=t.median_days,
                    p90_days=t.p90_days,
                )
                for t in s.time_in_stage
            ],
        )
