"""The auditor's API: entries (filtered, paged, CSV), verification, alerts, and the latest
signed checkpoint with the key that verifies it, so a lawyer can keep both off the server.

Every call here is itself audited (AUDIT_READ, AUDIT_EXPORTED, AUDIT_VERIFIED), recorded
after the read so the caller's own entry never counts as an unsequenced one.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from app.audit import service
from app.audit.checkpoints import latest_checkpoint, verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.schemas import (
    AlertOut,
    AlertsOut,
    CheckpointOut,
    EntryOut,
    EntryPage,
    LatestCheckpointOut,
    VerifierKeyOut,
    VerifyOut,
)
from app.deps import AppSettings, DbSession
from app.errors import InvalidInput
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.validation import NoNul, StorableTime

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


Actor_ = Annotated[uuid.UUID | None, Query(alias="actor", description="An actor's user id.")]
Case_ = Annotated[
    Annotated[str, NoNul] | None, Query(alias="case", max_length=64, description="A case id.")
]
Action_ = Annotated[AuditAction | None, Query(description="One action, e.g. case.read.")]
Since_ = Annotated[
    StorableTime | None, Query(description="From this time (inclusive, ISO 8601, with a zone).")
]
Until_ = Annotated[StorableTime | None, Query(description="Until this time (exclusive).")]


def _entry_filter(
    actor_id: Actor_ = None,
    case: Case_ = None,
    action: Action_ = None,
    since: Since_ = None,
    until: Until_ = None,
) -> service.AuditFilter:
    """The entries asked for, from the query (the same filters for the page and the CSV)."""
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until", "must be after since")
    return service.AuditFilter(
        actor_id=actor_id, case_id=case, action=action, since=since, until=until
    )


EntryFilter = Annotated[service.AuditFilter, Depends(_entry_filter)]


def _csv_response(db: Session, actor: Actor, flt: service.AuditFilter) -> Response:
    body = service.export_audited(db, actor=actor, flt=flt)
    return Response(
        body,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="haven-audit.csv"'},
    )


@router.get(
    "",
    response_model=EntryPage,
    responses={200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def list_entries(
    *,
    db: DbSession,
    flt: EntryFilter,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)] = 50,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    actor: Actor = require(Permission.AUDIT_READ),
) -> EntryPage | Response:
    """Entries, newest first, one page; `?format=csv` exports every match (oldest first)."""
    if format == "csv":
        return _csv_response(db, actor, flt)
    found = service.query_entries(db, flt, page=page, per_page=per_page)
    record(
        db,
        AuditAction.AUDIT_READ,
        by=actor,
        on=("audit_log", None),
        fields=service.used_filters(flt),
        reason="entries",
    )
    return EntryPage(
        items=[EntryOut.model_validate(row.as_dict()) for row in found.items],
        page=found.page,
        per_page=found.per_page,
        total=found.total,
    )


@router.get(
    "/export.csv",
    response_class=Response,
    responses={200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}},
)
def export_entries(
    *, db: DbSession, flt: EntryFilter, actor: Actor = require(Permission.AUDIT_READ)
) -> Response:
    """Every matching entry as CSV, oldest first; formula-like cells are neutralised."""
    return _csv_response(db, actor, flt)


@router.get("/verify", response_model=VerifyOut)
def verify_log(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.AUDIT_VERIFY),
) -> VerifyOut:
    """Recompute the tree and check every stored checkpoint: `{"ok", "entries", "first_bad"}`."""
    result = service.verify(db, keyring=request.app.state.keyring, settings=settings)
    record(
        db,
        AuditAction.AUDIT_VERIFIED,
        by=actor,
        on=("audit_log", None),
        outcome="ok" if result["ok"] else "failed",
        reason=None if result["ok"] else f"first_bad:{result['first_bad']}",
    )
    return VerifyOut.model_validate(result)


@router.get("/alerts", response_model=AlertsOut)
def list_alerts(
    db: DbSession,
    settings: AppSettings,
    since: Since_ = None,
    actor: Actor = require(Permission.AUDIT_READ),
) -> AlertsOut:
    """Break-glass uses, bursts of denied access and mass case reads (default: last 24 h)."""
    found = service.alerts(db, settings=settings, since=since)
    record(db, AuditAction.AUDIT_READ, by=actor, on=("audit_log", None), reason="alerts")
    return AlertsOut(
        alerts=[
            AlertOut(
                kind=a.kind,
                actor_id=a.actor_id,
                first_at=a.first_at,
                last_at=a.last_at,
                count=a.count,
                entry_ids=a.entry_ids,
            )
            for a in found
        ]
    )


@router.get("/checkpoints/latest", response_model=LatestCheckpointOut)
def latest(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.AUDIT_READ),
) -> LatestCheckpointOut:
    """The newest signed checkpoint (C2SP note; null before the first) and the verifier key,
    both to keep off the server: `haven audit verify --checkpoint FILE --key FILE`."""
    row = latest_checkpoint(db)
    key = verifier_key(request.app.state.keyring, settings.audit_origin)
    record(
        db,
        AuditAction.AUDIT_READ,
        by=actor,
        on=("audit_log", str(row.id) if row is not None else None),
        reason="checkpoint",
    )
    checkpoint = None
    if row is not None:
        checkpoint = CheckpointOut(
            tree_size=row.tree_size,
            root_hash=row.root_hash.hex(),
            created_at=row.created_at,
            note=row.note,
        )
    return LatestCheckpointOut(checkpoint=checkpoint, verifier_key=key.encode())


@router.get("/verifier-key", response_model=VerifierKeyOut)
def public_key(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.AUDIT_READ),
) -> VerifierKeyOut:
    """The note verifier key (`<name>+<hash>+<key>`) that checks this log's checkpoints."""
    key = verifier_key(request.app.state.keyring, settings.audit_origin)
    record(db, AuditAction.AUDIT_READ, by=actor, on=("audit_log", None), reason="verifier_key")
    return VerifierKeyOut(verifier_key=key.encode())
