"""GET /api/v1/board: the coordinator's triage board as JSON, from the same service as the
page (app/board/service.py), so a script and the page can never disagree."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.board import service
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.policy.deps import Actor, require
from app.policy.permissions import Permission

router = APIRouter(prefix="/api/v1", tags=["board"])


class WaitingOut(BaseModel):
    """A case waiting on the board: plain columns; `vetting` for a new request."""

    id: uuid.UUID
    case_code: str
    stage: str
    risk_level: str | None
    team_id: uuid.UUID
    created_at: datetime
    version: int
    citizenship: str | None
    current_country: str | None
    vetting: str | None


class DueOut(BaseModel):
    """A date a case must meet: `hearing`, `deadline` or `destroy_after`."""

    case_id: uuid.UUID
    case_code: str
    kind: str
    on: date


class OverdueOut(BaseModel):
    """A task past its due time, by its case code."""

    case_id: uuid.UUID
    case_code: str
    due: datetime
    status: str
    volunteer: str


class AskedOut(BaseModel):
    """A pending access request, by names."""

    id: uuid.UUID
    account: str
    role: str
    teams: list[str]
    new_account: bool
    requested_by: str
    requested_at: datetime


class GlassOut(BaseModel):
    """A break-glass use on one of the coordinator's teams' cases."""

    case_id: uuid.UUID
    case_code: str
    by: str
    created_at: datetime
    expires_at: datetime
    active: bool


class BoardOut(BaseModel):
    """What waits for the coordinator: each list cut to its first rows, with its total."""

    requests: list[WaitingOut]
    requests_total: int
    unassigned: list[WaitingOut]
    unassigned_total: int
    stages: dict[str, int]
    overdue: list[OverdueOut]
    overdue_total: int
    capped: list[Literal["requests", "unassigned", "overdue"]] = Field(
        description="the totals counted only up to 1,000: each list holds at least its total"
    )
    deadlines: list[DueOut]
    access_requests: list[AskedOut]
    break_glass: list[GlassOut]


@router.get("/board", response_model=BoardOut)
def board(
    request: Request, db: DbSession, actor: Actor = require(Permission.CASE_ASSIGN)
) -> BoardOut:
    """The triage board of the caller's teams (coordinators); the vetting status of the new
    requests shown is the only encrypted field opened, audited once."""
    found = service.board_of(
        db,
        keyring=_keyring(request),
        actor=actor,
        now=_now(request),
        list_count_cap=request.app.state.settings.list_count_cap,
    )
    return BoardOut(
        requests=[WaitingOut(**asdict(w)) for w in found.requests],
        requests_total=found.requests_total,
        unassigned=[WaitingOut(**asdict(w)) for w in found.unassigned],
        unassigned_total=found.unassigned_total,
        stages=found.stages,
        overdue=[OverdueOut(**asdict(o)) for o in found.overdue],
        overdue_total=found.overdue_total,
        capped=sorted(found.capped),
        deadlines=[DueOut(**asdict(d)) for d in found.deadlines],
        access_requests=[AskedOut(**asdict(a)) for a in found.access_requests],
        break_glass=[GlassOut(**asdict(g)) for g in found.glass],
    )
