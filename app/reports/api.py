"""The reports API: the suppressed summary (JSON, or CSV with `?format=csv`).

Coordinators count their own teams, admins and auditors every team (aggregates only, never a
case). Every read and export is audited with the filter names used, never their values.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.deps import AppSettings, DbSession
from app.errors import InvalidInput
from app.openapi import errors
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.reports import service
from app.reports.export import summary_csv
from app.reports.queries import Month
from app.reports.schemas import MONTH_PATTERN, SummaryOut

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

MonthQuery = Annotated[
    str | None,
    Query(pattern=MONTH_PATTERN, description="A month, YYYY-MM (intake on or after / until)."),
]
TeamQuery = Annotated[
    uuid.UUID | None, Query(description="One team (coordinators: one of theirs).")
]


def parse_month(value: str | None) -> Month | None:
    """`2026-03` as (2026, 3); None stays None."""
    if not value:
        return None
    year, month = value.split("-")
    return int(year), int(month)


def filters_used(since: str | None, until: str | None, team: uuid.UUID | None) -> list[str]:
    """The names of the filters given (what the audit entry records)."""
    return [n for n, v in (("since", since), ("until", until), ("team", team)) if v]


def summary_for(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    since: str | None,
    until: str | None,
    team: uuid.UUID | None,
    k: int,
) -> service.Summary:
    """The summary the filters ask for (the API's and the pages' one way in)."""
    now = request.app.state.clock.now()
    period = service.Period.of(parse_month(since), parse_month(until), now=now)
    return service.build_summary(db, actor=actor, period=period, team_id=team, k=k, now=now)


def csv_response(
    db: Session, actor: Actor, summary: service.Summary, used: list[str], table: str | None
) -> Response:
    """The summary (or one table) as a CSV download, audited."""
    if table is not None and table not in summary.table_names():
        raise InvalidInput("table", "unknown table")
    body = summary_csv(summary, table=table)
    record(
        db,
        AuditAction.REPORT_EXPORTED,
        by=actor,
        on=("report", table or "summary"),
        fields=used,
        reason="csv",
    )
    name = f"haven-report-{table or 'summary'}-{summary.period_text().replace('..', '-to-')}.csv"
    return Response(
        body,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/summary",
    response_model=SummaryOut,
    responses={
        200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}},
        **errors(404),
    },
)
def summary(
    request: Request,
    *,
    db: DbSession,
    settings: AppSettings,
    since: MonthQuery = None,
    until: MonthQuery = None,
    team: TeamQuery = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    table: Annotated[str | None, Query(max_length=64, description="CSV: one table only.")] = None,
    actor: Actor = require(Permission.REPORT_READ),
) -> SummaryOut | Response:
    """Suppressed aggregates of the cases taken in during the months asked for (default:
    the last twelve): counts under k shown as `<k`, others rounded to a multiple of k,
    complementary counts hidden; `?format=csv` exports them (docs/reports.md)."""
    k = settings.report_min_cell
    found = summary_for(request, db, actor, since=since, until=until, team=team, k=k)
    used = filters_used(since, until, team)
    if format == "csv":
        return csv_response(db, actor, found, used, table)
    record(db, AuditAction.REPORT_READ, by=actor, on=("report", "summary"), fields=used)
    return SummaryOut.of(found)
