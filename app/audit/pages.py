"""The auditor's pages: the log with filters and paging (actors named), verification with
its result in plain words, alerts, the latest checkpoint and the verifier key to download,
and the CSV export. The same services as /api/v1/audit; each read is itself audited.
Entries hold no case content: who, when, what, on which object, field names."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.audit import service
from app.audit.checkpoints import latest_checkpoint, verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.deps import AppSettings, DbSession
from app.forms import DATE
from app.i18n import LazyText, lazy
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.users import service as users
from app.users.labels import role_label
from app.web import render

router = APIRouter(tags=["pages"], include_in_schema=False)

PER_PAGE = 50
TEXT = "text/plain; charset=utf-8"
CSV = "text/csv; charset=utf-8"
# A case id only, as the API takes: the policy shows an auditor case codes masked, so the
# page never turns a full code into a case (one read off a volunteer's task would otherwise
# open that case's trail). Each case entry in the table links to its own filter.
CASE_ID = lazy("Enter a case id as the log shows it: choose it in the Object column.")
NO_SUCH_ACTOR = lazy("Choose one from the list.")
UNTIL_BEFORE = lazy("The end must be on or after the start.")
ALERT_KINDS: dict[str, LazyText] = {
    "break_glass": lazy("Break-glass use"),
    "denied_burst": lazy("Many refused accesses"),
    "mass_read": lazy("Many cases read in a short time"),
    "duplicate_burst": lazy("Many duplicate checks"),
    "duplicate_outside_scope": lazy("Duplicate checks that hit other teams' cases"),
}
FILTERS = ("actor", "case", "action", "since", "until")


class _Named:
    """An account in the choice of actors: name and role, the role in the page's language
    (translated when the page renders, not when the list is made)."""

    def __init__(self, name: str, role: str) -> None:
        self.name, self.role = name, role

    def __str__(self) -> str:
        return f"{self.name} ({role_label(self.role)})"


class _Parsed:
    def __init__(self) -> None:
        self.errors: dict[str, LazyText] = {}
        self.filter = service.AuditFilter()


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _parse(values: dict[str, str]) -> _Parsed:
    """The filter from the page's GET fields, or a message beside each wrong one."""
    out = _Parsed()
    actor_id = case_id = action = None
    if values["actor"]:
        try:
            actor_id = uuid.UUID(values["actor"])
        except ValueError:
            out.errors["actor"] = NO_SUCH_ACTOR
    if values["case"]:
        try:
            case_id = str(uuid.UUID(values["case"].strip()))
        except ValueError:
            out.errors["case"] = CASE_ID
    if values["action"]:
        try:
            action = AuditAction(values["action"])
        except ValueError:
            out.errors["action"] = NO_SUCH_ACTOR
    since, until = _days(values, out.errors)
    if not out.errors:
        out.filter = service.AuditFilter(
            actor_id=actor_id, case_id=case_id, action=action, since=since, until=until
        )
    return out


def _days(
    values: dict[str, str], errors: dict[str, LazyText]
) -> tuple[datetime | None, datetime | None]:
    """The start of the first day and the end of the last (whole days, UTC)."""
    found: dict[str, datetime] = {}
    for name in ("since", "until"):
        try:
            day = _day(values[name])
        except ValueError:
            errors[name] = DATE
            continue
        if day is not None:
            found[name] = datetime.combine(day, time(), tzinfo=UTC)
    since, until = found.get("since"), found.get("until")
    if until is not None:
        until += timedelta(days=1)  # the whole of the last day
    if since and until and until <= since:
        errors["until"] = UNTIL_BEFORE
    return since, until


Field = Annotated[str, Query(max_length=64)]


