"""The summary report: aggregate counts of the cases in the caller's scope, suppressed so the
numbers can be handed to a funder or a journalist without identifying anyone.

    summary = build_summary(db, actor=actor, period=Period.of(...), team_id=None, k=5, now=now)

Reads only plain, reportable columns (app/reports/queries.py): building a report opens no
data key and decrypts nothing (tests/reports/test_no_keys.py counts both). Every count then
goes through app/reports/suppression.py before it leaves this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cases.vocab import Need, OutcomeKind, Situation, Stage
from app.errors import InvalidInput, NotFound
from app.policy.deps import Actor, denied
from app.policy.permissions import Role
from app.reports import queries
from app.reports.queries import CROSSES, ONE_WAY, Month, Population, RawCounts
from app.reports.suppression import Ledger, Published, publish, suppress
from app.users.models import Team

# The longest period one report covers (its month tables stay readable).
EARLIEST_MONTH: Month = (1900, 1)
MAX_MONTHS = 120
DEFAULT_MONTHS = 12
# Categories of an open vocabulary (countries) shown one by one only from k cases up; the
# rest are counted together, so no row's mere presence says "someone from there".
OTHER = "other"
UNKNOWN = "unknown"
SOURCES = ("staff", "self_referral")
STAGED = (Stage.INTAKE, Stage.DOCUMENTATION, Stage.REFERRAL, Stage.FOLLOW_UP)


@dataclass(frozen=True)
class Period:
    """Whole calendar months of intake, first and last included."""

    first: Month
    last: Month

    @classmethod
    def of(cls, since: Month | None, until: Month | None, *, now: datetime) -> Period:
        """The months asked for; by default the twelve ending with the current one."""
        last = until or (now.year, now.month)
        # By default the twelve months to `until`, none before the first month a report
        # names (the API's month pattern starts at 1900).
        first = since or max(_shift(last, 1 - DEFAULT_MONTHS), EARLIEST_MONTH)
        if first > last:
            raise InvalidInput("since", "must not be after until")
        if len(queries.months_between(first, last)) > MAX_MONTHS:
            raise InvalidInput("since", f"a report covers at most {MAX_MONTHS} months")
        return cls(first, last)

    def bounds(self) -> tuple[datetime, datetime]:
        """[start of the first month, start of the month after the last) in UTC."""
        end = _shift(self.last, 1)
        return datetime(*self.first, 1, tzinfo=UTC), datetime(*end, 1, tzinfo=UTC)

    def months(self) -> Sequence[Month]:
        """Every month of the period."""
        return queries.months_between(self.first, self.last)


def _shift(month: Month, by: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + by
    return (index // 12, index % 12 + 1)


def month_key(month: Month) -> str:
    """`2026-03`: how a month is named in the API and the CSV."""
    return f"{month[0]:04d}-{month[1]:02d}"


@dataclass(frozen=True)
class Row:
    """One category of a one-way table."""

    key: str
    count: Published


@dataclass(frozen=True)
class Table:
    """Counts by one dimension. `adds_up`: the rows add up to the report's total (false for
    needs, where a case counts once in each of its needs, and for the month of closing and
    the kind of outcome, whose rows add up to the closed stage's count)."""

    name: str
    rows: tuple[Row, ...]
    adds_up: bool = True


@dataclass(frozen=True)
class CrossTable:
    """Counts by two dimensions; its rows and columns add up to the one-way tables'."""

    name: str
    rows: str
    columns: str
    row_keys: tuple[str, ...]
    column_keys: tuple[str, ...]
    cells: dict[tuple[str, str], Published]


@dataclass(frozen=True)
class StageTime:
    """How long finished stays in a stage lasted: how many, median and 90th percentile in
    whole days (None when fewer than k stays: not shown)."""

    stage: str
    stays: Published
    median_days: int | None
    p90_days: int | None


@dataclass(frozen=True)
class Summary:
    """A whole report: who it covers, its threshold, and every table, suppressed."""

    k: int
    period: Period
    team_id: uuid.UUID | None
    total: Published
    tables: tuple[Table, ...]
    crosses: tuple[CrossTable, ...]
    time_in_stage: tuple[StageTime, ...]

    def period_text(self) -> str:
        """`2026-01..2026-12`: the months the summary covers."""
        return f"{month_key(self.period.first)}..{month_key(self.period.last)}"

    def table_names(self) -> list[str]:
        """Every table's name, one-way, two-way, then time in stage."""
        return [t.name for t in self.tables] + [c.name for c in self.crosses] + ["time_in_stage"]


