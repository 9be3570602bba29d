"""Task errors, as values with a code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.errors import Conflict, HavenError
from app.tasks.leak_guard import Finding


class IdentifyingText(HavenError):
    """422: text a volunteer would read identifies the person. Names the field and the kind
    of data found, never the data."""

    status, code = 422, "identifying_data"

    def __init__(self, found: Mapping[str, Sequence[Finding]]) -> None:
        errors = [
            {
                "field": field,
                "message": "contains " + ", ".join(k.value for k in kinds),
                "kinds": [k.name.lower() for k in kinds],
            }
            for field, kinds in found.items()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(
            f"A volunteer will read this text and it identifies the person ({detail}).",
            errors=errors,
        )


class TaskMoveNotAllowed(Conflict):
    """409: the task cannot go to that status from where it is (or not for this role)."""

    code = "task_status_not_allowed"
    message = "The task cannot move to that status."
