"""Small-cell and complementary suppression: what a published report may say about a count.

The rule (docs/reports.md says why):

1. A count under k (0 included) is shown as `<k`: a zero is hidden too, so a category going
   from none to one between two reports is not seen.
2. Every other count is rounded to the nearest multiple of k (5..7 -> 5, 8..12 -> 10 for
   k = 5), so no difference of two published numbers, in one report or between two, is ever
   between 1 and k - 1.
3. Complementary suppression: a report's counts are tied together (a table's cells add up to
   the report's total; a two-way table's rows add up to a one-way table's cells). An attacker
   who propagates those sums over the published intervals must still be left, for every
   count (`<k` ones above all), with an interval of at least `protection(k)` + 1 possible
   values (3 for k = 5): never one value, never two neighbours. When not, the smallest
   published count of the offending sum is hidden too (shown as `×`), and the check runs
   again.

Everything here is pure arithmetic on counts: no database, no keys.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

INF = math.inf


class Hidden(enum.StrEnum):
    """Why a count is not shown."""

    # Under k: shown as `<k`.
    SMALL = "small"
    # k or more, hidden so that a small count cannot be worked out from the others.
    COMPLEMENTARY = "complementary"


@dataclass(frozen=True)
class Published:
    """A count as a report shows it: a rounded number, or hidden and why."""

    value: int | None
    hidden: Hidden | None = None

    def text(self, k: int) -> str:
        """How the count reads in a table or a CSV (`<5`, `×`, or the number)."""
        if self.hidden is Hidden.SMALL:
            return f"<{k}"
        if self.hidden is Hidden.COMPLEMENTARY:
            return "×"
        return str(self.value)


def rounded(n: int, k: int) -> int:
    """n (at least k) rounded to the nearest multiple of k, halves up."""
    return k * ((n + k // 2) // k)


def publish(n: int, k: int) -> Published:
    """A true count as first published: `<k` under k, else rounded to a multiple of k."""
    if n < k:
        return Published(None, Hidden.SMALL)
    return Published(rounded(n, k))


def interval(cell: Published, k: int) -> tuple[float, float]:
    """What a reader can tell of the true count from the published one alone."""
    if cell.hidden is Hidden.SMALL:
        return (0, k - 1)
    if cell.hidden is Hidden.COMPLEMENTARY:
        return (k, INF)
    value = cell.value or 0
    return (max(k, value - k // 2), value + k - 1 - k // 2)


@dataclass(frozen=True)
class Sum:
    """A fact a reader knows: the true count of `total` is the sum of the `parts`' (exact),
    or at most that sum (`exact=False`: a case counts in several parts, e.g. its needs)."""

    total: Hashable
    parts: tuple[Hashable, ...]
    exact: bool = True


@dataclass
class Ledger:
    """Every count of one report, keyed by an id, and the sums that tie them together."""

    k: int
    true: dict[Hashable, int] = field(default_factory=dict)
    sums: list[Sum] = field(default_factory=list)

    def add(self, key: Hashable, n: int) -> None:
        """One count of the report."""
        self.true[key] = n

    def tie(self, total: Hashable, parts: Iterable[Hashable], *, exact: bool = True) -> None:
        """Declare that the parts add up to the total (or, not exact, at least to it)."""
        self.sums.append(Sum(total, tuple(parts), exact))


def propagate(
    intervals: Mapping[Hashable, tuple[float, float]], sums: Sequence[Sum], *, rounds: int = 50
) -> dict[Hashable, tuple[float, float]]:
    """What a reader can work out from the published intervals and the known sums: each
    interval narrowed until nothing changes (interval propagation, the spreadsheet attack)."""
    now = dict(intervals)
    for _ in range(rounds):
        changed = False
        for s in sums:
            t_lo, t_hi = now[s.total]
            los = [now[p][0] for p in s.parts]
            his = [now[p][1] for p in s.parts]
            sum_lo, sum_hi = sum(los), sum(his)
            new_t = (max(t_lo, sum_lo) if s.exact else t_lo, min(t_hi, sum_hi))
            if new_t != (t_lo, t_hi):
                now[s.total], changed = new_t, True
            for i, p in enumerate(s.parts):
                lo, hi = now[p]
                other_hi = sum_hi - his[i]
                new_lo = max(lo, t_lo - other_hi) if other_hi < INF else lo
                new_hi = min(hi, t_hi - (sum_lo - los[i])) if s.exact else hi
                if (new_lo, new_hi) != (lo, hi):
                    now[p], changed = (new_lo, new_hi), True
        if not changed:
            break
    return now


def protection(k: int) -> int:
    """How wide (hi - lo) a reader's interval for a `<k` count must stay: half of `<k`'s own
    width, at least 1 (k = 5: 2, so at least three values remain possible)."""
    return max(1, (k - 1) // 2)


def exposed(published: Mapping[Hashable, Published], sums: Sequence[Sum], k: int) -> list[Hashable]:
    """The counts a reader could narrow below the protection width from the sums: `<k`
    ones first. A shown count pinned to (nearly) one value matters too: its difference with
    the same count in a report one case apart would then be exact, and that difference is a
    count under k."""
    known = propagate({key: interval(cell, k) for key, cell in published.items()}, sums)
    wide = protection(k)
    narrow = [key for key in published if known[key][1] - known[key][0] < wide]
    return sorted(narrow, key=lambda key: published[key].hidden is not Hidden.SMALL)


def _complement(
    published: dict[Hashable, Published], ledger: Ledger, weak: Hashable
) -> Hashable | None:
    """The count to hide next for the exposed `weak`: the smallest shown part of a sum that
    names it, else the shown total of such a sum; None when nothing is left to hide."""
    candidates: list[tuple[int, Hashable]] = []
    totals: list[tuple[int, Hashable]] = []
    for s in ledger.sums:
        if weak not in s.parts and weak != s.total:
            continue
        for p in (*s.parts, s.total):
            cell = published[p]
            if cell.hidden is None:
                (totals if p == s.total else candidates).append((ledger.true[p], p))
    pool = candidates or totals
    return min(pool, key=lambda item: (item[0], str(item[1])))[1] if pool else None


def suppress(ledger: Ledger) -> dict[Hashable, Published]:
    """Every count of the ledger as published: small ones `<k`, others rounded, and as many
    hidden besides as it takes for no small one to be worked out from the sums."""
    k = ledger.k
    published = {key: publish(n, k) for key, n in ledger.true.items()}
    if k <= 1:
        return published
    while weak := exposed(published, ledger.sums, k):
        picks = (_complement(published, ledger, key) for key in weak)
        pick = next((p for p in picks if p is not None), None)
        if pick is None:
            # Everything around the exposed counts is hidden already; only k < 3 with two
            # categories gets here (docs/reports.md: choose k >= 3).
            break
        published[pick] = Published(None, Hidden.COMPLEMENTARY)
    return published
