"""The rules of volunteer tasks: the leak guard on every text a volunteer reads, who may
change what, and the views each role gets. Services flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.log import record, record_each
from app.cases import record as rec
from app.cases.models import Case
from app.crypto.envelope import OpenDataKey, decrypt_text, encrypt_text
from app.crypto.keyring import Keyring
from app.crypto.models import DataKey
from app.db import moved_from
from app.errors import Forbidden, InvalidInput
from app.pagination import DEFAULT_COUNT_CAP, Page, PageQuery, page_of, page_rows_bounded
from app.policy.deps import Actor, denied
from app.policy.permissions import Permission, Role, redact_task
from app.policy.scope import readable_tasks
from app.tasks.errors import IdentifyingText, TaskMoveNotAllowed
from app.tasks.leak_guard import Finding, PersonMarkers, find_leaks
from app.tasks.models import Task
from app.tasks.schemas import GUARDED_FIELDS, VOLUNTEER_MOVES, TaskCreate, TaskStatus
from app.users.models import TeamMembership, User

# What a volunteer may send in a PATCH of their own task.
VOLUNTEER_FIELDS = frozenset({"status", "note"})


def _column(name: str) -> str:
    return f"task_{name}"


def person_markers(db: Session, *, keyring: Keyring, case: Case) -> PersonMarkers:
    """What identifies the case's person, decrypted for the leak check only."""
    dek = rec.case_key(db, keyring=keyring, case=case)
    f = rec.read(case, dek, ["legal_name", "aliases", "contacts", "date_of_birth"])
    return PersonMarkers(
        legal_name=f["legal_name"],
        aliases=tuple(f["aliases"] or ()),
        handles=tuple(c["value"] for c in f["contacts"] or ()),
        date_of_birth=date.fromisoformat(f["date_of_birth"]) if f["date_of_birth"] else None,
    )


def check_texts(markers: PersonMarkers, texts: Mapping[str, object]) -> None:
    """Raise IdentifyingText (422) naming every guarded field that identifies the person."""
    found: dict[str, list[Finding]] = {}
    for name in GUARDED_FIELDS:
        value = texts.get(name)
        if isinstance(value, str) and value:
            kinds = find_leaks(value, markers)
            if kinds:
                found[name] = kinds
    if found:
        raise IdentifyingText(found)


def _check_volunteer(db: Session, *, user_id: uuid.UUID, case: Case) -> None:
    user = db.get(User, user_id)
    member = db.scalar(
        select(TeamMembership.user_id).where(
            TeamMembership.user_id == user_id, TeamMembership.team_id == case.team_id
        )
    )
    if user is None or member is None or user.role != Role.VOLUNTEER.value or user.disabled_at:
        raise InvalidInput("assigned_to", "must be an active volunteer of the case's team")


def _set_text(task: Task, dek: OpenDataKey, name: str, value: str | None) -> None:
    ct = (
        None
        if value is None
        else encrypt_text(dek, field=_column(name), value=value, row_id=task.id)
    )
    setattr(task, name, ct)


def create_task(
    db: Session, *, keyring: Keyring, actor: Actor, case: Case, data: TaskCreate, now: datetime
) -> Task:
    """A new task for a volunteer of the case's team, its text checked and encrypted."""
    _check_volunteer(db, user_id=data.assigned_to, case=case)
    check_texts(person_markers(db, keyring=keyring, case=case), data.model_dump())
    dek = rec.case_key(db, keyring=keyring, case=case)
    task = Task(
        id=uuid.uuid4(),
        case_id=case.id,
        assigned_to=data.assigned_to,
        status=TaskStatus.OPEN.value,
        due=data.due,
        created_by=actor.id,
        created_at=now,
        updated_at=now,
    )
    for name in ("title", "instructions", "place"):
        _set_text(task, dek, name, getattr(data, name))
    db.add(task)
    db.flush()
    sent = ["case_id", "assigned_to", "title", "instructions"]
    sent += [n for n in ("place", "due") if getattr(data, n) is not None]
    record(db, AuditAction.TASK_CREATED, by=actor, on=("task", task.id), fields=sent)
    return task


