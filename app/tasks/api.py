"""Task routes: thin translations of HTTP to the task service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.pagination import Page
from app.policy.deps import Actor, require
from app.policy.permissions import Permission, Role
from app.tasks import service
from app.tasks.dependencies import TaskCase, TaskWrite
from app.tasks.schemas import TaskCreate, TaskListQuery, TaskOut, TaskUpdate, VolunteerTask

router = APIRouter(prefix="/api/v1", tags=["tasks"])


def _shape(actor: Actor, item: dict[str, Any]) -> TaskOut | VolunteerTask:
    """A volunteer's row goes through the volunteer model, which refuses any extra key."""
    if actor.role is Role.VOLUNTEER:
        return VolunteerTask.model_validate(item)
    return TaskOut.model_validate(item)


@router.get("/tasks", response_model=Page[TaskOut | VolunteerTask])
def list_tasks(
    q: Annotated[TaskListQuery, Query()],
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.TASK_READ),
) -> Page[TaskOut | VolunteerTask]:
    """A volunteer's own tasks (case code, text, coarse place, due, status, note: nothing
    else); for the case team, the tasks of cases in scope."""
    items = service.list_tasks(
        db,
        keyring=_keyring(request),
        actor=actor,
        status=q.status.value if q.status else None,
        case_id=q.case_id,
        paging=q,
        now=_now(request),
        count_cap=request.app.state.settings.list_count_cap,
    )
    shaped = [_shape(actor, i) for i in items.items]
    return Page(
        items=shaped,
        page=items.page,
        per_page=items.per_page,
        total=items.total,
        total_capped=items.total_capped,
    )


@router.post("/tasks", status_code=201, response_model=TaskOut)
def create_task(body: TaskCreate, request: Request, db: DbSession, target: TaskCase) -> TaskOut:
    """A task for a volunteer of the case's team; 422 when its text identifies the person."""
    task = service.create_task(
        db,
        keyring=_keyring(request),
        actor=target.actor,
        case=target.case,
        data=body,
        now=_now(request),
    )
    item = service.view(db, keyring=_keyring(request), actor=target.actor, task=task)
    return TaskOut.model_validate(item)


@router.patch("/tasks/{task_id:uuid}", response_model=TaskOut | VolunteerTask)
def update_task(
    body: TaskUpdate, request: Request, db: DbSession, access: TaskWrite
) -> TaskOut | VolunteerTask:
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
