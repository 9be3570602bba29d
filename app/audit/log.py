"""Append audit entries in the caller's transaction: a rolled-back change leaves no entry,
a committed one always has its position in the Merkle tree (see app/audit/tree.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.audit import tree as _tree  # noqa: F401 - the commit hook that sequences entries
from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.logs import request_id_var


def record(
    session: Session,
    *,
    action: AuditAction,
    actor_id: uuid.UUID | None = None,
    actor_role: str | None = None,
    object_type: str | None = None,
    object_id: str | uuid.UUID | None = None,
    fields: Sequence[str] = (),
    outcome: str = "ok",
    reason_code: str | None = None,
) -> AuditEntry:
    """Add one entry to the session (flushed, never committed here). Field names only."""
    entry = AuditEntry.of(
        actor_id=actor_id,
        actor_role=actor_role,
        action=action.value,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        fields=fields,
        outcome=outcome,
        request_id=request_id_var.get() if request_id_var.get() != "-" else None,
        reason_code=reason_code,
    )
    session.add(entry)
    session.flush()
    return entry
