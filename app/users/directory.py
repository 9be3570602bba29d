"""What the case team's pages say about colleagues: the name each account goes by (who
uploaded a document) and the volunteers a task may go to. Names and ids only, never an
e-mail or a role beyond 'volunteer'; one statement each, whatever the number of people."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.policy.permissions import Role
from app.users.models import TeamMembership, User, shown_name


def shown_names(db: Session, ids: Iterable[str | uuid.UUID]) -> dict[str, str]:
    """The shown name of each account id (as a string key); unknown ids are left out."""
    wanted = {uuid.UUID(str(i)) for i in ids}
    if not wanted:
        return {}
    users = db.scalars(select(User).where(User.id.in_(wanted)))
    return {str(u.id): shown_name(u) for u in users}


def team_volunteers(db: Session, team_id: uuid.UUID) -> list[tuple[str, str]]:
    """(id, shown name) of the active volunteers of a team, by name: whom a task may go to
    (the task service checks the choice again)."""
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
