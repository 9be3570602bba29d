"""Volunteer tasks as the API speaks them: strict input, and the volunteer's output shape.

The volunteer shape is exactly docs/api.md's eight fields. None of them is a case field:
the only free text (title, instructions, place, note) is checked by the leak guard before
it is saved, so no field of this shape can carry the person's identity."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from app.pagination import PageQuery
from app.validation import Strict, storable_time

TITLE_MAX = 200
INSTRUCTIONS_MAX = 4_000
PLACE_MAX = 200
NOTE_MAX = 500


class TaskStatus(enum.StrEnum):
    """Where a task is: open -> accepted -> done; the case team may cancel."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DONE = "done"
    CANCELLED = "cancelled"


# What a volunteer may do to their own task: accept it, then complete it.
VOLUNTEER_MOVES: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.ACCEPTED}),
    TaskStatus.ACCEPTED: frozenset({TaskStatus.DONE}),
    TaskStatus.DONE: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a timezone")
    return value


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Instructions = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=INSTRUCTIONS_MAX)
]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PLACE_MAX)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=NOTE_MAX)]
Due = Annotated[datetime, AfterValidator(_aware), AfterValidator(storable_time)]


class TaskCreate(Strict):
    """A new task for one volunteer of the case's team."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": "6f1c2b0e-3d4a-4c8e-9b1f-7a2d5e8c9f01",
                    "assigned_to": "b2e4c6d8-1a3f-4e5b-8c7d-9f0a1b2c3d4e",
                    "title": "Meet at the railway station",
                    "instructions": "Thursday 14:00 at the main entrance; bring a SIM card and ask "
                    "for 'Misha'.",
                    "place": "Astana, railway station",
                    "due": "2026-12-10T14:00:00Z",
                }
            ]
        }
    )

    case_id: uuid.UUID
    assigned_to: uuid.UUID
    title: Title
    instructions: Instructions
    place: Place | None = None
    due: Due | None = None


class TaskUpdate(Strict):
    """A partial update. Volunteers may send `status` (accepted, done) and `note`; the case
    team may change anything, including cancelling."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "done", "note": "Met as planned; SIM card handed over."}]
        }
    )

    status: TaskStatus | None = None
    note: Note | None = None
    title: Title | None = None
    instructions: Instructions | None = None
    place: Place | None = None
    due: Due | None = None
    assigned_to: uuid.UUID | None = None

    def changes(self) -> dict[str, object]:
        """Only the fields the caller sent."""
        return dict(self.model_dump(exclude_unset=True))


class TaskListQuery(PageQuery):
    """Plain filters for GET /tasks (nothing personal)."""

    status: TaskStatus | None = None
    case_id: uuid.UUID | None = None


class VolunteerTask(BaseModel):
    """What a volunteer sees of a task: docs/api.md's shape and nothing else."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    case_code: str
    title: str
    instructions: str
    place: str | None
    due: datetime | None
    status: TaskStatus
    note: str | None


class TaskOut(BaseModel):
    """A task as the case team sees it: the volunteer's shape, and whose task on which case."""

    id: uuid.UUID
    case_id: uuid.UUID
    case_code: str
    assigned_to: uuid.UUID
    title: str
    instructions: str
    place: str | None
    due: datetime | None
    status: TaskStatus
    note: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


# Text fields a volunteer reads: every one goes through the leak guard.
GUARDED_FIELDS: tuple[str, ...] = ("title", "instructions", "place", "note")
