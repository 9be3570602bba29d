"""Tasks as pages: a case's tasks and the form that gives one to a volunteer (the case team),
and the volunteer's own pages, made for a phone: the list, one task (case code, title,
instructions, coarse place, due), accept, done and a note.

Same services as the API (app/tasks/service.py): the leak guard, who may move a task where,
and each role's view (a volunteer's is the eight fields of `VolunteerTask`, nothing else of
the case) are decided there, never here.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.cases.page_header import case_header
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.errors import HavenError, InvalidInput
from app.forms import DATETIME, read_form, validate
from app.i18n import LazyText, lazy
from app.pagination import PageQuery
from app.policy.access import CaseAccess, TaskAccess
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.tasks import service
from app.tasks.dependencies import CaseTaskCreate, CaseTasks, TaskRead, TaskWrite
from app.tasks.errors import IdentifyingText
from app.tasks.schemas import VOLUNTEER_MOVES, TaskCreate, TaskStatus, TaskUpdate
from app.users.directory import names as names_of
from app.users.directory import team_volunteers
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

MY_TASKS_PER_PAGE = 20
# What the case team may still call off (the service allows them any move).
CANCELLABLE = frozenset({TaskStatus.OPEN, TaskStatus.ACCEPTED})
CASE_TASKS_PER_PAGE = 50
TASK_FIELDS = ("assigned_to", "title", "instructions", "place", "due")
_NAIVE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$")

STATUSES: dict[str, LazyText] = {
    TaskStatus.OPEN: lazy("New"),
    TaskStatus.ACCEPTED: lazy("Accepted"),
    TaskStatus.DONE: lazy("Done"),
    TaskStatus.CANCELLED: lazy("Cancelled"),
}
# What the leak guard found, as the refusal names it (never the data itself).
FINDINGS: dict[str, LazyText] = {
    "name": lazy("the person's name"),
    "alias": lazy("another name of the person"),
    "phone": lazy("a phone number"),
    "handle": lazy("a messenger name or e-mail address"),
    "birth_date": lazy("the person's date of birth"),
}
CHOOSE_VOLUNTEER = lazy("Choose a volunteer from the list.")
NO_CHANGE = lazy("This change could not be made.")
MOVE_REFUSED = lazy("The task cannot move to that status from where it is now.")


class _Joined:
    """Several translated phrases as one list, joined when the page shows them."""

    def __init__(self, parts: list[LazyText]) -> None:
        self.parts = parts

    def __str__(self) -> str:
        return ", ".join(str(p) for p in self.parts)


def leak_errors(exc: IdentifyingText) -> dict[str, LazyText]:
    """One message per field the leak guard refused, naming the kinds of data found."""
    out: dict[str, LazyText] = {}
    for item in exc.extra["errors"]:
        what = _Joined([FINDINGS[k] for k in item["kinds"] if k in FINDINGS])
        if item["field"] == "note":  # the volunteer's own note: checked for contacts only
            message = lazy(
                "A note may not hold contact details, and this one has: %(what)s.", what=what
            )
        else:
            message = lazy(
                "A volunteer will read this, and it contains: %(what)s. Leave that out.",
                what=what,
            )
        out[str(item["field"])] = message
    return out


def _texts_checked(
    request: Request, db: Session, access: CaseAccess, values: dict[str, str]
) -> dict[str, LazyText]:
    """What the leak guard says of the texts as typed, so a form refused for another reason
    names an identifying text too (the service checks again when the task is saved)."""
    markers = service.person_markers(db, keyring=_keyring(request), case=access.case)
    try:
        service.check_texts(markers, {k: v.strip() for k, v in values.items()})
    except IdentifyingText as exc:
        return leak_errors(exc)
    return {}


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    """A task as a template shows it: dates as dates, the status in words."""
    return item | {
        "due": _when(item.get("due")),
        "status_label": STATUSES.get(str(item["status"]), str(item["status"])),
    }


# --- the case team ----------------------------------------------------------------------


def _case_page(
    request: Request,
    db: Session,
    access: CaseAccess,
    *,
    page: int = 1,
    values: dict[str, str] | None = None,
    errors: dict[str, LazyText] | None = None,
    status: int = 200,
) -> Response:
    listed = service.list_tasks(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        status=None,
        case_id=access.case.id,
        paging=PageQuery(page=page, per_page=CASE_TASKS_PER_PAGE),
        now=_now(request),
    )
    items = [_shown(i) for i in listed.items]
    given = [uuid.UUID(str(i["assigned_to"])) for i in items if i.get("assigned_to")]
    names = {str(k): v for k, v in names_of(db, actor=access.actor, ids=given).items()}
    context = case_header(db, access, now=_now(request)) | {
        "tab": "tasks",
        "tasks": [
            i
            | {
                "assignee": names.get(str(i.get("assigned_to")), ""),
                "cancellable": i["status"] in CANCELLABLE,
            }
            for i in items
        ],
        "paging": listed,
        "volunteers": team_volunteers(db, actor=access.actor, team_id=access.case.team_id),
        "values": values or {},
        "errors": errors or {},
    }
    return render(request, "tasks/case_tasks.html", context, status)


@router.get("/cases/{case_id}/tasks")
def case_tasks(
    request: Request,
    db: DbSession,
    access: CaseTasks,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    """The case's tasks, and the form that gives a new one to a volunteer."""
    return _case_page(request, db, access, page=page)


