"""The coordinator's home page: the triage board, and what is decided from it.

`GET /board` shows what waits (app/board/service.py). From it a coordinator assigns a case
(one small form per row, with the caseworkers of the case's team), judges a new request
genuine or suspicious, and approves (after re-authentication) or rejects an access request.
Every action declares its access like the API's routes and calls the same services.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.board import service as board_service
from app.cases import service as cases
from app.cases.dependencies import CaseAssign, CaseWrite
from app.cases.errors import StaleVersion, VettingRequired
from app.cases.vocab import VettingStatus
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.errors import InvalidInput
from app.forms import CHOOSE, UUID, read_form
from app.i18n import LazyText, lazy
from app.i18n.countries import country_name
from app.intake import service as intake
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.users import grants
from app.users.dependencies import AccessRequestApprove, AccessRequestReject
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

NOT_A_CASEWORKER = lazy("Choose a caseworker of this case's team.")
JUDGE_FIRST = lazy("Judge the request first (genuine or suspicious), then assign it.")
CHANGED = lazy("Someone changed this case a moment ago. Here is the board as it is now.")


def _board(
    request: Request,
    db: DbSession,
    actor: Actor,
    *,
    errors: dict[str, LazyText] | None = None,
    problem: LazyText | None = None,
    status: int = 200,
) -> Response:
    found = board_service.board_of(
        db,
        keyring=_keyring(request),
        actor=actor,
        now=_now(request),
        list_count_cap=request.app.state.settings.list_count_cap,
    )
    context: dict[str, Any] = {
        "board": found,
        "errors": errors or {},
        "problem": problem,
        "due_days": board_service.DUE_DAYS,
        "glass_days": board_service.GLASS_DAYS,
        "country_name": country_name,
    }
    return render(request, "board/board.html", context, status)


@router.get("/board")
def board(
    request: Request, db: DbSession, actor: Actor = require(Permission.CASE_ASSIGN)
) -> Response:
    """The triage board: new requests, unassigned cases, stages, overdue tasks, dates due,
    access requests and break-glass uses."""
    return _board(request, db, actor)


@router.post("/board/cases/{case_id}/assign")
async def assign(request: Request, db: DbSession, access: CaseAssign) -> Response:
    """Assign a case to a caseworker of its team; back to the board."""
    chosen = (await read_form(request, ["user_id"])).get("user_id", "")
    field = f"assign-{access.case.id}"
    try:
        user_id = uuid.UUID(chosen)
    except ValueError:
        return _board(request, db, access.actor, errors={field: UUID}, status=422)
    try:
        cases.assign(
            db,
            keyring=_keyring(request),
            actor=access.actor,
            case=access.case,
            user_id=user_id,
            now=_now(request),
        )
    except InvalidInput:
        return _board(request, db, access.actor, errors={field: NOT_A_CASEWORKER}, status=422)
    except VettingRequired:
        return _board(request, db, access.actor, errors={field: JUDGE_FIRST}, status=409)
    except StaleVersion:
        return _board(request, db, access.actor, problem=CHANGED, status=409)
    return see_other("/board", done="assigned")


@router.post("/board/requests/{case_id}/vetting")
async def vet(request: Request, db: DbSession, access: CaseWrite) -> Response:
    """Mark a new request genuine or suspicious; back to the board."""
    values = await read_form(request, ["status", "version"])
    try:
        status = VettingStatus(values.get("status", ""))
        version = int(values.get("version", ""))
    except ValueError:
        return _board(request, db, access.actor, problem=CHOOSE, status=422)
    try:
        intake.vet(
            db,
            keyring=_keyring(request),
            actor=access.actor,
            case=access.case,
            status=status,
            version=version,
            now=_now(request),
        )
    except StaleVersion:
        return _board(request, db, access.actor, problem=CHANGED, status=409)
    return see_other("/board", done="vetted")


@router.get("/board/access-requests/{request_id}/approve")
def approve_page(request: Request, db: DbSession, access: AccessRequestApprove) -> Response:
    """What approving grants, after a fresh re-authentication; the form that approves."""
    asked = board_service.described(db, [access.request])[0]
    return render(request, "board/approve.html", {"asked": asked})


@router.post("/board/access-requests/{request_id}/approve")
def approve(request: Request, db: DbSession, access: AccessRequestApprove) -> Response:
    """Approve the grant; a new account's one-time password is shown here, once."""
    asked = board_service.described(db, [access.request])[0]
    password = grants.approve(db, actor=access.actor, req=access.request, now=_now(request))
    if password is None:
        return see_other("/board", done="access_approved")
    return render(request, "board/approved.html", {"asked": asked, "password": password})


@router.post("/board/access-requests/{request_id}/reject")
def reject(request: Request, db: DbSession, access: AccessRequestReject) -> Response:
    """Refuse the grant; back to the board."""
    grants.reject(db, actor=access.actor, req=access.request, now=_now(request))
    return see_other("/board", done="access_rejected")
