"""Property tests of the published summary (Hypothesis): for random populations and random
pairs of filters, no count under k is exposed

- directly (every count under k, zero included, is hidden; every shown one is a multiple of
  k and at least k);
- by difference with the totals (an attacker who propagates every sum the report implies,
  written here independently of app/reports/suppression.py, is left with at least three
  possible values for each `<k` count, and the truth is always among them);
- by difference of two reports one case apart, or of two reports with any two filters: no
  count shown in both differs by 1..k-1, and no pair of intervals pins a difference to one
  value between 1 and k-1.

What no published rule can prevent (a reader who knows that two reports differ by exactly
one person sees which shown counts moved across a rounding step) is written down in
docs/reports.md; this file tests what holds.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from datetime import UTC, datetime
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cases.vocab import Need, Situation, Stage
from app.reports.queries import Month, months_between
from app.reports.service import Period, Summary, assemble
from app.reports.suppression import Hidden, Ledger, Published
from tests.reports.model import Plain, raw_counts

NOW = datetime(2026, 12, 6, tzinfo=UTC)
MONTHS = months_between((2025, 7), (2026, 12))
INF = math.inf

plain_cases = st.builds(
    Plain,
    team=st.integers(0, 2),
    month=st.sampled_from(MONTHS),
    stage=st.sampled_from([s.value for s in Stage]),
    citizenship=st.sampled_from(["RU", "RU", "RU", "BY", "UA", "KZ", None]),
    situation=st.sampled_from([s.value for s in Situation] + [None]),
    current_country=st.sampled_from(["GE", "GE", "KZ", "AM", "DE", "LT", None]),
    source=st.sampled_from(["staff", "self_referral"]),
    needs=st.lists(st.sampled_from([n.value for n in Need]), max_size=3, unique=True).map(tuple),
    closed=st.none(),
    stays=st.lists(
        st.tuples(st.sampled_from(["intake", "documentation"]), st.integers(0, 90)), max_size=2
    ).map(tuple),
    outcome_kind=st.sampled_from([None, "protection_granted", "safe_relocation", "contact_lost"]),
)


def _closing(case: Plain) -> Plain:
    if case.stage != "closed":
        return case
    later = [m for m in MONTHS if m >= case.month]
    return Plain(**{**case.__dict__, "closed": later[len(later) // 2]})


# Few categories, so that tables have one or two busy rows and the sums bite (where an
# attacker's arithmetic works best).
narrow_cases = st.builds(
    Plain,
    team=st.integers(0, 1),
    month=st.sampled_from(MONTHS[-3:]),
    stage=st.sampled_from(["intake", "intake", "documentation", "closed"]),
    citizenship=st.sampled_from(["RU", "RU", "BY"]),
    situation=st.sampled_from(["deserted", "deserted", "awol"]),
    current_country=st.sampled_from(["GE", "GE", "KZ"]),
    source=st.sampled_from(["staff", "staff", "self_referral"]),
    needs=st.sampled_from([("legal",), ("legal", "visa"), ()]),
    closed=st.none(),
    outcome_kind=st.sampled_from([None, "contact_lost", "contact_lost"]),
)
populations = st.one_of(
    st.lists(plain_cases.map(_closing), max_size=90),
    st.lists(narrow_cases.map(_closing), max_size=40),
)
ks = st.integers(3, 10)


@st.composite
def filters(draw: st.DrawFn) -> tuple[frozenset[int], Month, Month]:
    teams = draw(st.sets(st.integers(0, 2), min_size=1))
    first = draw(st.sampled_from(MONTHS))
    last = draw(st.sampled_from([m for m in MONTHS if m >= first]))
    return frozenset(teams), first, last


def report(
    cases: list[Plain], k: int, flt: tuple[frozenset[int], Month, Month] | None = None
) -> Summary:
    """The summary the service would publish for the cases the filter takes in."""
    teams, first, last = flt or (frozenset({0, 1, 2}), MONTHS[0], MONTHS[-1])
    chosen = [c for c in cases if c.team in teams and first <= c.month <= last]
    return assemble(raw_counts(chosen), period=Period(first, last), team_id=None, k=k, now=NOW)


def cells(s: Summary) -> dict[Hashable, Published]:
    """Every count of the summary by its place."""
    out: dict[Hashable, Published] = {("total",): s.total}
    for t in s.tables:
        out |= {(t.name, r.key): r.count for r in t.rows}
    for c in s.crosses:
        out |= {(c.name, x, y): v for (x, y), v in c.cells.items()}
    return out


def sums(s: Summary) -> list[tuple[Hashable, list[Hashable], bool]]:
    """Every sum a reader knows holds between the counts (total, parts, exact)."""
    out: list[tuple[Hashable, list[Hashable], bool]] = []
    for t in s.tables:
        parts: list[Hashable] = [(t.name, r.key) for r in t.rows]
        if t.name in ("closure_month", "outcome_kind"):
            out.append((("stage", "closed"), parts, True))
        else:
            out.append((("total",), parts, t.adds_up))
    for c in s.crosses:
        for x in c.row_keys:
            out.append(((c.rows, x), [(c.name, x, y) for y in c.column_keys], True))
        for y in c.column_keys:
            out.append(((c.columns, y), [(c.name, x, y) for x in c.row_keys], True))
    return out


def reader_intervals(s: Summary) -> dict[Hashable, tuple[float, float]]:
    """What a reader who knows the rule works out for every count, sums included."""
    k = s.k
    known: dict[Hashable, tuple[float, float]] = {}
    for key, cell in cells(s).items():
        if cell.hidden is Hidden.SMALL:
            known[key] = (0, k - 1)
        elif cell.hidden is Hidden.COMPLEMENTARY:
            known[key] = (k, INF)
        else:
            assert cell.value is not None
            # Round-half-up to a multiple of k: the true count is within k/2 below or above.
            known[key] = (max(k, cell.value - k // 2), cell.value + (k - 1) // 2)
    facts = sums(s)
    for _ in range(200):
        before = dict(known)
        for total, parts, exact in facts:
            lo = sum(known[p][0] for p in parts)
            hi = sum(known[p][1] for p in parts)
            t_lo, t_hi = known[total]
            known[total] = (max(t_lo, lo) if exact else t_lo, min(t_hi, hi))
            t_lo, t_hi = known[total]
            for p in parts:
                p_lo, p_hi = known[p]
                rest_hi = hi - p_hi
                rest_lo = lo - p_lo
                new_lo = max(p_lo, t_lo - rest_hi) if rest_hi != INF else p_lo
                new_hi = min(p_hi, t_hi - rest_lo) if exact else p_hi
                known[p] = (new_lo, new_hi)
        if known == before:
            break
    return known


def _unsuppressed(ledger: Ledger) -> dict[Hashable, Published]:
    return {key: Published(n) for key, n in ledger.true.items()}


def true_cells(cases: list[Plain], k: int) -> dict[Hashable, int]:
    """The true count behind every published one: the same report, rows chosen for the same
    k, with suppression replaced by showing everything."""
    with mock.patch("app.reports.service.suppress", _unsuppressed):
        return {key: cell.value or 0 for key, cell in cells(report(cases, k)).items()}


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cases=populations, k=ks)
def test_no_small_count_is_shown_and_shown_counts_are_multiples_of_k(
    cases: list[Plain], k: int
) -> None:
    s = report(cases, k)
    truth = dict(true_cells(cases, k).items())
    for key, cell in cells(s).items():
        n = truth.get(key, 0)
        if n < k:
            assert cell.hidden is Hidden.SMALL, (key, n, cell)
        if cell.hidden is None:
            assert cell.value is not None
            assert cell.value >= k
            assert cell.value % k == 0
            assert abs(cell.value - n) <= k // 2, (key, n, cell)
    for stay in s.time_in_stage:
        if stay.stays.hidden is Hidden.SMALL:
            assert stay.median_days is None
            assert stay.p90_days is None


@SETTINGS
@given(cases=populations, k=ks)
def test_no_small_count_can_be_worked_out_from_the_totals(cases: list[Plain], k: int) -> None:
    s = report(cases, k)
    truth = true_cells(cases, k)
    known = reader_intervals(s)
    for key, cell in cells(s).items():
        lo, hi = known[key]
        assert lo <= truth.get(key, 0) <= hi, ("the reader's sums are wrong", key)
        if cell.hidden is Hidden.SMALL:
            assert hi - lo >= max(1, (k - 1) // 2), (key, truth.get(key), (lo, hi))


def _no_small_difference(a: Summary, b: Summary) -> None:
    k = a.k
    ca, cb = cells(a), cells(b)
    ka, kb = reader_intervals(a), reader_intervals(b)
    for key in ca.keys() & cb.keys():
        x, y = ca[key], cb[key]
        if x.hidden is None and y.hidden is None:
            assert x.value is not None
            assert y.value is not None
            assert (y.value - x.value) % k == 0, key
        lo = kb[key][0] - ka[key][1]
        hi = kb[key][1] - ka[key][0]
        assert not (lo == hi and 1 <= abs(lo) < k), (key, lo)


@SETTINGS
@given(cases=populations, extra=plain_cases.map(_closing), k=ks)
def test_two_reports_one_case_apart_show_no_small_difference(
    cases: list[Plain], extra: Plain, k: int
) -> None:
    _no_small_difference(report(cases, k), report([*cases, extra], k))


@SETTINGS
@given(cases=populations, first=filters(), second=filters(), k=ks)
def test_two_reports_with_any_two_filters_show_no_small_difference(
    cases: list[Plain],
    first: tuple[frozenset[int], Month, Month],
    second: tuple[frozenset[int], Month, Month],
    k: int,
) -> None:
    _no_small_difference(report(cases, k, first), report(cases, k, second))
