"""Volunteer tasks as the API speaks them: strict input, and the volunteer's output shape.

The volunteer shape is exactly docs/api.md's eight fields. None of them is a case field:
the only free text (title, instructions, place, note) is checked by the leak guard before
it is saved, so no field of this shape can carry the person's identity."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.cases.schemas import Strict
from app.validation import storable_time

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

    case_id: uuid.UUID
    assigned_to: uuid.UUID
    title: Title
    instructions: Instructions
    place: Place | None = None
    due: Due | None = None


class TaskUpdate(Strict):
    """A partial update. Volunteers may send `status` (accepted, done) and `note`; the case
    team may change anything, including cancelling."""

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


class TaskListQuery(Strict):
    """Plain filters for GET /tasks (nothing personal)."""

    status: TaskStatus | None = None
    case_id: uuid.UUID | None = None
    page: int = Field(default=1, ge=1, le=10_000)


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


# Text fields a volunteer reads: every one goes through the leak guard.
GUARDED_FIELDS: tuple[str, ...] = ("title", "instructions", "place", "note")
