"""The case's timeline, and its grave acts: erasure (four eyes), the subject-access export,
break-glass. The grave acts ask for a fresh re-authentication in their access alias, so their
confirmation page already sends the person to prove password and code, and back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from app.cases import break_glass, erasure, export, timeline
from app.cases.dependencies import CaseBreakGlass, CaseErase, CaseExport, CaseHistory
from app.cases.file_view import HELPERS
from app.cases.labels import FIELDS
from app.cases.page_header import case_header
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.documents.blobs import BlobStore
from app.errors import HavenError
from app.forms import read_form
from app.i18n import lazy, lazy_ngettext
from app.pagination import PageQuery, page_of
from app.policy.access import CaseAccess
from app.users import directory
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

HISTORY_PER_PAGE = 25
ERASURE_REFUSED = {
    "legal_hold": lazy("The case is on legal hold. Lift the hold before erasing it."),
    "erasure_awaiting_second_coordinator": lazy(
        "You asked for this erasure yourself. Another coordinator of the team must approve it."
    ),
}
REASON_LENGTH = lazy_ngettext(
    "Write the reason in at least %(num)s character.",
    "Write the reason in at least %(num)s characters.",
    break_glass.REASON_MIN,
)
REASON_TOO_LONG = lazy_ngettext(
    "This is too long: at most %(num)s character.",
    "This is too long: at most %(num)s characters.",
    break_glass.REASON_MAX,
)


@router.get("/cases/{case_id}/history")
def case_history(
    request: Request,
    db: DbSession,
    access: CaseHistory,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The timeline, newest first, one page at a time: who changed which field when (the
    values only where the reader may see them), stages, assignments, consents, documents,
    referrals, tasks."""
    now = _now(request)
    events = timeline.timeline(db, keyring=_keyring(request), actor=access.actor, case=access.case)
    events.reverse()
    shown = page_of(events, PageQuery(page=page, per_page=HISTORY_PER_PAGE))
    names = directory.names(db, actor=access.actor, ids=[e.actor_id for e in shown.items])
    context: dict[str, Any] = {
        **case_header(db, access, now=now),
        **HELPERS,
        "tab": "timeline",
        "events": shown.items,
        "page": shown.page,
        "pages": max(1, -(-shown.total // HISTORY_PER_PAGE)),
        "total": shown.total,
        "names": {str(k): v for k, v in names.items()},
        "me": str(access.actor.id),
        "field_label": FIELDS,
    }
    return render(request, "cases/file/history.html", context)


# --- erasure --------------------------------------------------------------------------


def _erase_page(
    request: Request, db: DbSession, access: CaseAccess, *, error: Any = None, status: int = 200
) -> Response:
    now = _now(request)
    pending = erasure.pending(access.case, now)
    names = directory.names(db, actor=access.actor, ids=[pending.requested_by] if pending else [])
    context = {
        **case_header(db, access, now=now),
        "tab": "file",
        "pending": pending,
        "mine": pending is not None and pending.requested_by == access.actor.id,
        "asker": names.get(pending.requested_by) if pending else None,
        "window_days": erasure.APPROVAL_WINDOW.days,
        "error": error,
    }
    return render(request, "cases/file/erase.html", context, status)


@router.get("/cases/{case_id}/erase")
def erase_form(request: Request, db: DbSession, access: CaseErase) -> Response:
    """Ask for erasure, or approve another coordinator's request (after re-authentication)."""
    return _erase_page(request, db, access)


@router.post("/cases/{case_id}/erase")
def erase_case(request: Request, db: DbSession, access: CaseErase) -> Response:
    """The first coordinator asks; a second coordinator of the team erases the case
    (crypto-shredding), as DELETE /api/v1/cases/{id} does."""
    try:
        outcome = erasure.request_or_approve(
            db,
            actor=access.actor,
            case=access.case,
            now=_now(request),
            blob_store=BlobStore(request.app.state.settings.blob_dir),
        )
    except HavenError as exc:
        if exc.code not in ERASURE_REFUSED:
            raise
        db.rollback()
        return _erase_page(request, db, access, error=ERASURE_REFUSED[exc.code], status=409)
    if outcome.erased:
        return see_other("/cases", done="erased")
    return see_other(f"/cases/{outcome.case_id}", done="erasure_requested")


# --- subject-access export ------------------------------------------------------------


@router.get("/cases/{case_id}/export")
def export_form(request: Request, db: DbSession, access: CaseExport) -> Response:
    """What the export holds, and the button that downloads it (after re-authentication)."""
    context = {**case_header(db, access, now=_now(request)), "tab": "file"}
    return render(request, "cases/file/export.html", context)


@router.post("/cases/{case_id}/export")
def export_download(request: Request, db: DbSession, access: CaseExport) -> Response:
    """The subject-access export as a JSON attachment (audited, like the API's)."""
    document = export.export_case(
        db, keyring=_keyring(request), actor=access.actor, case=access.case, now=_now(request)
    )
    name = f"{access.case.case_code}.json"
    return JSONResponse(
        document,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


# --- break-glass ----------------------------------------------------------------------


def _glass_page(
    request: Request,
    db: DbSession,
    access: CaseAccess,
    *,
    reason: str = "",
    errors: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    context = {  # nothing of the case before the grant, its code included (an unaudited read)
        "case_id": access.case.id,
        "hours": int(break_glass.GRANT_DURATION.total_seconds() // 3600),
        "reason": reason,
        "errors": errors or {},
    }
    return render(request, "cases/file/break_glass.html", context, status)


@router.get("/cases/{case_id}/break-glass")
def break_glass_form(request: Request, db: DbSession, access: CaseBreakGlass) -> Response:
    """Why the case must be opened now: the reason, typed after re-authentication."""
    return _glass_page(request, db, access)


@router.post("/cases/{case_id}/break-glass")
async def break_glass_open(request: Request, db: DbSession, access: CaseBreakGlass) -> Response:
    """Open the case for one hour; the case file then carries the break-glass banner."""
    reason = (await read_form(request, ["reason"])).get("reason", "")
    length = len(reason.strip())
    if length < break_glass.REASON_MIN or length > break_glass.REASON_MAX:
        error = REASON_LENGTH if length < break_glass.REASON_MIN else REASON_TOO_LONG
        return _glass_page(request, db, access, reason=reason, errors={"reason": error}, status=422)
    break_glass.open_grant(
        db,
        actor=access.actor,
        case=access.case,
        reason=reason,
        now=_now(request),
        keyring=_keyring(request),
    )
    return see_other(f"/cases/{access.case.id}", done="break_glass")
