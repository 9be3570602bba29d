"""A team of invented staff with bearer tokens, for the casework API tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import Team, User
from tests.factories import auth, bearer, make_team, make_user

# An invented person: the values are canaries, found nowhere else.
PERSON: dict[str, Any] = {
    "legal_name": "Всеволод Игнатьевич Пржевальцев",
    "aliases": ["Vsevolod Przhevaltsev", "Сева Жук"],
    "date_of_birth": "1991-07-23",
    "contacts": [
        {"channel": "telegram", "value": "@sevazhuk_tg"},
        {"channel": "phone", "value": "+7 916 555 01 23"},
    ],
    "unit": "в/ч 99999 (invented)",
    "current_city": "Тбилиси",
    "family": "Жена Ольга Пржевальцева, сын 4 года",
}


@dataclass
class Staff:
    """One team's coordinators, caseworker and volunteers, and another team's volunteer."""

    team: Team
    coordinator: User
    coordinator2: User
    caseworker: User
    volunteer: User
    volunteer2: User
    outsider_volunteer: User
    outsider_coordinator: User
    headers: dict[str, dict[str, str]]

    def h(self, who: str) -> dict[str, str]:
        """The Authorization header of a member by attribute name."""
        return self.headers[who]


def make_staff(db: Session, *, clock: FrozenClock, settings: Settings) -> Staff:
    """A team (and an outside team) with tokens for everyone (re-authenticated just now)."""
    team, other = make_team(db), make_team(db)
    people = {
        "coordinator": make_user(db, Role.COORDINATOR, teams=[team]),
        "coordinator2": make_user(db, Role.COORDINATOR, teams=[team]),
        "caseworker": make_user(db, Role.CASEWORKER, teams=[team]),
        "volunteer": make_user(db, Role.VOLUNTEER, teams=[team]),
        "volunteer2": make_user(db, Role.VOLUNTEER, teams=[team]),
        "outsider_volunteer": make_user(db, Role.VOLUNTEER, teams=[other]),
        "outsider_coordinator": make_user(db, Role.COORDINATOR, teams=[other]),
    }
    headers = {
        name: auth(bearer(db, user, clock=clock, settings=settings))
        for name, user in people.items()
    }
    db.commit()
    return Staff(team=team, headers=headers, **people)


def new_case(client: TestClient, staff: Staff, **values: Any) -> dict[str, Any]:
    """A case created through the API by the team's caseworker (assigned to them)."""
    r = client.post("/api/v1/cases", json=values or PERSON, headers=staff.h("caseworker"))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def audit_count(db: Session, action: str) -> int:
    """How many audit entries of one action exist (in this test's transaction)."""
    db.expire_all()
    n = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))
    return int(n or 0)
