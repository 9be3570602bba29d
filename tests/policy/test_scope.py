"""Scope: forged and swapped ids answer 404; break-glass opens one case for one hour."""

import logging
import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases import break_glass
from app.cases.fields import CASE_FIELDS
from app.cases.models import BreakGlassGrant, Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.policy.deps import Actor, AuthMethod
from app.policy.permissions import Permission, Role
from app.policy.scope import (
    break_glass_review_scope,
    denial_reason,
    manageable_users,
    readable_cases,
    readable_tasks,
    request_visible_to,
    task_scope,
    team_visible_to,
)
from app.security.clock import FrozenClock
from app.tasks.models import Task
from app.users import grants
from app.users.models import Team, TeamMembership, User
from tests.factories import actor_of, auth, bearer, make_case, make_task, make_team, make_user

REASON = "Client called at night from the border crossing, needs the lawyer contact"


@pytest.fixture
def world(db: Session, keyring: Keyring):  # type: ignore[no-untyped-def]
    team_a, team_b = make_team(db), make_team(db)
    w = {
        "coord_a": make_user(db, Role.COORDINATOR, teams=[team_a]),
        "coord_b": make_user(db, Role.COORDINATOR, teams=[team_b]),
        "worker_a": make_user(db, Role.CASEWORKER, teams=[team_a]),
        "worker_a2": make_user(db, Role.CASEWORKER, teams=[team_a]),
        "worker_b": make_user(db, Role.CASEWORKER, teams=[team_b]),
    }
    w["case_a"] = make_case(db, keyring=keyring, team=team_a, assigned_to=w["worker_a"])
    w["case_a2"] = make_case(db, keyring=keyring, team=team_a, assigned_to=w["worker_a2"])
    w["case_b"] = make_case(db, keyring=keyring, team=team_b, assigned_to=w["worker_b"])
    return w


def _actor(user, teams=frozenset()) -> Actor:  # type: ignore[no-untyped-def]
    return Actor(user.id, Role(user.role), frozenset(teams), AuthMethod.BEARER, uuid.uuid4(), None)


def test_readable_cases_by_role(db: Session, world) -> None:  # type: ignore[no-untyped-def]
    def ids(actor: Actor) -> set[uuid.UUID]:
        return set(
            db.scalars(
                readable_cases(actor).with_only_columns(
                    readable_cases(actor).selected_columns[0].table.c.id
                )
            )
        )

    coord = _actor(world["coord_a"], {world["case_a"].team_id})
    assert ids(coord) >= {world["case_a"].id, world["case_a2"].id}
    assert world["case_b"].id not in ids(coord)
    worker = _actor(world["worker_a"])
    assert world["case_a"].id in ids(worker)
    assert world["case_a2"].id not in ids(worker)  # same team, not assigned
    for role in (Role.ADMIN, Role.AUDITOR, Role.VOLUNTEER):
        user = make_user(db, role)
        assert ids(_actor(user, {world["case_a"].team_id})) == set()


def test_task_scope_said_of_the_joined_case_selects_the_same_tasks(
    db: Session,
    keyring: Keyring,
    clock: FrozenClock,
    world,  # type: ignore[no-untyped-def]
) -> None:
    """`task_scope(case_joined=True)` (the board's overdue tasks) is the policy's task scope
    written for a query that joined the case: for every role, with and without a permission,
    under a live break-glass grant, it selects exactly the tasks the IN form selects."""
    team_a = db.get_one(Team, world["case_a"].team_id)
    volunteer_a = make_user(db, Role.VOLUNTEER, teams=[team_a])
    team_b = db.get_one(Team, world["case_b"].team_id)
    volunteer_b = make_user(db, Role.VOLUNTEER, teams=[team_b])
    tasks = {
        make_task(db, keyring=keyring, case=world[c], volunteer=v).id
        for c, v in (("case_a", volunteer_a), ("case_a2", volunteer_a), ("case_b", volunteer_b))
    }
    # worker_a reaches case_b for an hour (read only: a write permission leaves it out).
    break_glass.open_grant(
        db, actor=actor_of(db, world["worker_a"]), case=world["case_b"], now=clock.now(),
        keyring=keyring, reason=REASON,
    )  # fmt: skip
    users = [world[k] for k in ("coord_a", "coord_b", "worker_a", "worker_b")]
    users += [volunteer_a, volunteer_b, make_user(db, Role.ADMIN), make_user(db, Role.AUDITOR)]
    seen: list[int] = []
    for user in users:
        actor = actor_of(db, user)
        for permission in (
            None,
            Permission.CASE_READ,
            Permission.CASE_ASSIGN,
            Permission.TASK_UPDATE,
        ):
            plain = set(db.scalars(select(Task.id).where(
                task_scope(actor, now=clock.now(), permission=permission)
            )))  # fmt: skip
            joined = set(db.scalars(
                select(Task.id).join(Case, Case.id == Task.case_id).where(
                    task_scope(actor, now=clock.now(), permission=permission, case_joined=True)
                )
            ))  # fmt: skip
            assert joined == plain, (user.role, permission)
            seen.append(len(plain & tasks))
    # The comparison ran over something: some actors reach one, two or no tasks.
    assert {0, 1, 2} <= set(seen)


