"""Scope: which cases (and accounts) an actor may reach. Out of scope answers 404, never 403.

Coordinators reach their teams' cases, caseworkers the cases assigned to them, and either
reaches a case they opened by break-glass while the grant lives, but only to read it
(`BREAK_GLASS_READS`): every scope here takes the permission asked for, and without one a
grant reaches nothing (fail closed). Volunteers reach cases only through their tasks; admins
and auditors reach no case at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from app.cases.models import BreakGlassGrant, Case
from app.db import utcnow
from app.policy.deps import Actor
from app.policy.permissions import BREAK_GLASS_READS, Permission, Role
from app.tasks.models import Task
from app.users.models import AccessRequest, TeamMembership, User


def live_grant(actor_id: uuid.UUID, *, now: datetime) -> ColumnElement[bool]:
    """True for cases the actor holds a live break-glass grant on."""
    return exists().where(
        BreakGlassGrant.case_id == Case.id,
        BreakGlassGrant.actor_id == actor_id,
        BreakGlassGrant.expires_at > now,
    )


def has_live_grant(db: Session, actor_id: uuid.UUID, *, now: datetime) -> bool:
    """Whether the actor holds any live break-glass grant (one indexed lookup): when not, a
    list's scope needs no grant clause."""
    stmt = select(BreakGlassGrant.id).where(
        BreakGlassGrant.actor_id == actor_id, BreakGlassGrant.expires_at > now
    )
    return db.scalar(stmt.limit(1)) is not None


def grant_reaches(permission: Permission | None) -> bool:
    """Whether a live break-glass grant reaches a case for this permission (reads only)."""
    return permission in BREAK_GLASS_READS


def case_scope(
    actor: Actor, *, now: datetime, permission: Permission | None = None
) -> ColumnElement[bool]:
    """The WHERE clause selecting the cases actor may act on with permission: the team's or
    assigned cases, plus cases under a live grant when permission is a read."""
    if actor.role is Role.COORDINATOR:
        own: ColumnElement[bool] = Case.team_id.in_(actor.team_ids) if actor.team_ids else false()
    elif actor.role is Role.CASEWORKER:
        own = Case.assigned_to == actor.id
    else:
        return false()
    if not grant_reaches(permission):
        return own
    return or_(own, live_grant(actor.id, now=now))


def readable_cases(
    actor: Actor, permission: Permission | None = None, *, now: datetime | None = None
) -> Select[Case]:
    """SELECT of the cases actor may act on with permission; every case lookup goes through
    this. Without a permission (or with a write) a break-glass grant reaches nothing."""
    return select(Case).where(case_scope(actor, now=now or utcnow(), permission=permission))


def task_scope(
    actor: Actor,
    *,
    now: datetime,
    permission: Permission | None = None,
    case_joined: bool = False,
) -> ColumnElement[bool]:
    """The WHERE clause selecting the tasks actor may reach: a volunteer their own on the
    cases of the teams they are in now (taken off a team, at once none of its tasks), the
    case team the tasks of cases in their scope (for permission), nobody else any.

    `case_joined`: the query has joined each task's case (`Case.id == Task.case_id`), and
    the case scope is said of that case instead of as `Task.case_id IN (cases in scope)`.
    The same tasks; but the planner may then walk the tasks in an index's order and stop
    (the triage board's overdue tasks by due date), where the IN reads every case first."""
    if actor.role is Role.VOLUNTEER:
        in_teams = Case.team_id.in_(actor.team_ids)
        if not case_joined:
            in_teams = Task.case_id.in_(select(Case.id).where(in_teams))
        return and_(Task.assigned_to == actor.id, in_teams)
    if actor.role in (Role.COORDINATOR, Role.CASEWORKER):
        in_scope = case_scope(actor, now=now, permission=permission)
        if case_joined:
            return in_scope
        return Task.case_id.in_(select(Case.id).where(in_scope))
    return false()


def readable_tasks(
    actor: Actor, permission: Permission | None = None, *, now: datetime | None = None
) -> Select[Task]:
    """SELECT of the tasks actor may reach with permission; every task lookup goes through
    this (without a permission, none under a break-glass grant)."""
    return select(Task).where(task_scope(actor, now=now or utcnow(), permission=permission))


def denial_reason(db: Session, actor: Actor, case_id: uuid.UUID | None, now: datetime) -> str:
    """The audit reason of a 404: `break_glass_read_only` when a live grant exists on the case
    but the permission is a write (the answer stays the same 404)."""
    if case_id is None:
        return "out_of_scope"
    held = db.scalar(
        select(BreakGlassGrant.id).where(
            BreakGlassGrant.case_id == case_id,
            BreakGlassGrant.actor_id == actor.id,
            BreakGlassGrant.expires_at > now,
        )
    )
    return "break_glass_read_only" if held is not None else "out_of_scope"


def break_glass_review_scope(actor: Actor) -> ColumnElement[bool]:
    """Which break-glass grants actor reviews (joined to Case): auditors all, coordinators
    those on their teams' cases, nobody else any."""
    if actor.role is Role.AUDITOR:
        return true()
    if actor.role is Role.COORDINATOR and actor.team_ids:
        return Case.team_id.in_(actor.team_ids)
    return false()


def manageable_users(actor: Actor) -> Select[User]:
    """SELECT of the accounts actor may manage: admins all, coordinators their teams' members."""
    if actor.role is Role.ADMIN:
        return select(User)
    if actor.role is Role.COORDINATOR and actor.team_ids:
        member = exists().where(
            and_(TeamMembership.user_id == User.id, TeamMembership.team_id.in_(actor.team_ids))
        )
        return select(User).where(member)
    return select(User).where(false())


def request_visible_to(actor: Actor, row: AccessRequest) -> bool:
    """Admins see every access request; a coordinator those that open one of their teams."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.COORDINATOR:
        return bool({uuid.UUID(t) for t in row.grant_team_ids} & actor.team_ids)
    return False


def team_visible_to(actor: Actor, team_id: uuid.UUID) -> bool:
    """Admins and auditors look into every team; a coordinator into their own."""
    if actor.role in (Role.ADMIN, Role.AUDITOR):
        return True
    return actor.role is Role.COORDINATOR and team_id in actor.team_ids
