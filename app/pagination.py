"""Lists: every list the API answers is one page, `{items, page, per_page, total}`.

A list takes `?page=` and `?per_page=` (at most MAX_PER_PAGE), and, where it can be
ordered more than one way, `?sort=` (a name, `-name` for the other direction). The count and
the page are two SQL statements whatever the size of the list.

A count costs as much as the rows it counts: at a million cases a COUNT(*) over a team takes
longer than the page itself. So the big lists (cases, tasks) count at most `cap` rows
(`HAVEN_LIST_COUNT_CAP`, 10,000): beyond it `total` is the cap and `total_capped` is true,
meaning "at least `total`". Where the exact number is kept anyway (the case list by team and
stage, app/reports/counts.py), it is exact at any size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.validation import Strict

T = TypeVar("T")
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
MAX_PAGE = 10_000
DEFAULT_COUNT_CAP = 10_000


class PageQuery(Strict):
    """Which page of a list, and how long a page is."""

    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, which page, how long a page is, how many in all
    (`total_capped`: the list holds at least `total`; counting stopped there)."""

    items: list[T]
    page: int
    per_page: int
    total: int
    total_capped: bool = Field(
        default=False,
        description="true: counting stopped at the cap; the list holds at least `total` items",
    )


def page_rows(db: Session, stmt: Select[Any], q: PageQuery) -> tuple[list[Any], int]:
    """The rows of one page of an ordered statement, and the count of all its rows."""
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = list(db.execute(stmt.limit(q.per_page).offset(q.offset)).all())
    return [row[0] if len(row) == 1 else tuple(row) for row in rows], total


def bounded_count(db: Session, stmt: Select[*tuple[Any, ...]], cap: int) -> tuple[int, bool]:
    """How many rows stmt selects, counting at most `cap` + 1 of them: (cap, True) when there
    are more than cap (the count reads no more rows than that, whatever the table holds)."""
    limited = stmt.order_by(None).limit(cap + 1).subquery()
    n = db.scalar(select(func.count()).select_from(limited)) or 0
    return (cap, True) if n > cap else (n, False)


def page_rows_bounded(
    db: Session, stmt: Select[Any], q: PageQuery, *, cap: int, total: int | None = None
) -> tuple[list[Any], int, bool]:
    """The rows of one page, and the count of all rows bounded by cap (or `total`, when
    the caller knows it exactly): rows, total, capped."""
    capped = False
    if total is None:
        total, capped = bounded_count(db, stmt, cap)
    rows = list(db.execute(stmt.limit(q.per_page).offset(q.offset)).all())
    items = [row[0] if len(row) == 1 else tuple(row) for row in rows]
    if capped and q.offset + len(items) > total:
        total = q.offset + len(items)  # a page past the cap: at least what it shows
    return items, total, capped


def page_of(
    items: Sequence[T], q: PageQuery, total: int | None = None, *, capped: bool = False
) -> Page[T]:
    """A Page of items already cut to this page (or of a whole list, cut here)."""
    if total is None:
        return Page(
            items=list(items[q.offset : q.offset + q.per_page]),
            page=q.page,
            per_page=q.per_page,
            total=len(items),
        )
    return Page(
        items=list(items), page=q.page, per_page=q.per_page, total=total, total_capped=capped
    )
