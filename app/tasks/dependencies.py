"""What task routes reach: the case a new task is for (named in the request body) or one
task, each found within the caller's scope (app/policy/access.py) or answered 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.policy.access import CASE, TASK, CaseAccess, Scoped, TaskAccess, case_in_body
from app.policy.permissions import Permission
from app.tasks.schemas import TaskCreate

# POST /tasks names its case in the body: scoped by the same construct as a path id.
TaskCase = Annotated[CaseAccess, Depends(Scoped(case_in_body(TaskCreate), Permission.TASK_CREATE))]
TaskWrite = Annotated[TaskAccess, Depends(Scoped(TASK, Permission.TASK_UPDATE))]
TaskRead = Annotated[TaskAccess, Depends(Scoped(TASK, Permission.TASK_READ))]
# The tasks tab of a case (pages): a page of the case, so reading the case is the door (a
# volunteer, who reaches tasks but never cases, is refused); the list itself is the tasks
# in the reader's task scope. Creating one there takes the permission to create tasks.
CaseTasks = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.CASE_READ))]
CaseTaskCreate = Annotated[CaseAccess, Depends(Scoped(CASE, Permission.TASK_CREATE))]
