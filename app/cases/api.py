"""Case routes: thin translations of HTTP to the case services, every answer described by
its response model, every case reached through a scoped alias (app/cases/dependencies.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.cases import (
    break_glass,
    consents,
    duplicates,
    erasure,
    export,
    search,
    service,
    timeline,
    transitions,
)
from app.cases.dependencies import (
    CaseAssign,
    CaseBreakGlass,
    CaseErase,
    CaseExport,
    CaseHistory,
    CaseRead,
    CaseTransition,
    CaseWrite,
)
from app.cases.models import Case
from app.cases.schemas import (
    AssignIn,
    CaseCreate,
    CaseListItem,
    CaseOut,
    CasePage,
    CaseUpdate,
    ConsentIn,
    DuplicatesIn,
    DuplicatesOut,
    ListQuery,
    RevisionOut,
    SearchIn,
    TimelineEvent,
    Transition,
)
from app.cases.values import Consent
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.documents.blobs import BlobStore
from app.openapi import errors
from app.pagination import Page, PageQuery, page_of
from app.policy.deps import Actor, require
from app.policy.permissions import Permission, redact

router = APIRouter(prefix="/api/v1", tags=["cases"])


@router.get("/cases", response_model=CasePage)
def list_cases(
    q: Annotated[ListQuery, Query()],
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.CASE_LIST),
) -> CasePage:
    """Cases in scope, in the list shape (no identifying field); plain filters only. Unknown
    parameters are refused, so a name or phone typed into a URL is an error, not a search."""
    found = search.page_in_scope(
        db,
        keyring=_keyring(request),
        actor=actor,
        permission=Permission.CASE_LIST,
        f=q.filters(),
        paging=q,
        sort=q.sort,
        now=_now(request),
        count_cap=request.app.state.settings.list_count_cap,
    )
    return _listed(found)


def _listed(found: Page[Case]) -> CasePage:
    items = [CaseListItem.model_validate(search.list_item(c)) for c in found.items]
    return CasePage(
        items=items,
        page=found.page,
        per_page=found.per_page,
        total=found.total,
        total_capped=found.total_capped,
    )


@router.post("/cases/search", response_model=CasePage)
def search_cases(
    body: SearchIn,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.CASE_SEARCH),
) -> CasePage:
    """Search by personal terms, which travel in this body and never in a URL.

    Matches are confirmed in the list's order up to the end of the asked page and one more:
    when more remain, `total` is what this page reaches and `total_capped` is true (at
    least that many; a name shared by hundreds of cases does not decrypt them all)."""
    found = search.search_in_scope(
        db,
        keyring=_keyring(request),
        actor=actor,
        f=body.filters(),
        paging=body,
        sort=body.sort,
        now=_now(request),
    )
    return _listed(found)


@router.post("/cases/duplicates", response_model=DuplicatesOut, responses=errors(429))
def find_duplicates(
    body: DuplicatesIn,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.CASE_SEARCH),
) -> DuplicatesOut:
    """Whether the person may already be known: same name and birth date, phone or handle.
    Throttled per account (429); audited with the kinds of term and whether a hit lay
    outside the caller's scope, never the terms."""
    found = duplicates.check(
        db,
        keyring=_keyring(request),
        actor=actor,
        probes=body.probes(),
        kinds=sorted(body.model_dump(exclude_none=True)),
        now=_now(request),
    )
    return DuplicatesOut.model_validate(found)


@router.post("/cases", status_code=201, response_model=CaseOut, response_model_exclude_unset=True)
def create_case(
    body: CaseCreate,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.CASE_CREATE),
) -> CaseOut:
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
    return _shown(db, request, actor, case)


def _shown(db: Session, request: Request, actor: Actor, case: Case) -> CaseOut:
    """The case as actor may see it (absent: hidden), the read audited."""
    return CaseOut.model_validate(
        service.view(db, keyring=_keyring(request), actor=actor, case=case)
    )


@router.get("/cases/{case_id:uuid}", response_model=CaseOut, response_model_exclude_unset=True)
def read_case(request: Request, db: DbSession, access: CaseRead) -> CaseOut:
    """One case in scope, each field as the policy lets the caller see it."""
    return _shown(db, request, access.actor, access.case)


@router.patch(
    "/cases/{case_id:uuid}",
    response_model=CaseOut,
    response_model_exclude_unset=True,
    responses=errors(409),
)
def update_case(body: CaseUpdate, request: Request, db: DbSession, access: CaseWrite) -> CaseOut:
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
    return _shown(db, request, access.actor, access.case)


