"""The auditor's API: entries (filtered, paged, CSV), verification, alerts, and the latest
signed checkpoint with the key that verifies it, so a lawyer can keep both off the server.

Every call here is itself audited (AUDIT_READ, AUDIT_EXPORTED, AUDIT_VERIFIED), recorded
after the read so the caller's own entry never counts as an unsequenced one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from app.audit import service
from app.audit.checkpoints import latest_checkpoint, verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.deps import AppSettings, DbSession
from app.errors import InvalidInput
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.validation import NoNul, StorableTime

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _filter(
    *,
    actor: uuid.UUID | None,
    case: str | None,
    action: AuditAction | None,
    since: datetime | None,
    until: datetime | None,
) -> service.AuditFilter:
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until", "must be after since")
    return service.AuditFilter(
        actor_id=actor, case_id=case, action=action, since=since, until=until
    )


def _used(flt: service.AuditFilter) -> list[str]:
    """The filter names the auditor used (names only, as every entry holds)."""
    names: dict[str, object] = {"actor": flt.actor_id, "case": flt.case_id}
    names |= {"action": flt.action, "since": flt.since, "until": flt.until}
    return [k for k, v in names.items() if v is not None]


def _audit(db: Session, actor: Actor, action: AuditAction, **extra: Any) -> None:
    record(
        db,
        action=action,
        actor_id=actor.id,
        actor_role=actor.role.value,
        object_type="audit_log",
        **extra,
    )


Actor_ = Annotated[uuid.UUID | None, Query(alias="actor", description="An actor's user id.")]
Case_ = Annotated[
    Annotated[str, NoNul] | None, Query(alias="case", max_length=64, description="A case id.")
]
Action_ = Annotated[AuditAction | None, Query(description="One action, e.g. case.read.")]
Since_ = Annotated[
    StorableTime | None, Query(description="From this time (inclusive, ISO 8601, with a zone).")
]
Until_ = Annotated[StorableTime | None, Query(description="Until this time (exclusive).")]


def _csv_response(db: Session, actor: Actor, flt: service.AuditFilter) -> Response:
    # Built in memory: a streamed body would outlive the request's session (and, on SQLite,
    # hold the write lock while the client reads). Filter by time for very large exports.
    body = "".join(service.export_csv(db, flt))
    _audit(db, actor, AuditAction.AUDIT_EXPORTED, fields=_used(flt), reason_code="csv")
    return Response(
        body,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="haven-audit.csv"'},
    )


@router.get("", response_model=None)
def list_entries(
    *,
    db: DbSession,
    actor_id: Actor_ = None,
    case: Case_ = None,
    action: Action_ = None,
    since: Since_ = None,
    until: Until_ = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE)] = 50,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    actor: Actor = require(Permission.AUDIT_READ),
) -> dict[str, Any] | Response:
    """Entries, newest first, one page; `?format=csv` exports every match (oldest first)."""
    flt = _filter(actor=actor_id, case=case, action=action, since=since, until=until)
    if format == "csv":
        return _csv_response(db, actor, flt)
    found = service.query_entries(db, flt, page=page, per_page=per_page)
    _audit(db, actor, AuditAction.AUDIT_READ, fields=_used(flt), reason_code="entries")
    return {
        "items": [row.as_dict() for row in found.items],
        "page": found.page,
        "per_page": found.per_page,
        "total": found.total,
    }


@router.get("/export.csv", response_class=Response)
def export_entries(
    *,
    db: DbSession,
    actor_id: Actor_ = None,
    case: Case_ = None,
    action: Action_ = None,
    since: Since_ = None,
    until: Until_ = None,
    actor: Actor = require(Permission.AUDIT_READ),
) -> Response:
    """Every matching entry as CSV, oldest first; formula-like cells are neutralised."""
    flt = _filter(actor=actor_id, case=case, action=action, since=since, until=until)
    return _csv_response(db, actor, flt)


@router.get("/verify")
def verify_log(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.AUDIT_VERIFY),
) -> dict[str, Any]:
    """Recompute the tree and check every stored checkpoint: `{"ok", "entries", "first_bad"}`."""
    result = service.verify(db, keyring=request.app.state.keyring, settings=settings)
    _audit(
        db,
        actor,
        AuditAction.AUDIT_VERIFIED,
        outcome="ok" if result["ok"] else "failed",
        reason_code=None if result["ok"] else f"first_bad:{result['first_bad']}",
    )
    return result


@router.get("/alerts")
def list_alerts(
    db: DbSession,
    settings: AppSettings,
    since: Since_ = None,
    actor: Actor = require(Permission.AUDIT_READ),
) -> dict[str, Any]:
    """Break-glass uses, bursts of denied access and mass case reads (default: last 24 h)."""
    found = service.alerts(db, settings=settings, since=since)
    _audit(db, actor, AuditAction.AUDIT_READ, reason_code="alerts")
    return {
        "alerts": [
            {
                "kind": a.kind,
                "actor_id": str(a.actor_id) if a.actor_id else None,
                "first_at": a.first_at.isoformat(),
                "last_at": a.last_at.isoformat(),
                "count": a.count,
                "entry_ids": a.entry_ids,
            }
            for a in found
        ]
    }


@router.get("/checkpoints/latest")
def latest(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.AUDIT_READ),
) -> dict[str, Any]:
    """The newest signed checkpoint (C2SP note; null before the first) and the verifier key,
    both to keep off the server: `haven audit verify --checkpoint FILE --key FILE`."""
    row = latest_checkpoint(db)
    key = verifier_key(request.app.state.keyring, settings.audit_origin)
    _audit(
        db,
        actor,
        AuditAction.AUDIT_READ,
        reason_code="checkpoint",
        object_id=str(row.id) if row is not None else None,
    )
    checkpoint = None
    if row is not None:
        checkpoint = {
            "tree_size": row.tree_size,
            "root_hash": row.root_hash.hex(),
            "created_at": row.created_at.isoformat(),
            "note": row.note,
        }
    return {"checkpoint": checkpoint, "verifier_key": key.encode()}


@router.get("/verifier-key")
def public_key(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    actor: Actor = require(Permission.AUDIT_READ),
) -> dict[str, str]:
    """The note verifier key (`<name>+<hash>+<key>`) that checks this log's checkpoints."""
    key = verifier_key(request.app.state.keyring, settings.audit_origin)
    _audit(db, actor, AuditAction.AUDIT_READ, reason_code="verifier_key")
    return {"verifier_key": key.encode()}
