"""Case routes of the access work: a minimal case read through the policy, and break-glass.

The casework extends the case read with the encrypted fields; redaction already goes through
FIELD_VISIBILITY, so new fields are covered by the same table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import break_glass, duplicates, erasure, export, search, service, transitions
from app.cases.models import Case
from app.cases.schemas import (
    AssignIn,
    CaseCreate,
    CaseUpdate,
    DuplicatesIn,
    ListQuery,
    SearchIn,
    Transition,
)
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.documents.blobs import BlobStore
from app.errors import Throttled
from app.policy.deps import Actor, require
from app.policy.permissions import Permission, redact
from app.policy.scope import CaseAccess, any_case, readable_case

router = APIRouter(prefix="/api/v1", tags=["cases"])


def _audit_search(db: Session, actor: Actor, terms: list[str]) -> None:
    record(
        db,
        action=AuditAction.CASE_SEARCHED,
        actor_id=actor.id,
        actor_role=actor.role.value,
        object_type="case",
        fields=terms,
    )


@router.get("/cases")
def list_cases(
    q: Annotated[ListQuery, Query()],
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.CASE_LIST),
) -> dict[str, Any]:
    """Cases in scope, in the list shape (no identifying field); plain filters only. Unknown
    parameters are refused, so a name or phone typed into a URL is an error, not a search."""
    return search.page_in_scope(
        db,
        keyring=_keyring(request),
        actor=actor,
        permission=Permission.CASE_LIST,
        f=q.filters(),
        page=q.page,
        now=_now(request),
    )


@router.post("/cases/search")
def search_cases(
    body: SearchIn,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.CASE_SEARCH),
) -> dict[str, Any]:
    """Search by personal terms, which travel in this body and never in a URL."""
    found = search.page_in_scope(
        db,
        keyring=_keyring(request),
        actor=actor,
        permission=Permission.CASE_SEARCH,
        f=body.filters(),
        page=body.page,
        now=_now(request),
    )
    _audit_search(db, actor, sorted(body.model_dump(exclude_none=True, exclude={"page"})))
    return found


@router.post("/cases/duplicates")
def find_duplicates(
    body: DuplicatesIn,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.CASE_SEARCH),
) -> dict[str, Any]:
    """Whether the person may already be known: same name and birth date, phone or handle.
    Throttled per account (429); audited with the kinds of term and whether a hit lay
    outside the caller's scope, never the terms."""
    kinds = sorted(body.model_dump(exclude_none=True))
    try:
        return duplicates.check(
            db,
            keyring=_keyring(request),
            actor=actor,
            probes=body.probes(),
            kinds=kinds,
            now=_now(request),
        )
    except Throttled:
        duplicates.record_throttled(db, actor=actor, kinds=kinds)
        db.commit()  # the refusal is recorded although the request fails
        raise


@router.post("/cases", status_code=201)
def create_case(
    body: CaseCreate,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.CASE_CREATE),
) -> dict[str, Any]:
    """A new intake; 201 with the case as the caller may see it."""
    values = service.validate_fields(body.model_dump(exclude_unset=True, exclude={"team_id"}))
    case = service.create_case(
        db,
        keyring=_keyring(request),
        actor=actor,
        team_id=service.resolve_team(actor, body.team_id),
        values=values,
        now=_now(request),
    )
    return service.view(db, keyring=_keyring(request), actor=actor, case=case)


@router.get("/cases/{case_id}")
def read_case(
    request: Request, db: DbSession, access: CaseAccess = readable_case(Permission.CASE_READ)
) -> dict[str, Any]:
    """One case in scope, each field as the policy lets the caller see it."""
    return service.view(db, keyring=_keyring(request), actor=access.actor, case=access.case)


@router.patch("/cases/{case_id}")
def update_case(
    body: CaseUpdate,
    request: Request,
    db: DbSession,
    access: CaseAccess = readable_case(Permission.CASE_UPDATE),
) -> dict[str, Any]:
    """A partial update; `version` must be current (409 names the fields changed since).
    `legal_hold` (coordinators) keeps a closed case from the retention purge."""
    sent = body.changes()
    hold = {"legal_hold": sent.pop("legal_hold")} if "legal_hold" in sent else {}
    changes = {**service.validate_fields(sent), **hold}
    service.update_case(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        version=body.version,
        changes=changes,
        now=_now(request),
    )
    return service.view(db, keyring=_keyring(request), actor=access.actor, case=access.case)


@router.get("/cases/{case_id}/history")
def case_history(
    request: Request,
    db: DbSession,
    access: CaseAccess = readable_case(Permission.CASE_HISTORY),
) -> list[dict[str, Any]]:
    """Revisions, newest first: who, when, which fields, old and new values."""
    return service.history(db, keyring=_keyring(request), actor=access.actor, case=access.case)


