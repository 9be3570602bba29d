"""Charts drawn on the server: the geometry of a bar chart (categories) and a line chart
(months), as numbers a template turns into inline SVG (templates/reports/_charts.html).

No script and no style attribute (the CSP allows neither): shapes carry classes styled by
haven.css. Every bar and point is labelled with its published count, so a chart reads
without colour; a hidden count is written (`<5`, `×`) where its bar would be, never drawn
as if it were a number. The table under each chart holds the same counts for screen readers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from app.reports.suppression import Published

WIDTH = 320  # the viewBox width: one SVG unit is one CSS pixel on a 360 px phone
BAR_ROW = 38  # a label line, then its bar
BAR_HEIGHT = 14
LABEL_ROOM = 40  # room right of the longest bar for its count
LINE_HEIGHT = 190
# Room on the right for a month's name centred under the last point.
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 34, WIDTH - 28, 22, 150


@dataclass(frozen=True)
class Bar:
    """One category: where its label, bar and count go."""

    key: str
    y: int
    width: float
    text: str
    shown: bool


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per category, each with its label above it."""

    bars: tuple[Bar, ...]
    height: int
    width: int = WIDTH


def bar_chart(rows: Sequence[tuple[str, Published]], k: int) -> BarChart:
    """Bars scaled to the largest shown count; hidden counts get their text and no bar."""
    top = max((c.value or 0 for _, c in rows if c.hidden is None), default=0)
    scale = (WIDTH - LABEL_ROOM) / top if top else 0
    bars = tuple(
        Bar(
            key=key,
            y=i * BAR_ROW,
            width=round((cell.value or 0) * scale, 1) if cell.hidden is None else 0,
            text=cell.text(k),
            shown=cell.hidden is None,
        )
        for i, (key, cell) in enumerate(rows)
    )
    return BarChart(bars=bars, height=max(len(bars), 1) * BAR_ROW)


@dataclass(frozen=True)
class Point:
    """One month: its place, its count's text, and whether the count is shown."""

    key: str
    x: float
    y: float
    text: str
    shown: bool
    # Whether the month's name is written under the axis (every few months when many).
    labelled: bool


@dataclass(frozen=True)
class Tick:
    """A horizontal grid line with its count."""

    y: float
    text: str


@dataclass(frozen=True)
class LineChart:
    """Counts by month: points joined where both neighbours are shown, gaps where not."""

    points: tuple[Point, ...]
    segments: tuple[tuple[Point, Point], ...]
    ticks: tuple[Tick, ...]
    baseline: float = PLOT_BOTTOM
    left: int = PLOT_LEFT
    right: int = PLOT_RIGHT
    width: int = WIDTH
    height: int = LINE_HEIGHT


def _nice_top(top: int, k: int) -> int:
    """A round top for the axis: the largest count, up to a multiple of 2k (at least 2k)."""
    step = 2 * k
    return max(step, -(-top // step) * step)


def line_chart(rows: Sequence[tuple[str, Published]], k: int) -> LineChart:
    """Points on a shared axis from 0 to a round top; a hidden month sits on the baseline,
    hollow, with its text and no line to it."""
    top = _nice_top(max((c.value or 0 for _, c in rows if c.hidden is None), default=0), k)
    n = len(rows)
    span = PLOT_RIGHT - PLOT_LEFT
    every = max(1, -(-n // 4))  # at most four month names under the axis: room on a phone

    def place(i: int, key: str, cell: Published) -> Point:
        x = PLOT_LEFT + (span * i / (n - 1) if n > 1 else span / 2)
        value = (cell.value or 0) if cell.hidden is None else 0
        y = PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * value / top
        labelled = (n - 1 - i) % every == 0
        return Point(key, round(x, 1), round(y, 1), cell.text(k), cell.hidden is None, labelled)

    points = tuple(place(i, key, cell) for i, (key, cell) in enumerate(rows))
    segments = tuple((a, b) for a, b in itertools.pairwise(points) if a.shown and b.shown)
    ticks = tuple(
        Tick(round(PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * f, 1), str(int(top * f)))
        for f in (0, 0.5, 1)
    )
    return LineChart(points=points, segments=segments, ticks=ticks)
