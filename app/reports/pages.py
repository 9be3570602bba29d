"""The page /reports: the summary for the people who will hand it on (coordinators, the
auditor, admins), filtered by months and team, with charts drawn on the server and every
table as CSV (/reports/export.csv). It calls the same service as GET /api/v1/reports/summary
and shows only what that service publishes: suppressed counts, never a case."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from starlette.responses import Response

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases.vocab import Need, OutcomeKind, Situation, Stage
from app.deps import AppSettings, DbSession
from app.errors import HavenError, InvalidInput
from app.i18n import LazyText, lazy
from app.i18n.core import current_locale
from app.i18n.countries import country_name
from app.i18n.formatting import number
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.reports import api, charts, labels, service
from app.reports.suppression import Published
from app.web import render, vocabulary_label

router = APIRouter(tags=["pages"], include_in_schema=False)

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
BAD_MONTH = lazy("Write a month as YYYY-MM, for example 2026-03.")
MONTH_ORDER = lazy("The first month must not be after the last.")
TOO_LONG = lazy("A report covers at most ten years.")
LINES = ("intake_month", "closure_month")
VOCABULARIES = {
    "stage": ("stage", {s.value for s in Stage}),
    "situation": ("situation", {s.value for s in Situation}),
    "need": ("need", {n.value for n in Need}),
    "outcome_kind": ("outcome_kind", {o.value for o in OutcomeKind}),
}


def name_of(table: str, key: str) -> LazyText | str:
    """A row's name on the page, in its language (called while the page renders)."""
    if table in VOCABULARIES and key in VOCABULARIES[table][1]:
        return vocabulary_label(VOCABULARIES[table][0], key)
    if key in labels.ROWS:
        return labels.ROWS[key]
    if table in LINES or table == "months":
        year, month = map(int, key.split("-"))
        return format_date(date(year, month, 1), "LLLL yyyy", locale=current_locale())
    if table in ("citizenship", "current_country"):
        return country_name(key)
    return key


def shown_with(k: int) -> Callable[[Published | str], str]:
    """How a count reads on the page: `<5`, `×`, or the number as the language writes it
    (20 000 in Russian); chart labels come as text and are treated alike."""

    def shown(value: Published | str) -> str:
        text = value.text(k) if isinstance(value, Published) else value
        return number(int(text)) if text.isdigit() else text

    return shown


def short_month(key: str) -> str:
    """`дек. 26`: a month under a chart's axis."""
    year, month = map(int, key.split("-"))
    return format_date(date(year, month, 1), "LLL yy", locale=current_locale())


def _filters(
    since: str | None, until: str | None, team: str | None
) -> tuple[dict[str, str | None], dict[str, LazyText]]:
    """The filters as typed (to give the form back) and a message per wrong one."""
    values = {"since": since or None, "until": until or None, "team": team or None}
    errors: dict[str, LazyText] = {}
    for name in ("since", "until"):
        if values[name] and not MONTH.match(values[name] or ""):
            errors[name] = BAD_MONTH
    if values["team"]:
        try:
            uuid.UUID(values["team"] or "")
        except ValueError:
            errors["team"] = lazy("Choose one from the list.")
    return values, errors


def _context(summary: service.Summary) -> dict[str, Any]:
    bars = {
        t.name: charts.bar_chart([(r.key, r.count) for r in t.rows], summary.k)
        for t in summary.tables
        if t.name not in LINES
    }
    lines = {
        t.name: charts.line_chart([(r.key, r.count) for r in t.rows], summary.k)
        for t in summary.tables
        if t.name in LINES
    }
    return {
        "summary": summary,
        "bars": bars,
        "lines": lines,
        "first": service.month_key(summary.period.first),
        "last": service.month_key(summary.period.last),
    }


@router.get("/reports")
def reports(
    request: Request,
    *,
    db: DbSession,
    settings: AppSettings,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    actor: Actor = require(Permission.REPORT_READ),
) -> Response:
    """The summary for the months and team asked for (default: the last twelve months)."""
    values, errors = _filters(since, until, team)
    context: dict[str, Any] = {
        "values": values,
        "teams": [(str(i), name) for i, name in service.team_choices(db, actor)],
        "name_of": name_of,
        "short_month": short_month,
        "shown": shown_with(settings.report_min_cell),
        "titles": labels.TITLES,
        "dimensions": labels.DIMENSIONS,
        "notes": labels.NOTES,
        "k": settings.report_min_cell,
        "summary": None,
    }
    if not errors:
        team_id = uuid.UUID(values["team"]) if values["team"] else None
        try:
            found = api.summary_for(
                request,
                db,
                actor,
                since=values["since"],
                until=values["until"],
                team=team_id,
                k=settings.report_min_cell,
            )
        except InvalidInput as exc:
            errors = _period_errors(exc)
        else:
            used = api.filters_used(values["since"], values["until"], team_id)
            record(db, AuditAction.REPORT_READ, by=actor, on=("report", "summary"), fields=used)
            context |= _context(found)
            context["query"] = {k: v for k, v in values.items() if v}
    context["errors"] = errors
    return render(request, "reports/summary.html", context, 422 if errors else 200)


def _period_errors(exc: HavenError) -> dict[str, LazyText]:
    text = str(exc.message)
    return {"since": MONTH_ORDER if "after" in text else TOO_LONG}


@router.get("/reports/export.csv")
def export(
    request: Request,
    *,
    db: DbSession,
    settings: AppSettings,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    table: str | None = None,
    actor: Actor = require(Permission.REPORT_READ),
) -> Response:
    """The summary (or one table of it) as CSV, exactly as the page shows it; audited."""
    values, errors = _filters(since, until, team)
    if errors:
        raise InvalidInput(next(iter(errors)), "invalid filter")
    team_id = uuid.UUID(values["team"]) if values["team"] else None
    found = api.summary_for(
        request,
        db,
        actor,
        since=values["since"],
        until=values["until"],
        team=team_id,
        k=settings.report_min_cell,
    )
    used = api.filters_used(values["since"], values["until"], team_id)
    return api.csv_response(db, actor, found, used, table or None)