def report_teams(
    db: Session, actor: Actor, team_id: uuid.UUID | None
) -> frozenset[uuid.UUID] | None:
    """The teams a report may count for actor (None: every team).

    Coordinators count their own teams only; admins and auditors, who see no case, may
    count every team (aggregates only). A team outside that answers 404, like a case."""
    if actor.role is Role.COORDINATOR:
        if team_id is None:
            return actor.team_ids
        if team_id not in actor.team_ids:  # recorded like a case outside scope
            raise denied(db, actor, reason="out_of_scope", on=("team", team_id))
        return frozenset({team_id})
    if actor.role in (Role.ADMIN, Role.AUDITOR):
        if team_id is None:
            return None
        if db.scalar(select(Team.id).where(Team.id == team_id)) is None:
            raise NotFound()
        return frozenset({team_id})
    raise NotFound()  # no other role holds report:read; fail closed if one ever does


def team_choices(db: Session, actor: Actor) -> list[tuple[uuid.UUID, str]]:
    """The teams a report may be narrowed to for actor, by name: a coordinator's own, or
    every team for admins and auditors."""
    stmt = select(Team.id, Team.name).order_by(Team.name)
    if actor.role is Role.COORDINATOR:
        stmt = stmt.where(Team.id.in_(sorted(actor.team_ids)))
    elif actor.role not in (Role.ADMIN, Role.AUDITOR):
        return []
    return [(row.id, row.name) for row in db.execute(stmt)]


def _open_keys(counts: dict[str | None, int], k: int) -> tuple[list[str], dict[str | None, str]]:
    """Rows of an open vocabulary: each value with k or more cases, then `other` (the rest
    together) and `unknown` (not recorded); and where each stored value is counted."""
    shown = sorted(str(v) for v, n in counts.items() if v is not None and n >= k)
    where: dict[str | None, str] = {v: (v if v in shown else OTHER) for v in counts if v}
    where[None] = UNKNOWN
    return [*shown, OTHER, UNKNOWN], where


def _grouped(
    raw: dict[tuple[str | None, ...], int], where: dict[str | None, str]
) -> dict[str, int]:
    out: dict[str, int] = {}
    for (value, *_), n in raw.items():
        key = where.get(value, OTHER)
        out[key] = out.get(key, 0) + n
    return out


def build_summary(
    db: Session,
    *,
    actor: Actor,
    period: Period,
    team_id: uuid.UUID | None,
    k: int,
    now: datetime,
) -> Summary:
    """The suppressed summary of the cases actor may count, taken in during the period."""
    pop = Population(report_teams(db, actor, team_id), period.first, period.last)
    return assemble(queries.collect(db, pop), period=period, team_id=team_id, k=k, now=now)


ONE_WAY_ORDER = (
    "stage",
    "citizenship",
    "situation",
    "current_country",
    "need",
    "source",
    "intake_month",
    "closure_month",
    "outcome_kind",
)


