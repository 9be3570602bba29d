"""What task routes reach: the case a new task is for (named in the request body) or one
task, each found within the caller's scope (app/policy/access.py) or answered 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.policy.access import TASK, CaseAccess, Scoped, TaskAccess, case_in_body
from app.policy.permissions import Permission
from app.tasks.schemas import TaskCreate

# POST /tasks names its case in the body: scoped by the same construct as a path id.
TaskCase = Annotated[CaseAccess, Depends(Scoped(case_in_body(TaskCreate), Permission.TASK_CREATE))]
TaskWrite = Annotated[TaskAccess, Depends(Scoped(TASK, Permission.TASK_UPDATE))]