def _task_payload(values: dict[str, str], case_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"case_id": case_id}
    for name in ("assigned_to", "title", "instructions", "place"):
        if values.get(name, "").strip():
            payload[name] = values[name]
    for name in ("assigned_to", "title", "instructions"):
        payload.setdefault(name, "")
    due = values.get("due", "").strip()
    if due:  # a time typed on the page is UTC, as the page says
        payload["due"] = due.replace(" ", "T") + ":00+00:00" if _NAIVE_TIME.match(due) else due
    return payload


@router.post("/cases/{case_id}/tasks")
async def create_task(request: Request, db: DbSession, access: CaseTaskCreate) -> Response:
    """A task for a volunteer of the case's team; the leak guard reads its text first."""
    values = await read_form(request, TASK_FIELDS)
    messages = {
        "assigned_to": dict.fromkeys(("uuid_parsing", "uuid_type", "missing"), CHOOSE_VOLUNTEER),
        "due": {"value_error": DATETIME},
    }
    parsed, errors = validate(
        TaskCreate, _task_payload(values, str(access.case.id)), messages=messages
    )
    if parsed is not None:
        try:
            with db.begin_nested():  # a refusal leaves nothing written
                service.create_task(
                    db,
                    keyring=_keyring(request),
                    actor=access.actor,
                    case=access.case,
                    data=parsed,
                    now=_now(request),
                )
        except IdentifyingText as exc:
            errors = leak_errors(exc)
        except InvalidInput:  # the volunteer is not (or no longer) on the team
            errors = {"assigned_to": CHOOSE_VOLUNTEER}
    if errors:
        if parsed is None:
            errors = _texts_checked(request, db, access, values) | errors
        return _case_page(request, db, access, values=values, errors=errors, status=422)
    return see_other(f"/cases/{access.case.id}/tasks", done="task_created")


# --- the volunteer's pages --------------------------------------------------------------


@router.get("/tasks")
def my_tasks(
    request: Request,
    db: DbSession,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    actor: Actor = require(Permission.TASK_READ),
) -> Response:
    """A volunteer's own tasks (for the case team: the tasks of their cases), soonest due
    first, a page at a time."""
    listed = service.list_tasks(
        db,
        keyring=_keyring(request),
        actor=actor,
        status=None,
        case_id=None,
        paging=PageQuery(page=page, per_page=MY_TASKS_PER_PAGE),
        now=_now(request),
        count_cap=request.app.state.settings.list_count_cap,
    )
    context = {
        "tasks": [_shown(i) for i in listed.items],
        "paging": listed,
        "manages": actor.can(Permission.TASK_MANAGE),
    }
    return render(request, "tasks/mine.html", context)