def _read_text(task: Task, dek: OpenDataKey, name: str) -> str | None:
    ct = getattr(task, name)
    return (
        None
        if ct is None
        else decrypt_text(dek, field=_column(name), ciphertext=ct, row_id=task.id)
    )


def full_view(task: Task, case: Case, dek: OpenDataKey) -> dict[str, Any]:
    """Every field of a task, decrypted (callers redact by role)."""
    return {
        "id": str(task.id),
        "case_id": str(task.case_id),
        "case_code": case.case_code,
        "assigned_to": str(task.assigned_to),
        "title": _read_text(task, dek, "title"),
        "instructions": _read_text(task, dek, "instructions"),
        "place": _read_text(task, dek, "place"),
        "due": task.due.isoformat() if task.due else None,
        "status": task.status,
        "note": _read_text(task, dek, "note"),
        "created_by": str(task.created_by) if task.created_by else None,
        "created_at": task.created_at.isoformat(),
        "updated_at": task.updated_at.isoformat(),
    }


def view(db: Session, *, keyring: Keyring, actor: Actor, task: Task) -> dict[str, Any]:
    """The task as this actor may see it."""
    case = db.get_one(Case, task.case_id)
    dek = rec.case_key(db, keyring=keyring, case=case)
    return redact_task(actor.role, full_view(task, case, dek))


def list_tasks(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    status: str | None,
    case_id: uuid.UUID | None,
    paging: PageQuery,
    now: datetime,
    count_cap: int = DEFAULT_COUNT_CAP,
) -> Page[dict[str, Any]]:
    """Tasks in the actor's scope (a volunteer: their own), soonest due first, redacted;
    counted up to count_cap (app/pagination.py)."""
    stmt = readable_tasks(actor, Permission.TASK_READ, now=now)
    if status:
        stmt = stmt.where(Task.status == status)
    if case_id:
        stmt = stmt.where(Task.case_id == case_id)
    stmt = stmt.order_by(Task.due.is_(None), Task.due, Task.created_at, Task.id)
    tasks, total, capped = page_rows_bounded(db, stmt, paging, cap=count_cap)
    cases = {
        c.id: c for c in db.scalars(select(Case).where(Case.id.in_({t.case_id for t in tasks})))
    }
    # Every case's data key in one statement: opening each below finds it in the session
    # (held here, as the session keeps loaded rows only while something refers to them).
    loaded = db.scalars(select(DataKey).where(DataKey.id.in_({c.dek_id for c in cases.values()})))
    held = list(loaded)
    keys: dict[uuid.UUID, OpenDataKey] = {}
    out = []
    for task in tasks:
        case = cases[task.case_id]
        if case.id not in keys:
            keys[case.id] = rec.case_key(db, keyring=keyring, case=case)
        out.append(redact_task(actor.role, full_view(task, case, keys[case.id])))
    del held
    # Task texts are case content (meeting points, times): one entry per case read, filed
    # under the case, so the mass-read alert sees an account harvesting tasks too.
    record_each(
        db,
        AuditAction.TASK_LISTED,
        by=actor,
        on=[("case", read_id) for read_id in sorted(keys, key=str)],
        fields=sorted({f for item in out for f in item}),
    )
    return page_of(out, paging, total, capped=capped)


def _check_move(actor: Actor, task: Task, target: TaskStatus) -> None:
    current = TaskStatus(task.status)
    if target is current:
        return
    if actor.can(Permission.TASK_MANAGE):
        return
    if target not in VOLUNTEER_MOVES[current]:
        allowed = sorted(s.value for s in VOLUNTEER_MOVES[current])
        raise TaskMoveNotAllowed(current=current.value, allowed=allowed)


def _apply(task: Task, dek: OpenDataKey, changes: Mapping[str, Any]) -> None:
    """The checked changes onto the task (the status already moved by `_claim_status`)."""
    for name, value in changes.items():
        if name in GUARDED_FIELDS:
            _set_text(task, dek, name, value or None)
        elif name != "status":  # due, assigned_to
            setattr(task, name, value)