@router.get("/cases/{case_id:uuid}/history", response_model=Page[RevisionOut])
def case_history(
    q: Annotated[PageQuery, Query()], request: Request, db: DbSession, access: CaseHistory
) -> Page[RevisionOut]:
    """Field revisions, newest first: who, when, which fields, old and new values (stage
    changes and assignments included)."""
    revisions = service.history(db, keyring=_keyring(request), actor=access.actor, case=access.case)
    return page_of([RevisionOut.model_validate(r) for r in revisions], q)


@router.get("/cases/{case_id:uuid}/timeline", response_model=Page[TimelineEvent])
def case_timeline(
    q: Annotated[PageQuery, Query()], request: Request, db: DbSession, access: CaseHistory
) -> Page[TimelineEvent]:
    """Everything that happened to the case, oldest first: field revisions (with the values
    the caller may see), stage changes, assignments, consents, documents, referrals, tasks."""
    events = timeline.timeline(db, keyring=_keyring(request), actor=access.actor, case=access.case)
    return page_of([TimelineEvent.model_validate(e, from_attributes=True) for e in events], q)


@router.post(
    "/cases/{case_id:uuid}/consents",
    status_code=201,
    response_model=Consent,
    responses=errors(409),
)
def record_consent(body: ConsentIn, request: Request, db: DbSession, access: CaseWrite) -> Consent:
    """Record one consent beside the others (who and when are added); the others untouched."""
    return consents.add(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        consent=body.consent(),
        now=_now(request),
    )


@router.post(
    "/cases/{case_id:uuid}/consents/{consent_id:uuid}/withdraw",
    response_model=Consent,
    responses=errors(404, 409),
)
def withdraw_consent(
    consent_id: uuid.UUID, request: Request, db: DbSession, access: CaseWrite
) -> Consent:
    """Withdraw one consent now (who and when are recorded; the consent stays on the case).
    Withdrawing consent to store asks a coordinator for an erasure decision; withdrawing
    consent to share blocks the referrals to that partner."""
    return consents.withdraw(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        consent_id=consent_id,
        now=_now(request),
    )


@router.post("/cases/{case_id:uuid}/transition", response_model=CaseListItem, responses=errors(409))
def transition_case(
    body: Transition, request: Request, db: DbSession, access: CaseTransition
) -> CaseListItem:
    """Move to another stage; 409 with `missing` when the gate refuses."""
    transitions.transition(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        to=body.to,
        now=_now(request),
    )
    return CaseListItem.model_validate(search.list_item(access.case))


@router.post("/cases/{case_id:uuid}/assign", response_model=CaseListItem, responses=errors(409))
def assign_case(
    body: AssignIn, request: Request, db: DbSession, access: CaseAssign
) -> CaseListItem:
    """Assign the case to a caseworker of its team (null unassigns); 409 `vetting_required`
    for a request from the public form nobody has judged yet."""
    service.assign(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        user_id=body.user_id,
        now=_now(request),
    )
    return CaseListItem.model_validate(search.list_item(access.case))


@router.get(
    "/cases/{case_id:uuid}/export",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "Everything held about the person, as a JSON attachment.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def export_case(request: Request, db: DbSession, access: CaseExport) -> Response:
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


@router.delete(
    "/cases/{case_id:uuid}",
    response_model=ErasureOut,
    response_model_exclude_none=True,
    responses={202: {"model": ErasureOut}, **errors(409)},
)
def erase_case(
    request: Request, response: Response, db: DbSession, access: CaseErase
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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reason": "Night call from the client's lawyer: the hearing moved to tomorrow "
                    "morning."
                }
            ]
        }
    )

    reason: str = Field(min_length=break_glass.REASON_MIN, max_length=break_glass.REASON_MAX)


class BreakGlassOut(BaseModel):
    """The grant: access to the case until expires_at."""

    id: uuid.UUID
    case_id: uuid.UUID
    expires_at: datetime


@router.post("/cases/{case_id:uuid}/break-glass", response_model=BreakGlassOut, status_code=201)
def open_break_glass(
    body: BreakGlassIn, request: Request, db: DbSession, access: CaseBreakGlass
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


@router.get("/break-glass", response_model=Page[GrantOut], response_model_exclude_none=True)
def list_break_glass(
    q: Annotated[PageQuery, Query()],
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.BREAK_GLASS_REVIEW),
) -> Page[GrantOut]:
    """Break-glass grants for review (auditors: all; coordinators: their teams' cases)."""
    now = request.app.state.clock.now()
    show_reason = actor.can(Permission.BREAK_GLASS_READ_REASON)
    grants = [
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
    return page_of(grants, q)