def _task_page(
    request: Request,
    db: Session,
    access: TaskAccess,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, LazyText] | None = None,
    status: int = 200,
) -> Response:
    item = service.read_task(db, keyring=_keyring(request), actor=access.actor, task=access.task)
    task = _shown(item)
    current = TaskStatus(task["status"])
    moves = VOLUNTEER_MOVES[current]
    # The case team manages a task (cancels it); the volunteer does it (accepts, completes).
    manages = access.actor.can(Permission.TASK_MANAGE)
    context = {
        "task": task,
        "manages": manages,
        "can_accept": not manages and TaskStatus.ACCEPTED in moves,
        "can_finish": not manages and TaskStatus.DONE in moves,
        "can_cancel": manages and current in CANCELLABLE,
        "open_for_notes": not manages and current is not TaskStatus.CANCELLED,
        "values": values or {"note": task.get("note") or ""},
        "errors": errors or {},
    }
    return render(request, "tasks/task.html", context, status)


@router.get("/tasks/{task_id}")
def task_page(request: Request, db: DbSession, access: TaskRead) -> Response:
    """One task: the case code, title, instructions, coarse place and due time; accept,
    done and a note."""
    return _task_page(request, db, access)


def _update(
    request: Request, db: Session, access: TaskAccess, changes: dict[str, Any]
) -> dict[str, LazyText]:
    """Apply changes through the service; the refusal as messages by field (nothing kept)."""
    try:
        with db.begin_nested():
            service.update_task(
                db,
                keyring=_keyring(request),
                actor=access.actor,
                task=access.task,
                changes=changes,
                now=_now(request),
            )
    except IdentifyingText as exc:
        return leak_errors(exc)
    except HavenError as exc:
        return {"status": MOVE_REFUSED if exc.code == "task_status_not_allowed" else NO_CHANGE}
    return {}


async def _move(
    request: Request, db: Session, access: TaskAccess, target: TaskStatus, done: str
) -> Response:
    errors = _update(request, db, access, {"status": target.value})
    if errors:
        return _task_page(request, db, access, errors=errors, status=409)
    return see_other(f"/tasks/{access.task.id}", done=done)


@router.post("/tasks/{task_id}/accept")
async def accept_task(request: Request, db: DbSession, access: TaskWrite) -> Response:
    """The volunteer takes the task on."""
    return await _move(request, db, access, TaskStatus.ACCEPTED, "task_accepted")


@router.post("/tasks/{task_id}/done")
async def finish_task(request: Request, db: DbSession, access: TaskWrite) -> Response:
    """The volunteer marks the task done, with the note typed above the button (the form
    sends it along): both in one change, or neither and the form back as typed."""
    values = await read_form(request, ("note",))
    if "note" not in values:
        return await _move(request, db, access, TaskStatus.DONE, "task_done")
    fields = {"status": TaskStatus.DONE.value, "note": values["note"]}
    parsed, errors = validate(TaskUpdate, fields)
    if parsed is not None:
        errors = _update(request, db, access, parsed.changes())
    if errors:
        status = 409 if "status" in errors else 422
        return _task_page(request, db, access, values=values, errors=errors, status=status)
    return see_other(f"/tasks/{access.task.id}", done="task_done")


@router.post("/tasks/{task_id}/cancel")
async def cancel_task(request: Request, db: DbSession, access: TaskWrite) -> Response:
    """The case team calls a task off (a volunteer may not: the service refuses)."""
    errors = _update(request, db, access, {"status": TaskStatus.CANCELLED.value})
    if errors:
        return _task_page(request, db, access, errors=errors, status=409)
    return see_other(f"/cases/{access.task.case_id}/tasks", done="task_cancelled")


@router.post("/tasks/{task_id}/note")
async def note_task(request: Request, db: DbSession, access: TaskWrite) -> Response:
    """The volunteer's short note (checked for contact details by the service)."""
    values = await read_form(request, ("note",))
    parsed, errors = validate(TaskUpdate, {"note": values.get("note", "")})
    if parsed is not None:
        errors = _update(request, db, access, parsed.changes())
    if errors:
        return _task_page(request, db, access, values=values, errors=errors, status=422)
    return see_other(f"/tasks/{access.task.id}", done="task_note")
