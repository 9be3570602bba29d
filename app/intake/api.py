"""POST /api/v1/requests: the public self-referral (no account; throttled)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.deps import AppSettings, DbSession
from app.intake import service
from app.intake.schemas import RequestIn
from app.policy.deps import PUBLIC
from app.users.auth_api import client_address

router = APIRouter(prefix="/api/v1", tags=["intake"])

RECEIVED = {
    "status": "received",
    "detail": "Thank you. Your request was received; someone will contact you the way you "
    "asked. Nothing about it is shown here.",
}


@router.post("/requests", status_code=202, dependencies=PUBLIC)
def submit_request(
    body: RequestIn, request: Request, db: DbSession, settings: AppSettings
) -> dict[str, Any]:
    """Ask for help: 202 with no case details (not even a code). 429 when throttled."""
    service.receive_request(
        db,
        keyring=request.app.state.keyring,
        settings=settings,
        data=body,
        address=client_address(request),
        now=request.app.state.clock.now(),
    )
    return RECEIVED
