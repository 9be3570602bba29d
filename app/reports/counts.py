"""The maintained counts a report is read from: `report_counts`, kept in the same transaction
as every case write, so a summary sums a few thousand rows instead of scanning every case.

One row per (team, month of intake, dimension, value, second value): how many cases of that
team taken in that month have that value. The dimensions (`DIMS`) are the report's tables:

- one-way: `stage`, `situation`, `source`, `citizenship`, `current_country` (value '' for
  "not recorded"), `intake_month` and `closure_month` (`YYYY-MM`; closing only for closed
  cases), `outcome_kind` (closed cases; '' for not recorded);
- `need`: multi-valued, a case counts once in each vocabulary need it has, or in `none`;
- two-way: `citizenship|situation`, `situation|stage` (second value in `b`);
- `spell`: the histogram of finished stays, `a` the stage, `b` the whole days it lasted
  (from the stage history: each change ends the stay the previous one began).

How it is kept: a `before_flush` hook on every Session sees every case the session inserts,
changes or deletes and every stage change it adds, computes the cells the case counted in
before and after (old values from the ORM's attribute history) and adds the difference with
one upsert per changed cell, in a fixed order (no deadlock between two writers). Every write
path of the application goes through the ORM, so no service has to remember it; the one
exception is erasure, which deletes the stage history with a bulk DELETE first and so calls
`forget_history` before it. `haven reports rebuild` (`rebuild`) recomputes the table from the
cases; tests/reports/test_counts.py checks that random writes leave it equal to that.

Nothing here reads an encrypted column or a key: the same plain columns as before.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    String,
    Table,
    delete,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.cases.models import Case, StageChange
from app.cases.vocab import Need, Stage
from app.db import Base


class ReportCount(Base):
    """How many cases of a team, taken in during a month, count in one cell of a report."""

    __tablename__ = "report_counts"

    team_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The month of intake as yyyymm (202612).
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    dim: Mapped[str] = mapped_column(String(40), primary_key=True)
    a: Mapped[str] = mapped_column(String(32), primary_key=True)
    b: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)

    # Covering, in the summary's GROUP BY order (dim, a, b), then the filters: the summary
    # over every team reads it once without sorting, and the case list's exact total (one
    # dimension, one value: app/cases/search.py) reads only that value's rows.
    __table_args__ = (
        Index("ix_report_counts_dim_a_b_month_team_id", "dim", "a", "b", "month", "team_id", "n"),
    )


ONE_WAY = ("stage", "situation", "source", "citizenship", "current_country")
CROSSES = (("citizenship", "situation"), ("situation", "stage"))
DIMS = (
    *ONE_WAY,
    *(f"{r}|{c}" for r, c in CROSSES),
    "need",
    "intake_month",
    "closure_month",
    "outcome_kind",
    "spell",
)
# The case columns a report counts by (a change to any other column changes no count).
COLUMNS = (
    "team_id",
    "created_at",
    "stage",
    "situation",
    "source",
    "citizenship",
    "current_country",
    "needs",
    "closed_at",
    "outcome_kind",
)
NEEDS = frozenset(n.value for n in Need)
NONE = ""  # a dimension's value not recorded

Key = tuple[uuid.UUID, int, str, str, str]


@dataclass(frozen=True)
class Values:
    """A case as the report sees it."""

    team_id: uuid.UUID
    created_at: datetime
    stage: str
    situation: str | None
    source: str
    citizenship: str | None
    current_country: str | None
    needs: tuple[str, ...]
    closed_at: datetime | None
    outcome_kind: str | None


def month_of(at: datetime) -> int:
    """yyyymm of a time, in UTC."""
    at = at.astimezone(UTC) if at.tzinfo else at
    return at.year * 100 + at.month


def month_text(month: int) -> str:
    """`2026-03` of 202603."""
    return f"{month // 100:04d}-{month % 100:02d}"


def days_between(start: datetime, end: datetime) -> int:
    """Whole days from start to end (floor; 0 when end is not after start)."""
    delta = end - start
    return max(delta.days, 0)


def cells(v: Values) -> list[tuple[str, str, str]]:
    """The cells (dimension, value, second value) one case counts in, spells apart."""

    def val(x: str | None) -> str:
        return NONE if x is None else str(x)

    plain = {name: val(getattr(v, name)) for name in ONE_WAY}
    out = [(name, plain[name], "") for name in ONE_WAY]
    out += [(f"{r}|{c}", plain[r], plain[c]) for r, c in CROSSES]
    needs = sorted(set(v.needs or ()) & NEEDS)
    out += [("need", n, "") for n in needs] or [("need", "none", "")]
    out.append(("intake_month", month_text(month_of(v.created_at)), ""))
    if v.stage == Stage.CLOSED.value:
        out.append(("outcome_kind", val(v.outcome_kind), ""))
        if v.closed_at is not None:
            out.append(("closure_month", month_text(month_of(v.closed_at)), ""))
    return out


History = Sequence[tuple[datetime, uuid.UUID, str]]  # (at, id, to_stage)


def spells(history: History) -> list[tuple[str, str, str]]:
    """The finished stays of a stage history (any order): each change ends the stay the one
    before it began."""
    ordered = sorted(history, key=lambda h: (h[0], h[1]))
    return [
        ("spell", before[2], str(days_between(before[0], after[0])))
        for before, after in itertools.pairwise(ordered)
    ]


def _add(
    delta: Counter[Key], team: uuid.UUID, month: int, these: Iterable[tuple[str, str, str]], by: int
) -> None:
    for dim, a, b in these:
        delta[(team, month, dim, a, b)] += by


def apply(db: Session, delta: Counter[Key]) -> None:
    """Add each non-zero difference to its row (an upsert each, in key order)."""
    rows = [
        {"team_id": t, "month": m, "dim": d, "a": a, "b": b, "n": n}
        for (t, m, d, a, b), n in sorted(delta.items(), key=lambda kv: (kv[0][0].hex, kv[0][1:]))
        if n
    ]
    if not rows:
        return
    table = cast(Table, ReportCount.__table__)
    conn = db.connection()
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = make(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["team_id", "month", "dim", "a", "b"],
        set_={"n": table.c.n + stmt.excluded.n},
    )
    conn.execute(stmt, rows)


# --- keeping it: the session hook -------------------------------------------------------


def _old(case: Case, name: str) -> Any:
    """The value a column had when the case was loaded (before this flush's changes)."""
    state = inspect(case)
    if name in state.unloaded:
        getattr(case, name)  # load it (an expired or deferred column)
    hist = state.attrs[name].load_history()
    if hist.deleted:
        return hist.deleted[0]
    if hist.unchanged:
        return hist.unchanged[0]
    return None


def _values(case: Case, get: Any) -> Values | None:
    return _make({name: get(case, name) for name in COLUMNS})


def _make(raw: dict[str, Any]) -> Values | None:
    if raw["team_id"] is None or raw["created_at"] is None:
        return None
    return Values(
        team_id=raw["team_id"],
        created_at=raw["created_at"],
        stage=raw["stage"] or Stage.INTAKE.value,
        situation=raw["situation"],
        source=raw["source"] or "staff",
        citizenship=raw["citizenship"],
        current_country=raw["current_country"],
        needs=tuple(raw["needs"] or ()),
        closed_at=raw["closed_at"],
        outcome_kind=raw["outcome_kind"],
    )


def _history(db: Session, case_id: uuid.UUID) -> list[tuple[datetime, uuid.UUID, str]]:
    stmt = select(StageChange.at, StageChange.id, StageChange.to_stage).where(
        StageChange.case_id == case_id
    )
    with db.no_autoflush:
        return [(at, id_, stage) for at, id_, stage in db.execute(stmt)]


def _before_flush(db: Session, _context: Any, _instances: Any) -> None:
    new_changes: dict[uuid.UUID, list[StageChange]] = {}
    gone_changes: dict[uuid.UUID, set[uuid.UUID]] = {}
    for obj in db.new:
        if isinstance(obj, StageChange):
            if obj.id is None:
                obj.id = uuid.uuid4()
            if obj.at is None:
                obj.at = datetime.now(UTC)
            new_changes.setdefault(obj.case_id, []).append(obj)
    for obj in db.deleted:
        if isinstance(obj, StageChange):
            gone_changes.setdefault(obj.case_id, set()).add(obj.id)
    cases: dict[uuid.UUID, Case] = {}
    for obj in (*db.new, *db.dirty, *db.deleted):
        if isinstance(obj, Case) and obj.id is not None:
            cases[obj.id] = obj
    with db.no_autoflush:
        for case_id in set(new_changes) | set(gone_changes):
            if case_id not in cases:
                found = db.get(Case, case_id)
                if found is not None:
                    cases[case_id] = found
    delta: Counter[Key] = Counter()
    for case_id, case in cases.items():
        _case_delta(db, case, new_changes.get(case_id, []), gone_changes.get(case_id, set()), delta)
    apply(db, delta)


def _case_delta(
    db: Session,
    case: Case,
    added: list[StageChange],
    removed: set[uuid.UUID],
    delta: Counter[Key],
) -> None:
    state = inspect(case)
    is_new = state.pending or state.transient
    is_deleted = case in db.deleted
    with db.no_autoflush:
        old = None if is_new else _values(case, _old)
        new = None if is_deleted else _values(case, getattr)
    moved = (
        old is None
        or new is None
        or (old.team_id, month_of(old.created_at))
        != (
            new.team_id,
            month_of(new.created_at),
        )
    )
    need_history = bool(added or removed) or (moved and not is_new)
    before: list[tuple[datetime, uuid.UUID, str]] = []
    if need_history and not is_new:
        before = _history(db, case.id)
    after = [h for h in before if h[1] not in removed]
    after += [(c.at, c.id, c.to_stage) for c in added]
    if old is not None:
        these = cells(old) + (spells(before) if need_history else [])
        _add(delta, old.team_id, month_of(old.created_at), these, -1)
    if new is not None:
        these = cells(new) + (spells(after) if need_history else [])
        _add(delta, new.team_id, month_of(new.created_at), these, +1)


def forget_history(db: Session, case: Case) -> None:
    """Take a case's finished stays out of the counts: called by erasure before it deletes
    the stage history in bulk (which no flush sees)."""
    v = _values(case, getattr)
    if v is None:
        return
    delta: Counter[Key] = Counter()
    _add(delta, v.team_id, month_of(v.created_at), spells(_history(db, case.id)), -1)
    apply(db, delta)


# Every session keeps the counts (app/models.py imports this module with the models).
event.listen(Session, "before_flush", _before_flush)


# --- recomputing it ---------------------------------------------------------------------


def recompute(db: Session) -> Counter[Key]:
    """The counts as the cases and their stage histories say they are now (streamed: the
    same cell functions as the hook, so the two can be compared)."""
    out: Counter[Key] = Counter()
    stmt = select(*(getattr(Case, name) for name in COLUMNS)).execution_options(yield_per=5000)
    for row in db.execute(stmt):
        v = _make(dict(zip(COLUMNS, row, strict=True)))
        if v is None:
            continue
        _add(out, v.team_id, month_of(v.created_at), cells(v), +1)
    history = (
        select(
            Case.id,
            Case.team_id,
            Case.created_at,
            StageChange.at,
            StageChange.id,
            StageChange.to_stage,
        )
        .join(Case, Case.id == StageChange.case_id)
        .order_by(StageChange.case_id)
        .execution_options(yield_per=5000)
    )
    for _case_id, team, created, h in _grouped(db.execute(history)):
        _add(out, team, month_of(created), spells(h), +1)
    return out


def _grouped(
    rows: Iterable[Any],
) -> Iterator[tuple[uuid.UUID, uuid.UUID, datetime, list[tuple[datetime, uuid.UUID, str]]]]:
    current: uuid.UUID | None = None
    team: Any = None
    created: Any = None
    hist: list[tuple[datetime, uuid.UUID, str]] = []
    for case_id, t, c, at, id_, stage in rows:
        if case_id != current:
            if current is not None:
                yield current, team, created, hist
            current, team, created, hist = case_id, t, c, []
        hist.append((at, id_, stage))
    if current is not None:
        yield current, team, created, hist


def stored(db: Session) -> Counter[Key]:
    """The table as it is (zero rows left out)."""
    out: Counter[Key] = Counter()
    for r in db.execute(select(ReportCount)).scalars():
        if r.n:
            out[(r.team_id, r.month, r.dim, r.a, r.b)] = r.n
    return out


def rebuild(db: Session) -> tuple[int, int]:
    """Replace the table with a recomputation from the cases, in SQL (two INSERT ... SELECT
    statements: nothing per case crosses to Python). Flushes; the caller commits and audits.
    Returns how many rows it now holds and how many rows differed from what was stored."""
    db.flush()
    before = stored(db)
    db.execute(delete(ReportCount))
    for statement in _rebuild_sql(db.get_bind().dialect.name):
        db.execute(text(statement))
    after = stored(db)
    changed = sum(1 for key in before.keys() | after.keys() if before[key] != after[key])
    return len(after), changed


def _rebuild_sql(dialect: str) -> list[str]:
    """The statements that fill report_counts from cases and case_stage_changes: the same
    cells as `cells` and `spells` (tests/reports/test_counts.py holds them equal).

    Two statements. The first counts every dimension of the case table at once: a
    materialised common table expression copies the counted columns out of the case table
    in one scan, and each dimension groups that narrow copy (a case row carries its
    ciphertext: one grouped scan of it per dimension took 64 s of the 1,000,000-case
    dataset's build). No temporary table: the production role may not create one
    (deploy/roles.sql). The second counts the stage spells, whose history joins the case
    table by its key."""
    if dialect == "postgresql":

        def utc(col: str) -> str:
            return f"timezone('UTC', {col})"

        def month(col: str) -> str:
            return f"CAST(to_char({utc(col)}, 'YYYYMM') AS INTEGER)"

        def month_text(col: str) -> str:
            return f"to_char({utc(col)}, 'YYYY-MM')"

        # Whole days, floored, exact to the microsecond (epoch of an interval is numeric).
        days = (
            "GREATEST(CAST(floor(extract(epoch FROM (s.ended - s.began)) / 86400) AS INTEGER), 0)"
        )
        needs = "CAST(c.needs AS TEXT)"
    else:
        # SQLite holds UTC times as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
        def month(col: str) -> str:
            return f"CAST(strftime('%Y%m', {col}) AS INTEGER)"

        def month_text(col: str) -> str:
            return f"substr({col}, 1, 7)"

        # Whole days without floating point: the days between the dates, one less when the
        # end's time of day is before the start's.
        days = (
            "max(CAST(julianday(substr(s.ended, 1, 10)) - julianday(substr(s.began, 1, 10))"
            " AS INTEGER) - (substr(s.ended, 12) < substr(s.began, 12)), 0)"
        )
        needs = "c.needs"

    head = "INSERT INTO report_counts (team_id, month, dim, a, b, n) "
    key = f"c.team_id, {month('c.created_at')}"

    def grouped(dim: str, a: str, b: str = "''", where: str = "1 = 1") -> str:
        return (
            f"SELECT {key} AS m, '{dim}', {a} AS va, {b} AS vb, count(*) "  # noqa: S608
            f"FROM counted c WHERE {where} GROUP BY c.team_id, m, va, vb"
        )

    def value(col: str) -> str:
        return f"COALESCE(c.{col}, '')"

    dims = [grouped(name, value(name)) for name in ONE_WAY]
    dims += [grouped(f"{r}|{c}", value(r), value(c)) for r, c in CROSSES]
    holds = {n: f"{needs} LIKE '%\"{n}\"%'" for n in sorted(NEEDS)}
    dims += [grouped("need", f"'{n}'", where=cond) for n, cond in holds.items()]
    dims.append(grouped("need", "'none'", where=" AND ".join(f"NOT ({c})" for c in holds.values())))
    dims.append(grouped("intake_month", month_text("c.created_at")))
    closed = f"c.stage = '{Stage.CLOSED.value}'"
    dims.append(grouped("outcome_kind", value("outcome_kind"), where=closed))
    dims.append(
        grouped(
            "closure_month",
            month_text("c.closed_at"),
            where=f"{closed} AND c.closed_at IS NOT NULL",
        )
    )
    spells_sql = (
        f"{head}SELECT {key} AS m, 'spell', s.stage AS va, CAST({days} AS TEXT) AS vb, count(*) "  # noqa: S608
        "FROM (SELECT case_id, to_stage AS stage, at AS began, "
        "lead(at) OVER (PARTITION BY case_id ORDER BY at, id) AS ended "
        "FROM case_stage_changes) s JOIN cases c ON c.id = s.case_id "
        "WHERE s.ended IS NOT NULL GROUP BY c.team_id, m, va, vb"
    )
    counted = ", ".join(COLUMNS)
    every_dimension = (
        f"{head}WITH counted AS MATERIALIZED (SELECT {counted} FROM cases) "  # noqa: S608
        + " UNION ALL ".join(dims)
    )
    return [every_dimension, spells_sql]