def test_forged_and_swapped_ids_answer_404(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    world,  # type: ignore[no-untyped-def]
) -> None:
    headers = auth(bearer(db, world["worker_a"], clock=clock, settings=settings))
    assert client.get(f"/api/v1/cases/{world['case_a'].id}", headers=headers).status_code == 200
    for forged in (world["case_a2"].id, world["case_b"].id, uuid.uuid4()):
        r = client.get(f"/api/v1/cases/{forged}", headers=headers)
        assert r.status_code == 404
        assert r.json() == {"detail": "Not found.", "code": "not_found"}
    # Not an id at all: no route has such a path (ids are typed in the paths).
    assert client.get("/api/v1/cases/not-a-uuid", headers=headers).status_code == 404
    coord = auth(bearer(db, world["coord_b"], clock=clock, settings=settings))
    assert client.get(f"/api/v1/cases/{world['case_a'].id}", headers=coord).status_code == 404
    denied = db.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied")).all()
    assert any(e.reason_code == "out_of_scope" for e in denied)


def test_case_read_shows_every_field_to_the_case_team(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    world,  # type: ignore[no-untyped-def]
) -> None:
    headers = auth(bearer(db, world["coord_a"], clock=clock, settings=settings))
    body = client.get(f"/api/v1/cases/{world['case_a'].id}", headers=headers).json()
    assert body["case_code"] == world["case_a"].case_code
    assert set(body) == set(CASE_FIELDS)


def test_break_glass_opens_one_case_for_one_hour(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    world,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = auth(bearer(db, world["worker_b"], clock=clock, settings=settings))
    url = f"/api/v1/cases/{world['case_a'].id}"
    assert client.get(url, headers=headers).status_code == 404
    assert client.post(url + "/break-glass", json={}, headers=headers).status_code == 422
    assert (
        client.post(url + "/break-glass", json={"reason": "short"}, headers=headers).status_code
        == 422
    )
    with caplog.at_level(logging.DEBUG):
        r = client.post(url + "/break-glass", json={"reason": REASON}, headers=headers)
    assert r.status_code == 201
    assert REASON not in caplog.text
    assert client.get(url, headers=headers).status_code == 200
    assert client.get(f"/api/v1/cases/{world['case_a2'].id}", headers=headers).status_code == 404
    clock.advance(timedelta(minutes=59))
    assert client.get(url, headers=headers).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert client.get(url, headers=headers).status_code == 404
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "access.break_glass")).all()
    assert len(entries) == 1
    assert entries[0].actor_id == world["worker_b"].id
    assert entries[0].object_id == str(world["case_a"].id)
    assert REASON not in str(vars(entries[0]))


def test_break_glass_needs_fresh_reauthentication(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    world,  # type: ignore[no-untyped-def]
) -> None:
    stale = auth(bearer(db, world["worker_b"], clock=clock, settings=settings, reauth=False))
    r = client.post(
        f"/api/v1/cases/{world['case_a'].id}/break-glass", json={"reason": REASON}, headers=stale
    )
    assert r.status_code == 403
    assert r.json()["code"] == "reauth_required"
    r = client.post(
        f"/api/v1/cases/{uuid.uuid4()}/break-glass",
        json={"reason": REASON},
        headers=auth(bearer(db, world["worker_b"], clock=clock, settings=settings)),
    )
    assert r.status_code == 404


