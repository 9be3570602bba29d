"""The code's policy against the hand-written oracle (tests/policy/oracle.py): every role ×
permission and every role × case field, each disagreement named."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases.fields import CASE_FIELDS
from app.config import Settings
from app.policy.permissions import (
    BREAK_GLASS_READS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    Visibility,
    allows,
    visibility,
)
from app.security.clock import FrozenClock
from app.users.models import User
from tests.factories import auth, bearer, make_team, make_user
from tests.policy import oracle


def disagreements() -> list[str]:
    """Every (role, permission) where the code and the oracle differ, in words."""
    out = []
    for role in Role:
        for permission in Permission:
            code, design = allows(role, permission), oracle.allows(role.value, permission.value)
            if code and not design:
                out.append(f"{role.value} holds {permission.value}, which the design denies")
            elif design and not code:
                out.append(f"{role.value} lacks {permission.value}, which the design grants")
    return out


def test_every_role_holds_exactly_the_permissions_of_the_design() -> None:
    assert set(oracle.PERMISSIONS) == {r.value for r in Role}
    known = {p.value for p in Permission}
    for role, granted in oracle.PERMISSIONS.items():
        assert granted <= known, f"{role}: the oracle names unknown {sorted(granted - known)}"
    problems = disagreements()
    assert not problems, "\n".join(problems)


def test_a_planted_permission_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above fails, naming role and permission, for the worst planted bug found
    in review: coordinators given user:update (they could make a member an admin)."""
    planted = dict(ROLE_PERMISSIONS)
    planted[Role.COORDINATOR] = planted[Role.COORDINATOR] | {Permission.USER_UPDATE}
    planted[Role.VOLUNTEER] = planted[Role.VOLUNTEER] - {Permission.TASK_UPDATE}
    monkeypatch.setattr("app.policy.permissions.ROLE_PERMISSIONS", planted)
    assert disagreements() == [
        "coordinator holds user:update, which the design denies",
        "volunteer lacks task:update, which the design grants",
    ]


def test_break_glass_reaches_reads_only() -> None:
    assert {p.value for p in BREAK_GLASS_READS} == oracle.BREAK_GLASS_READS
    for role in Role:
        may = allows(role, Permission.CASE_BREAK_GLASS)
        assert may is (role.value in oracle.BREAK_GLASS_ROLES), role


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_case_field_is_shown_as_the_design_says(role: Role) -> None:
    wrong = [
        f"{role.value} sees {field} {visibility(role, field).value}, "
        f"design: {oracle.field_view(role.value, field)}"
        for field in CASE_FIELDS
        if visibility(role, field).value != oracle.field_view(role.value, field)
    ]
    assert not wrong, "\n".join(wrong)


def test_an_unknown_field_is_hidden_from_everyone() -> None:
    for role in Role:
        assert visibility(role, "a_field_added_tomorrow") is Visibility.HIDDEN


def _headers(db: Session, user: User, clock: FrozenClock, settings: Settings) -> dict[str, str]:
    return auth(bearer(db, user, clock=clock, settings=settings))


@pytest.mark.parametrize("change", [{"role": "admin"}, {"role": "coordinator"}, {"disabled": True}])
def test_a_coordinator_cannot_change_a_members_account(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    change: dict[str, object],
) -> None:
    """Promotion to admin (or to coordinator), or disabling: an admin's act, never a
    coordinator's, even for a member of their own team."""
    team = make_team(db)
    coordinator = make_user(db, Role.COORDINATOR, teams=[team])
    member = make_user(db, Role.CASEWORKER, teams=[team])
    r = client.patch(
        f"/api/v1/users/{member.id}",
        json=change,
        headers=_headers(db, coordinator, clock, settings),
    )
    assert r.status_code == 403, r.text
    db.refresh(member)
    assert (member.role, member.disabled_at) == (Role.CASEWORKER.value, None)
