"""A summary as CSV: one line per count (table, row, column, shown, value, hidden), every
cell formula-neutralised as the audit CSV's are."""

from __future__ import annotations

import csv
import io

from app.reports.service import Summary, cells_of

CSV_COLUMNS = ("table", "row", "column", "shown", "value", "hidden")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: object) -> str:
    """A cell a spreadsheet will not run: one that starts like a formula gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def summary_csv(summary: Summary, *, table: str | None = None) -> str:
    """The summary's counts (or one table's) as CSV text, header first."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    writer.writerow(["period", summary.period_text(), "", "", "", ""])
    for name, row, column, cell in cells_of(summary):
        if table is not None and name != table:
            continue
        hidden = cell.hidden.value if cell.hidden else ""
        line = (name, row, column, cell.text(summary.k), cell.value, hidden)
        writer.writerow([neutral(v) for v in line])
    if table in (None, "time_in_stage"):
        for t in summary.time_in_stage:
            for what, days in (("median_days", t.median_days), ("p90_days", t.p90_days)):
                shown = "" if days is None else str(days)
                writer.writerow(
                    [neutral(v) for v in ("time_in_stage", t.stage, what, shown, days, "")]
                )
            hidden = t.stays.hidden.value if t.stays.hidden else ""
            line = (
                "time_in_stage",
                t.stage,
                "stays",
                t.stays.text(summary.k),
                t.stays.value,
                hidden,
            )
            writer.writerow([neutral(v) for v in line])
    return buf.getvalue()
