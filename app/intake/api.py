"""POST /api/v1/requests: the public self-referral (no account; throttled)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.deps import AppSettings, DbSession
from app.intake import service
from app.intake.schemas import RequestIn
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