def test_break_glass_is_shown_to_auditors_and_the_teams_coordinators(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    world,  # type: ignore[no-untyped-def]
) -> None:
    worker = auth(bearer(db, world["worker_b"], clock=clock, settings=settings))
    client.post(
        f"/api/v1/cases/{world['case_a'].id}/break-glass", json={"reason": REASON}, headers=worker
    )
    coord_a = auth(bearer(db, world["coord_a"], clock=clock, settings=settings))
    listed = client.get("/api/v1/break-glass", headers=coord_a).json()["items"]
    assert [g["case_id"] for g in listed] == [str(world["case_a"].id)]
    assert listed[0]["reason"] == REASON
    assert listed[0]["active"] is True
    coord_b = auth(bearer(db, world["coord_b"], clock=clock, settings=settings))
    assert client.get("/api/v1/break-glass", headers=coord_b).json()["items"] == []
    auditor = auth(bearer(db, make_user(db, Role.AUDITOR), clock=clock, settings=settings))
    seen = client.get("/api/v1/break-glass", headers=auditor).json()["items"]
    assert str(world["case_a"].id) in {g["case_id"] for g in seen}
    assert all("reason" not in g for g in seen)
    assert world["case_a"].case_code not in str(seen)
    assert client.get("/api/v1/break-glass", headers=worker).status_code == 403


def _grant(db: Session, user: User, case: Case, expires_at: datetime) -> None:
    db.add(
        BreakGlassGrant(
            actor_id=user.id, case_id=case.id, created_at=expires_at - timedelta(hours=1),
            expires_at=expires_at,
        )
    )  # fmt: skip
    db.flush()


def test_a_grant_opens_the_case_to_its_holder_alone_and_only_while_live(
    db: Session,
    keyring: Keyring,
    clock: FrozenClock,
    world,  # type: ignore[no-untyped-def]
) -> None:
    """A break-glass grant is one person's, on one case, for its hour: a teammate of the
    holder, the holder on another case, and the holder after the hour reach nothing through
    it — in the case scope, the task scope, and the reason a refusal is audited with."""
    now = clock.now()
    holder, teammate = world["worker_a2"], world["worker_a"]
    case_b = world["case_b"]
    other_b = make_case(db, keyring=keyring, team=db.get_one(Team, case_b.team_id))
    volunteer = make_user(db, Role.VOLUNTEER, teams=[db.get_one(Team, case_b.team_id)])
    task_b = make_task(db, keyring=keyring, case=case_b, volunteer=volunteer)
    _grant(db, holder, case_b, now + timedelta(hours=1))

    def cases(user: User, at: datetime) -> set[uuid.UUID]:
        stmt = readable_cases(actor_of(db, user), Permission.CASE_READ, now=at)
        return set(db.scalars(stmt.with_only_columns(Case.id)))

    def tasks(user: User, at: datetime) -> set[uuid.UUID]:
        stmt = readable_tasks(actor_of(db, user), Permission.TASK_READ, now=at)
        return set(db.scalars(stmt.with_only_columns(Task.id)))

    assert case_b.id in cases(holder, now)
    assert task_b.id in tasks(holder, now)
    assert other_b.id not in cases(holder, now)  # the grant is on one case
    assert case_b.id not in cases(teammate, now)  # and one person's
    assert task_b.id not in tasks(teammate, now)
    later = now + timedelta(hours=2)  # the hour is over
    assert case_b.id not in cases(holder, later)
    assert task_b.id not in tasks(holder, later)
    # A write refused on the granted case says why (the grant reads only); every other
    # refusal here is plain out of scope.
    assert denial_reason(db, actor_of(db, holder), case_b.id, now) == "break_glass_read_only"
    assert denial_reason(db, actor_of(db, teammate), case_b.id, now) == "out_of_scope"
    assert denial_reason(db, actor_of(db, holder), other_b.id, now) == "out_of_scope"
    assert denial_reason(db, actor_of(db, holder), case_b.id, later) == "out_of_scope"
    at_expiry = now + timedelta(hours=1)  # expiring at this instant: no longer live
    assert denial_reason(db, actor_of(db, holder), case_b.id, at_expiry) == "out_of_scope"


