"""POST /api/v1/requests: the public self-referral (no account; throttled); and the
coordinator's judgement of one, POST /api/v1/cases/{case_id}/vetting."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.cases.dependencies import CaseWrite
from app.cases.schemas import CaseListItem
from app.cases.search import list_item
from app.deps import AppSettings, DbSession
from app.intake import service
from app.intake.schemas import RequestIn, VettingIn
from app.openapi import errors
from app.policy.deps import PUBLIC
from app.users.auth_api import client_address

router = APIRouter(prefix="/api/v1", tags=["intake"])

RECEIVED = {
    "status": "received",
    "detail": "Thank you. Your request was received; someone will contact you the way you "
    "asked. Nothing about it is shown here.",
}


class ReceivedOut(BaseModel):
    """The request arrived; nothing about it is shown back, not even a code."""

    status: Literal["received"]
    detail: str


@router.post(
    "/requests",
    status_code=202,
    dependencies=PUBLIC,
    response_model=ReceivedOut,
    responses=errors(429, 503),
)
def submit_request(
    body: RequestIn, request: Request, db: DbSession, settings: AppSettings
) -> ReceivedOut:
    """Ask for help: 202 with no case details (not even a code). 429 when throttled."""
    service.receive_request(
        db,
        keyring=request.app.state.keyring,
        settings=settings,
        data=body,
        address=client_address(request),
        now=request.app.state.clock.now(),
    )
    return ReceivedOut.model_validate(RECEIVED)


@router.post("/cases/{case_id:uuid}/vetting", response_model=CaseListItem, responses=errors(409))
def vet_request(
    body: VettingIn, request: Request, db: DbSession, access: CaseWrite
) -> CaseListItem:
    """Mark a request genuine (`verified`) or `suspicious`, naming who checked; 409 when the
    case changed since `version` was read."""
    service.vet(
        db,
        keyring=request.app.state.keyring,
        actor=access.actor,
        case=access.case,
        status=body.status,
        version=body.version,
        now=request.app.state.clock.now(),
    )
    return CaseListItem.model_validate(list_item(access.case))
