"""Case routes of the access work: a minimal case read through the policy, and break-glass.

The casework extends the case read with the encrypted fields; redaction already goes through
FIELD_VISIBILITY, so new fields are covered by the same table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.audit.events import AuditAction
from app.audit.log import record
from app.cases import break_glass
from app.cases.models import Case
from app.deps import DbSession
from app.policy.deps import Actor, require
from app.policy.permissions import Permission, redact
from app.policy.scope import CaseAccess, any_case, readable_case

router = APIRouter(prefix="/api/v1", tags=["cases"])


def plain_fields(case: Case) -> dict[str, object]:
    """The case's plaintext fields under their API names."""
    return {
        "id": str(case.id),
        "case_code": case.case_code,
        "stage": case.stage,
        "risk_level": case.risk_level,
        "team": str(case.team_id),
        "assigned_to": str(case.assigned_to) if case.assigned_to else None,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "version": case.version,
    }


@router.get("/cases/{case_id}")
def read_case(
    db: DbSession, access: CaseAccess = readable_case(Permission.CASE_READ)
) -> dict[str, Any]:
    """One case in scope, each field as the policy lets the caller see it."""
    shown = redact(access.actor.role, plain_fields(access.case))
    record(
        db,
        action=AuditAction.CASE_READ,
        actor_id=access.actor.id,
        actor_role=access.actor.role.value,
        object_type="case",
        object_id=access.case.id,
        fields=list(shown),
    )
    return shown


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
