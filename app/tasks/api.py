"""Task routes: thin translations of HTTP to the task service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.errors import NotFound
from app.policy.deps import Actor, deny, require
from app.policy.permissions import Permission, Role
from app.policy.scope import TaskAccess, readable_cases, readable_task
from app.tasks import service
from app.tasks.schemas import TaskCreate, TaskListQuery, TaskUpdate, VolunteerTask

router = APIRouter(prefix="/api/v1", tags=["tasks"])


def _shape(actor: Actor, item: dict[str, Any]) -> dict[str, Any]:
    """A volunteer's row goes through the volunteer model too, which refuses any extra key."""
    if actor.role is Role.VOLUNTEER:
        return VolunteerTask.model_validate(item).model_dump(mode="json")
    return item


def _case_in_scope(db: Session, request: Request, actor: Actor, case_id: uuid.UUID) -> Case:
    stmt = readable_cases(actor, Permission.TASK_CREATE, now=_now(request)).where(
        Case.id == case_id
    )
    case = db.scalars(stmt).first()
    if case is None:
        deny(db, actor, reason="out_of_scope", object_type="case", object_id=case_id)
        raise NotFound()
    return case


@router.get("/tasks")
def list_tasks(
    q: Annotated[TaskListQuery, Query()],
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.TASK_READ),
) -> list[dict[str, Any]]:
    """A volunteer's own tasks (case code, text, coarse place, due, status, note: nothing
    else); for the case team, the tasks of cases in scope."""
    items = service.list_tasks(
        db,
        keyring=_keyring(request),
        actor=actor,
        status=q.status.value if q.status else None,
        case_id=q.case_id,
        page=q.page,
        now=_now(request),
    )
    return [_shape(actor, i) for i in items]


@router.post("/tasks", status_code=201)
def create_task(
    body: TaskCreate,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.TASK_CREATE),
) -> dict[str, Any]:
    """A task for a volunteer of the case's team; 422 when its text identifies the person."""
    case = _case_in_scope(db, request, actor, body.case_id)
    task = service.create_task(
        db, keyring=_keyring(request), actor=actor, case=case, data=body, now=_now(request)
    )
    return service.view(db, keyring=_keyring(request), actor=actor, task=task)


@router.patch("/tasks/{task_id}")
def update_task(
    body: TaskUpdate,
    request: Request,
    db: DbSession,
    access: TaskAccess = readable_task(Permission.TASK_UPDATE),
) -> dict[str, Any]:
    """Volunteer assignee: accept, done, note. Case team: any status, edit the text."""
    service.update_task(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        task=access.task,
        changes=body.changes(),
        now=_now(request),
    )
    item = service.view(db, keyring=_keyring(request), actor=access.actor, task=access.task)
    return _shape(access.actor, item)
