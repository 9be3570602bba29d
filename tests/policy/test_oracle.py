"""The code's policy against the hand-written oracle (tests/policy/oracle.py): every role ×
permission and every role × case field, each disagreement named."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases.fields import CASE_FIELDS
from app.config import Settings
from app.policy.permissions import (
    BREAK_GLASS_READS,
    CASE_ROLES,
    ROLE_PERMISSIONS,
    TOTP_REQUIRED,
    Permission,
    Role,
    Visibility,
    allows,
    redact_member,
    redact_task,
    visibility,
)
from app.policy.scope import grant_reaches
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


def reach_disagreements() -> list[str]:
    """Every permission a break-glass grant reaches (app/policy/scope.py) against the design."""
    return [
        f"a grant {'reaches' if grant_reaches(p) else 'misses'} {p.value}"
        for p in Permission
        if grant_reaches(p) is not (p.value in oracle.BREAK_GLASS_READS)
    ]


def test_break_glass_reaches_reads_only() -> None:
    assert {p.value for p in BREAK_GLASS_READS} == oracle.BREAK_GLASS_READS
    problems = reach_disagreements()
    assert not problems, "\n".join(problems)
    assert grant_reaches(None) is False
    for role in Role:
        may = allows(role, Permission.CASE_BREAK_GLASS)
        assert may is (role.value in oracle.BREAK_GLASS_ROLES), role


def field_disagreements(role: Role) -> list[str]:
    """Every case field role sees otherwise than the design says, in words."""
    return [
        f"{role.value} sees {field} {visibility(role, field).value}, "
        f"design: {oracle.field_view(role.value, field)}"
        for field in CASE_FIELDS
        if visibility(role, field).value != oracle.field_view(role.value, field)
    ]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_case_field_is_shown_as_the_design_says(role: Role) -> None:
    wrong = field_disagreements(role)
    assert not wrong, "\n".join(wrong)


def _shown_disagreements(
    what: str,
    redact: Callable[[Role, dict[str, object]], dict[str, object]],
    design: Mapping[str, frozenset[str]],
) -> list[str]:
    names = sorted(set().union(*design.values()) | {"legal_name", "a_field_added_tomorrow"})
    out = []
    for role in Role:
        shown = set(redact(role, {n: f"value of {n}" for n in names}))
        out += [
            f"{role.value} sees {what} {n}, which the design hides"
            for n in sorted(shown - design[role.value])
        ]
        out += [
            f"{role.value} misses {what} {n}, which the design shows"
            for n in sorted(design[role.value] - shown)
        ]
    return out


def task_disagreements() -> list[str]:
    """Every task field a role is shown (redact_task) otherwise than docs/api.md says."""
    return _shown_disagreements("task field", redact_task, oracle.TASK_VIEW)


def member_disagreements() -> list[str]:
    """Every directory field a role is shown (redact_member) otherwise than docs/api.md says."""
    return _shown_disagreements("member field", redact_member, oracle.MEMBER_VIEW)


def test_every_task_field_is_shown_as_the_design_says() -> None:
    problems = task_disagreements()
    assert not problems, "\n".join(problems)


def test_every_directory_field_is_shown_as_the_design_says() -> None:
    problems = member_disagreements()
    assert not problems, "\n".join(problems)


def test_case_roles_and_second_factor_roles_are_the_designs() -> None:
    assert {r.value for r in CASE_ROLES} == oracle.CASE_ROLES
    assert {r.value for r in TOTP_REQUIRED} == oracle.TOTP_ROLES


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