@router.get("/audit")
def log_page(
    *,
    request: Request,
    db: DbSession,
    actor: Field = "",
    case: Field = "",
    action: Field = "",
    since: Field = "",
    until: Field = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    viewer: Actor = require(Permission.AUDIT_READ),
) -> Response:
    """The log, newest first, one page; filters by actor, case, action and days."""
    values = {"actor": actor, "case": case, "action": action, "since": since, "until": until}
    parsed = _parse(values)
    if parsed.errors:
        found = service.Page([], page, PER_PAGE, 0)
    else:
        found = service.query_entries(db, parsed.filter, page=page, per_page=PER_PAGE)
    rows = [r.as_dict() for r in found.items]
    names = users.actor_names(db, [uuid.UUID(r["actor_id"]) for r in rows if r["actor_id"]])
    for r in rows:
        known = names.get(uuid.UUID(r["actor_id"])) if r["actor_id"] else None
        r["actor_name"] = known[0] if known else None
        r["at"] = datetime.fromisoformat(r["at"])
        r["role"] = role_label(r["actor_role"]) if r["actor_role"] else None
    record(
        db,
        AuditAction.AUDIT_READ,
        by=viewer,
        on=("audit_log", None),
        fields=service.used_filters(parsed.filter),
        reason="entries",
    )
    query = urlencode({k: v for k, v in values.items() if v})
    accounts = users.actor_names(db, users.all_account_ids(db))
    named = sorted(
        ((str(i), _Named(n, r)) for i, (n, r) in accounts.items()), key=lambda o: o[1].name.lower()
    )
    context = {
        "rows": rows,
        "total": found.total,
        "page": found.page,
        "pages": max(1, -(-found.total // PER_PAGE)),
        "query": query,
        "values": values,
        "errors": parsed.errors,
        "actor_options": [("", lazy("anyone")), *named],
        "action_options": [("", lazy("any action")), *((a.value, a.value) for a in AuditAction)],
    }
    return render(request, "audit/log.html", context, 422 if parsed.errors else 200)


@router.get("/audit/export.csv")
def export_csv(
    *,
    request: Request,
    db: DbSession,
    actor: Field = "",
    case: Field = "",
    action: Field = "",
    since: Field = "",
    until: Field = "",
    viewer: Actor = require(Permission.AUDIT_READ),
) -> Response:
    """Every entry the filters match, oldest first, as CSV (formula-like cells neutralised;
    the export is itself audited)."""
    values = {"actor": actor, "case": case, "action": action, "since": since, "until": until}
    parsed = _parse(values)
    if parsed.errors:
        return log_page(
            request=request,
            db=db,
            viewer=viewer,
            actor=actor,
            case=case,
            action=action,
            since=since,
            until=until,
        )
    body = service.export_audited(db, actor=viewer, flt=parsed.filter)
    disposition = 'attachment; filename="haven-audit.csv"'
    return Response(body, media_type=CSV, headers={"Content-Disposition": disposition})


@router.get("/audit/verify")
def verify_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    viewer: Actor = require(Permission.AUDIT_VERIFY),
) -> Response:
    """Recompute the whole tree and check every stored checkpoint; the result in plain words."""
    result = service.verify(db, keyring=request.app.state.keyring, settings=settings)
    record(
        db,
        AuditAction.AUDIT_VERIFIED,
        by=viewer,
        on=("audit_log", None),
        outcome="ok" if result["ok"] else "failed",
        reason=None if result["ok"] else f"first_bad:{result['first_bad']}",
    )
    checkpoint = latest_checkpoint(db)
    context = {"result": result, "checkpoint": checkpoint}
    return render(request, "audit/verify.html", context)


@router.get("/audit/alerts")
def alerts_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    days: Annotated[int, Query(ge=1, le=90)] = 1,
    viewer: Actor = require(Permission.AUDIT_READ),
) -> Response:
    """What an auditor must look at, over the last days (default one)."""
    since = request.app.state.clock.now() - timedelta(days=days)
    found = service.alerts(db, settings=settings, since=since)
    record(db, AuditAction.AUDIT_READ, by=viewer, on=("audit_log", None), reason="alerts")
    names = users.actor_names(db, [a.actor_id for a in found])
    rows = [
        {
            "kind": ALERT_KINDS.get(a.kind, a.kind),
            "actor_id": a.actor_id,
            "actor": names.get(a.actor_id) if a.actor_id else None,
            "first_at": a.first_at,
            "last_at": a.last_at,
            "count": a.count,
        }
        for a in found
    ]
    day_options = [(str(n), n) for n in (1, 7, 30, 90)]
    context = {"rows": rows, "days": str(days), "day_options": day_options}
    return render(request, "audit/alerts.html", context)


@router.get("/audit/checkpoint.txt")
def checkpoint_download(
    request: Request, db: DbSession, viewer: Actor = require(Permission.AUDIT_READ)
) -> Response:
    """The newest signed checkpoint (C2SP note) to keep off the server."""
    row = latest_checkpoint(db)
    record(
        db,
        AuditAction.AUDIT_READ,
        by=viewer,
        on=("audit_log", str(row.id) if row is not None else None),
        reason="checkpoint",
    )
    if row is None:
        return render(request, "audit/no_checkpoint.html")
    headers = {"Content-Disposition": 'attachment; filename="haven-checkpoint.txt"'}
    return Response(row.note, media_type=TEXT, headers=headers)


@router.get("/audit/verifier-key.txt")
def verifier_key_download(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    viewer: Actor = require(Permission.AUDIT_READ),
) -> Response:
    """The note verifier key that checks this log's checkpoints."""
    key = verifier_key(request.app.state.keyring, settings.audit_origin)
    record(db, AuditAction.AUDIT_READ, by=viewer, on=("audit_log", None), reason="verifier_key")
    headers = {"Content-Disposition": 'attachment; filename="haven-verifier-key.txt"'}
    return Response(key.encode() + "\n", media_type=TEXT, headers=headers)