def assemble(
    raw: RawCounts, *, period: Period, team_id: uuid.UUID | None, k: int, now: datetime
) -> Summary:
    """The true counts turned into a published summary: rows chosen, sums declared,
    everything suppressed together (pure: no database)."""
    ledger = Ledger(k)
    ledger.add(("total",), raw.total)
    keys: dict[str, list[str]] = {}
    wheres: dict[str, dict[str | None, str]] = {}
    closed_vocab = {
        "stage": [s.value for s in Stage],
        "situation": [s.value for s in Situation] + [UNKNOWN],
        "source": list(SOURCES),
    }
    for name, vocab in closed_vocab.items():
        wheres[name] = {v: v for v in vocab} | {None: UNKNOWN}
        keys[name] = vocab
    for name in ("citizenship", "current_country"):
        per_value = {value: n for (value, *_), n in raw.by[(name,)].items()}
        keys[name], wheres[name] = _open_keys(per_value, k)
    for name in ONE_WAY:
        _one_way(ledger, name, keys[name], _grouped(raw.by[(name,)], wheres[name]))
        ledger.tie(("total",), [(name, key) for key in keys[name]])

    keys["need"] = [n.value for n in Need] + ["none"]
    _one_way(ledger, "need", keys["need"], raw.needs)
    # Every case is in at least one of them: the total is at most their sum.
    ledger.tie(("total",), [("need", key) for key in keys["need"]], exact=False)

    keys["intake_month"] = [month_key(m) for m in period.months()]
    intake = {month_key(m): n for m, n in raw.intake.items()}
    _one_way(ledger, "intake_month", keys["intake_month"], intake)
    ledger.tie(("total",), [("intake_month", key) for key in keys["intake_month"]])
    last = max((now.year, now.month), period.last, *raw.closed)
    keys["closure_month"] = [month_key(m) for m in queries.months_between(period.first, last)]
    closed = {month_key(m): n for m, n in raw.closed.items()}
    _one_way(ledger, "closure_month", keys["closure_month"], closed)
    closure_keys = [("closure_month", key) for key in keys["closure_month"]]
    ledger.tie(("stage", Stage.CLOSED.value), closure_keys)

    keys["outcome_kind"] = [o.value for o in OutcomeKind] + [UNKNOWN]
    outcomes = {(kind or UNKNOWN): n for kind, n in raw.outcomes.items()}
    _one_way(ledger, "outcome_kind", keys["outcome_kind"], outcomes)
    outcome_keys = [("outcome_kind", key) for key in keys["outcome_kind"]]
    ledger.tie(("stage", Stage.CLOSED.value), outcome_keys)

    for rows, cols in CROSSES:
        _cross(ledger, raw.by[(rows, cols)], (rows, cols), keys=keys, wheres=wheres)

    published = suppress(ledger)
    return Summary(
        k=k,
        period=period,
        team_id=team_id,
        total=published[("total",)],
        tables=tuple(
            Table(
                name,
                tuple(Row(key, published[(name, key)]) for key in keys[name]),
                adds_up=name not in ("need", "closure_month", "outcome_kind"),
            )
            for name in ONE_WAY_ORDER
        ),
        crosses=tuple(
            CrossTable(
                f"{r}_by_{c}",
                r,
                c,
                tuple(keys[r]),
                tuple(keys[c]),
                {(x, y): published[(f"{r}_by_{c}", x, y)] for x in keys[r] for y in keys[c]},
            )
            for r, c in CROSSES
        ),
        time_in_stage=tuple(_stage_time(s.value, raw.spells.get(s.value, {}), k) for s in STAGED),
    )


def _one_way(ledger: Ledger, name: str, keys: list[str], counts: dict[str, int]) -> None:
    for key in keys:
        ledger.add((name, key), counts.get(key, 0))


def _cross(
    ledger: Ledger,
    raw: dict[tuple[str | None, ...], int],
    pair: tuple[str, str],
    *,
    keys: dict[str, list[str]],
    wheres: dict[str, dict[str | None, str]],
) -> None:
    rows, cols = pair
    name = f"{rows}_by_{cols}"
    counts: dict[tuple[str, str], int] = {}
    for (r, c), n in raw.items():
        at = (wheres[rows].get(r, OTHER), wheres[cols].get(c, OTHER))
        counts[at] = counts.get(at, 0) + n
    for x in keys[rows]:
        for y in keys[cols]:
            ledger.add((name, x, y), counts.get((x, y), 0))
    for x in keys[rows]:
        ledger.tie((rows, x), [(name, x, y) for y in keys[cols]])
    for y in keys[cols]:
        ledger.tie((cols, y), [(name, x, y) for x in keys[rows]])


def _stage_time(stage: str, histogram: dict[int, int], k: int) -> StageTime:
    n = sum(histogram.values())
    if n < k:
        return StageTime(stage, publish(n, k), None, None)
    return StageTime(
        stage,
        publish(n, k),
        queries.nearest_rank(histogram, 0.5),
        queries.nearest_rank(histogram, 0.9),
    )


def cells_of(summary: Summary) -> list[tuple[str, str, str, Published]]:
    """Every count of a summary as (table, row, column, count): what the CSV holds."""
    out: list[tuple[str, str, str, Published]] = [("total", "", "", summary.total)]
    for table in summary.tables:
        out += [(table.name, row.key, "", row.count) for row in table.rows]
    for cross in summary.crosses:
        out += [
            (cross.name, x, y, cross.cells[(x, y)])
            for x in cross.row_keys
            for y in cross.column_keys
        ]
    return out