def test_who_manages_accounts_and_who_reviews_grants_role_by_role(
    db: Session,
    keyring: Keyring,
    clock: FrozenClock,
    world,  # type: ignore[no-untyped-def]
) -> None:
    """Written from the design, role by role, every actor on a team where the role has one:
    admins manage every account and coordinators their teams' members, nobody else any;
    auditors review every break-glass grant and coordinators those on their teams' cases,
    nobody else any. Checked on the scope functions themselves, below the permission check
    that stands in front of them on every route."""
    team_a = db.get_one(Team, world["case_a"].team_id)
    _grant(db, world["worker_b"], world["case_a"], clock.now() + timedelta(hours=1))
    _grant(db, world["worker_a"], world["case_b"], clock.now() + timedelta(hours=1))
    users = {role: make_user(db, role, teams=[team_a]) for role in Role}
    everyone = set(db.scalars(select(User.id)))
    members_a = set(db.scalars(select(TeamMembership.user_id).where(
        TeamMembership.team_id == team_a.id
    )))  # fmt: skip
    all_grants = set(db.scalars(select(BreakGlassGrant.id)))
    grants_a = set(db.scalars(
        select(BreakGlassGrant.id).join(Case, Case.id == BreakGlassGrant.case_id)
        .where(Case.team_id == team_a.id)
    ))  # fmt: skip
    assert members_a
    assert grants_a
    assert grants_a != all_grants
    expected_users = {Role.ADMIN: everyone, Role.COORDINATOR: members_a}
    expected_grants = {Role.AUDITOR: all_grants, Role.COORDINATOR: grants_a}
    for role, user in users.items():
        actor = actor_of(db, user)
        managed = set(db.scalars(manageable_users(actor).with_only_columns(User.id)))
        assert managed == expected_users.get(role, set()), role
        reviewed = set(db.scalars(
            select(BreakGlassGrant.id).join(Case, Case.id == BreakGlassGrant.case_id)
            .where(break_glass_review_scope(actor))
        ))  # fmt: skip
        assert reviewed == expected_grants.get(role, set()), role


def test_who_sees_access_requests_and_teams_role_by_role(
    db: Session,
    clock: FrozenClock,
    world,  # type: ignore[no-untyped-def]
) -> None:
    """Written from the design, role by role, every actor on team A: admins see every
    access request and coordinators those that open one of their teams, nobody else any;
    admins and auditors look into every team, coordinators into their own, nobody else any.
    Checked on the scope functions themselves, below the permission check in front of them
    (a caseworker's route to a request is refused for the permission first)."""
    team_a = db.get_one(Team, world["case_a"].team_id)
    team_b = db.get_one(Team, world["case_b"].team_id)
    admin = actor_of(db, make_user(db, Role.ADMIN))
    asked = {}
    for team in (team_a, team_b):
        newcomer = make_user(db, Role.VOLUNTEER, teams=[team])
        asked[team.id] = grants.request_access(
            db, actor=admin, user=newcomer, role=Role.CASEWORKER, team_ids=[team.id],
            now=clock.now(),
        )  # fmt: skip
    db.flush()
    sees_requests = {
        Role.ADMIN: {team_a.id, team_b.id},
        Role.COORDINATOR: {team_a.id},
    }
    sees_teams = {
        Role.ADMIN: {team_a.id, team_b.id},
        Role.AUDITOR: {team_a.id, team_b.id},
        Role.COORDINATOR: {team_a.id},
    }
    for role in Role:
        actor = actor_of(db, make_user(db, role, teams=[team_a]))
        requests = {team for team, row in asked.items() if request_visible_to(actor, row)}
        assert requests == sees_requests.get(role, set()), role
        teams = {team for team in (team_a.id, team_b.id) if team_visible_to(actor, team)}
        assert teams == sees_teams.get(role, set()), role
