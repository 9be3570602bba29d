"""A small synthetic organisation for case tests: two teams, their staff, bearer headers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import Team, User
from tests.factories import auth, bearer, make_team, make_user


@dataclass
class Org:
    """Team A (where the action is) and team B (out of scope), with headers per person."""

    team_a: Team
    team_b: Team
    coordinator: User
    coordinator2: User
    caseworker: User
    caseworker2: User
    outsider: User  # a caseworker of team B
    outsider_coord: User  # a coordinator of team B
    volunteer: User
    admin: User
    auditor: User
    headers: dict[str, dict[str, str]]


@pytest.fixture
def org(db: Session, clock: FrozenClock, settings: Settings) -> Org:
    """Everyone with a bearer token (fresh re-authentication)."""
    a, b = make_team(db, "Team A"), make_team(db, "Team B")
    people = {
        "coordinator": make_user(db, Role.COORDINATOR, teams=[a]),
        "coordinator2": make_user(db, Role.COORDINATOR, teams=[a]),
        "caseworker": make_user(db, Role.CASEWORKER, teams=[a]),
        "caseworker2": make_user(db, Role.CASEWORKER, teams=[a]),
        "outsider": make_user(db, Role.CASEWORKER, teams=[b]),
        "outsider_coord": make_user(db, Role.COORDINATOR, teams=[b]),
        "volunteer": make_user(db, Role.VOLUNTEER, teams=[a]),
        "admin": make_user(db, Role.ADMIN),
        "auditor": make_user(db, Role.AUDITOR),
    }
    headers = {
        name: auth(bearer(db, user, clock=clock, settings=settings))
        for name, user in people.items()
    }
    return Org(team_a=a, team_b=b, headers=headers, **people)