def _claim_status(db: Session, actor: Actor, task: Task, target: TaskStatus) -> None:
    """Move the task in the database only from the status read: of two moves at once (a
    volunteer's accept at the instant the team calls the task off), the second is refused
    with the status as stored, before anything else of the change is applied."""
    if target.value == task.status:
        return
    if not moved_from(db, task, task.status, status=target.value):
        stored = TaskStatus(task.status)
        team = actor.can(Permission.TASK_MANAGE)
        moves = set(TaskStatus) if team else VOLUNTEER_MOVES[stored]
        raise TaskMoveNotAllowed(
            current=stored.value, allowed=sorted(s.value for s in moves if s is not stored)
        )


def _check_inherited_note(
    task: Task, dek: OpenDataKey, markers: PersonMarkers, changes: Mapping[str, Any]
) -> None:
    """A note was checked only for contact details when its volunteer wrote it; given to
    another volunteer, the task's note is checked against the person in full (by the case
    team, who know the person: no oracle). An identifying note refuses the change, naming
    the note: send `note` (rewritten, or null) with it. Nothing is dropped."""
    new_volunteer = changes.get("assigned_to") not in (None, task.assigned_to)
    if new_volunteer and "note" not in changes and task.note is not None:
        check_texts(markers, {"note": _read_text(task, dek, "note")})


def update_task(
    db: Session,
    *,
    keyring: Keyring,
    actor: Actor,
    task: Task,
    changes: dict[str, Any],
    now: datetime,
) -> Task:
    """Apply a partial update: volunteers accept, complete and note; the case team edits."""
    if not changes:
        raise InvalidInput("body", "no field to change")
    if not actor.can(Permission.TASK_MANAGE):
        extra = sorted(set(changes) - VOLUNTEER_FIELDS)
        if extra:
            raise denied(
                db, actor, reason=f"volunteer_field:{extra[0]}", on=("task", task.id),
                error=Forbidden(f"{extra[0]}: only the case team may change this field"),
            )  # fmt: skip
        if task.status == TaskStatus.CANCELLED.value:
            raise TaskMoveNotAllowed(current=task.status, allowed=[])
    case = db.get_one(Case, task.case_id)
    if changes.get("status") is not None:
        _check_move(actor, task, TaskStatus(changes["status"]))
    for name in ("status", "title", "instructions", "assigned_to"):
        if name in changes and changes[name] is None:
            raise InvalidInput(name, "may not be empty")
    if changes.get("assigned_to") is not None:
        _check_volunteer(db, user_id=changes["assigned_to"], case=case)
    # A volunteer's own note is checked only for contact details (phone, handle, e-mail),
    # never against the person's identity: the volunteer knows what they wrote, and a
    # person-specific refusal would answer "yes" to a guessed name or birth date (an oracle).
    markers = (
        person_markers(db, keyring=keyring, case=case)
        if actor.can(Permission.TASK_MANAGE)
        else PersonMarkers()
    )
    check_texts(markers, changes)
    dek = rec.case_key(db, keyring=keyring, case=case)
    _check_inherited_note(task, dek, markers, changes)
    if changes.get("status") is not None:
        _claim_status(db, actor, task, TaskStatus(changes["status"]))
    _apply(task, dek, changes)
    task.updated_at = now
    db.flush()
    record(db, AuditAction.TASK_UPDATED, by=actor, on=("task", task.id), fields=changes)
    return task


def read_task(db: Session, *, keyring: Keyring, actor: Actor, task: Task) -> dict[str, Any]:
    """One task as this actor may see it, its reading audited like a list's (filed under the
    case, so the mass-read alert counts it)."""
    item = view(db, keyring=keyring, actor=actor, task=task)
    record(db, AuditAction.TASK_LISTED, by=actor, on=("case", task.case_id), fields=sorted(item))
    return item
