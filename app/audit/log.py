"""Append audit entries in the caller's transaction: a rolled-back change leaves no entry,
a committed one commits with its pending row and the sequencer gives it its position in
the Merkle tree (see app/audit/tree.py).

`record` is the one way an event is written, from every package:

    record(db, AuditAction.CASE_READ, by=actor, on=("case", case.id), fields=shown)

`by` is anything with an `id` and a `role` (the policy's Actor, a User, or None for the
service itself), so this package needs no domain package to name who acted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.orm import Session

from app.audit import tree as _tree  # noqa: F401 - the insert hook that marks entries pending
from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.logs import request_id_var


class AuditActor(Protocol):
    """Who acted, as an entry records it: an account id and its role."""

    @property
    def id(self) -> uuid.UUID:
        """The account's id."""

    @property
    def role(self) -> str:
        """The account's role (a Role, or its string value)."""


# The object an entry is about: its kind ("case", "user", "task"...) and id (None for a kind).
Target = tuple[str, str | uuid.UUID | None]


def record(
    session: Session,
    action: AuditAction,
    *,
    by: AuditActor | None = None,
    on: Target | None = None,
    fields: Iterable[str] = (),
    outcome: str = "ok",
    reason: str | None = None,
) -> AuditEntry:
    """Add one entry to the session (flushed, never committed here). Field names only, never
    values; `reason` is a short code, never free text."""
    (entry,) = record_each(
        session, action, by=by, on=[on], fields=fields, outcome=outcome, reason=reason
    )
    return entry


def record_each(
    session: Session,
    action: AuditAction,
    *,
    by: AuditActor | None = None,
    on: Iterable[Target | None],
    fields: Iterable[str] = (),
    outcome: str = "ok",
    reason: str | None = None,
) -> list[AuditEntry]:
    """One entry per object in `on`, the same act on each (a list that shows fifty cases'
    tasks reads fifty cases), inserted in one flush."""
    names = list(fields)
    request_id = request_id_var.get() if request_id_var.get() != "-" else None
    entries = []
    for target in on:
        object_type, object_id = target if target is not None else (None, None)
        entries.append(
            AuditEntry.of(
                actor_id=by.id if by is not None else None,
                actor_role=str(by.role) if by is not None else None,
                action=action.value,
                object_type=object_type,
                object_id=str(object_id) if object_id is not None else None,
                fields=names,
                outcome=outcome,
                request_id=request_id,
                reason_code=reason,
            )
        )
    session.add_all(entries)
    session.flush()
    return entries