@router.post("/cases/{case_id}/transition")
def transition_case(
    body: Transition,
    request: Request,
    db: DbSession,
    access: CaseAccess = readable_case(Permission.CASE_TRANSITION),
) -> dict[str, Any]:
    """Move to another stage; 409 with `missing` when the gate refuses."""
    transitions.transition(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        to=body.to,
        now=_now(request),
    )
    return search.list_item(access.case)


@router.post("/cases/{case_id}/assign")
def assign_case(
    body: AssignIn,
    request: Request,
    db: DbSession,
    access: CaseAccess = readable_case(Permission.CASE_ASSIGN),
) -> dict[str, Any]:
    """Assign the case to a caseworker of its team (null unassigns)."""
    service.assign(
        db, actor=access.actor, case=access.case, user_id=body.user_id, now=_now(request)
    )
    return search.list_item(access.case)


@router.get("/cases/{case_id}/export")
def export_case(
    request: Request,
    db: DbSession,
    access: CaseAccess = readable_case(Permission.CASE_EXPORT, reauth=True),
) -> Response:
    """Subject access export: everything held about the person, as a JSON attachment
    (coordinators, after re-authentication; audited)."""
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


class ErasureOut(BaseModel):
    """What DELETE did: `awaiting_second_coordinator` (202) or `erased` (200)."""

    status: str
    case_id: uuid.UUID
    requested_at: datetime | None = None
    approve_before: datetime | None = None


@router.delete("/cases/{case_id}", response_model=ErasureOut, response_model_exclude_none=True)
def erase_case(
    request: Request,
    response: Response,
    db: DbSession,
    access: CaseAccess = readable_case(Permission.CASE_ERASE, reauth=True),
) -> ErasureOut:
    """Four eyes: the first coordinator's call asks (202); a second coordinator of the same
    team approves within seven days and the case is crypto-shredded (200). The same
    coordinator asking twice gets 409."""
    outcome = erasure.request_or_approve(
        db,
        actor=access.actor,
        case=access.case,
        now=_now(request),
        blob_store=BlobStore(request.app.state.settings.blob_dir),
    )
    if not outcome.erased:
        response.status_code = 202
        return ErasureOut(
            status="awaiting_second_coordinator",
            case_id=outcome.case_id,
            requested_at=outcome.requested_at,
            approve_before=outcome.approve_before,
        )
    return ErasureOut(status="erased", case_id=outcome.case_id)


class BreakGlassIn(BaseModel):
    """Why the case must be opened now (stored, shown to reviewers, never logged)."""

    reason: str = Field(min_length=1, max_length=break_glass.REASON_MAX)


class BreakGlassOut(BaseModel):
    """The grant: access to the case until expires_at."""

    id: uuid.UUID
    case_id: uuid.UUID
    expires_at: datetime


@router.post("/cases/{case_id}/break-glass", response_model=BreakGlassOut, status_code=201)
def open_break_glass(
    body: BreakGlassIn,
    request: Request,
    db: DbSession,
    access: CaseAccess = any_case(Permission.CASE_BREAK_GLASS, reauth=True),
) -> BreakGlassOut:
    """Open a case outside one's scope for one hour (needs a fresh re-authentication)."""
    grant = break_glass.open_grant(
        db,
        actor=access.actor,
        case=access.case,
        reason=body.reason,
        now=request.app.state.clock.now(),
        keyring=request.app.state.keyring,
    )
    return BreakGlassOut(id=grant.id, case_id=grant.case_id, expires_at=grant.expires_at)


class GrantOut(BaseModel):
    """A break-glass grant for review; the reason only for those allowed to read it."""

    id: uuid.UUID
    actor_id: uuid.UUID
    case_id: uuid.UUID
    case_code: str | None
    created_at: datetime
    expires_at: datetime
    active: bool
    reason: str | None = None


def _code(actor: Actor, case: Case) -> str | None:
    shown = redact(actor.role, {"case_code": case.case_code}).get("case_code")
    return str(shown) if shown is not None else None


@router.get("/break-glass", response_model=list[GrantOut], response_model_exclude_none=True)
def list_break_glass(
    request: Request, db: DbSession, actor: Actor = require(Permission.BREAK_GLASS_REVIEW)
) -> list[GrantOut]:
    """Break-glass grants for review (auditors: all; coordinators: their teams' cases)."""
    now = request.app.state.clock.now()
    show_reason = actor.can(Permission.BREAK_GLASS_READ_REASON)
    return [
        GrantOut(
            id=g.id,
            actor_id=g.actor_id,
            case_id=g.case_id,
            case_code=_code(actor, c),
            created_at=g.created_at,
            expires_at=g.expires_at,
            active=g.expires_at > now,
            reason=(
                break_glass.reason_text(db, keyring=request.app.state.keyring, grant=g)
                if show_reason
                else None
            ),
        )
        for g, c in break_glass.reviewable_grants(db, actor=actor)
    ]
