"""The team directory: who is on a team, and the names behind account ids, each shown as far
as the policy's member visibility (app/policy/permissions.py MEMBER_VISIBILITY) lets the
reader see them (one's own name always); and the volunteers a task may go to, named to those
whose role gives tasks (`Permission.TASK_CREATE`), who also see whom a task went to. One
statement each, whatever the number of people. Every page that names a colleague asks here."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.pagination import PageQuery, page_rows
from app.policy.deps import Actor
from app.policy.permissions import Permission, Role, redact_member
from app.users.models import TeamMembership, User, shown_name


def member(user: User) -> dict[str, Any]:
    """Every directory field of an account (callers redact by the reader's role)."""
    return {
        "id": user.id,
        "name": shown_name(user),
        "role": user.role,
        "email": user.email,
        "active": user.disabled_at is None,
    }


def _members_of(team_id: uuid.UUID) -> Select[User]:
    return (
        select(User)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(TeamMembership.team_id == team_id)
        .order_by(func.coalesce(User.display_name, User.email), User.id)
    )


def members_page(
    db: Session, *, actor: Actor, team_id: uuid.UUID, q: PageQuery
) -> tuple[list[dict[str, Any]], int]:
    """One page of a team's members, by name, as actor may see them, and the count of all."""
    rows, total = page_rows(db, _members_of(team_id), q)
    return [redact_member(actor.role, member(u)) for u in rows], total


def caseworkers(db: Session, *, actor: Actor, team_id: uuid.UUID) -> list[dict[str, Any]]:
    """The team's active caseworkers, by name, as actor may see them: whom a case of that
    team may be assigned to."""
    stmt = _members_of(team_id).where(
        User.role == Role.CASEWORKER.value, User.disabled_at.is_(None)
    )
    return [redact_member(actor.role, member(u)) for u in db.scalars(stmt)]


def names(db: Session, *, actor: Actor, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The names actor may see for these account ids (one query; an id whose name the
    policy keeps from actor is left out, so a page says "a colleague")."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    out = {}
    for user in db.scalars(select(User).where(User.id.in_(wanted))):
        shown = redact_member(actor.role, member(user))
        if "name" in shown or user.id == actor.id or _task_giver_sees(actor, user):
            out[user.id] = shown_name(user)
    return out


def _task_giver_sees(actor: Actor, user: User) -> bool:
    """A volunteer's name, to a role that gives tasks: whom a task went to."""
    return user.role == Role.VOLUNTEER.value and actor.can(Permission.TASK_CREATE)


def team_volunteers(db: Session, *, actor: Actor, team_id: uuid.UUID) -> list[tuple[str, str]]:
    """(id, shown name) of the active volunteers of a team, by name: whom a task may go to
    (the task service checks the choice again); nobody to a role that gives no task."""
    if not actor.can(Permission.TASK_CREATE):
        return []
    stmt = (
        select(User)
        .join(TeamMembership, TeamMembership.user_id == User.id)
        .where(
            TeamMembership.team_id == team_id,
            User.role == Role.VOLUNTEER.value,
            User.disabled_at.is_(None),
        )
        .order_by(func.coalesce(User.display_name, User.email), User.id)
    )
    return [(str(u.id), shown_name(u)) for u in db.scalars(stmt)]
