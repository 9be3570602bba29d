"""What a scoped lookup hands the route when it finds the object: the caller (the route acts
and audits as them) and exactly the object whose id was asked for, for every lookup a route
can declare. And the lookups judge a break-glass grant by the request's clock, the one the
grant was written with, never by the machine's.

Called through the dependency every route uses (`Scoped`), with objects made here; the
expectations are the ids this test chose, not read from app/policy/access.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.cases.models import BreakGlassGrant
from app.config import Settings
from app.crypto.keyring import Keyring
from app.errors import HavenError
from app.policy.access import (
    ACCESS_REQUEST,
    ACCOUNT,
    ANY_CASE,
    CASE,
    REFERRAL,
    TASK,
    TEAM,
    USER,
    Lookup,
)
from app.policy.permissions import Permission, Role
from app.security.clock import FrozenClock
from app.users import grants
from tests.factories import (
    actor_of,
    case_world,
    make_draft_referral,
    make_partner,
    make_task,
    make_user,
)
from tests.policy.lookup import look_up


def test_every_lookup_hands_the_route_its_caller_and_the_object_asked_for(
    db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    world = case_world(db, keyring=keyring, clock=clock, settings=settings)
    coord, worker = world.users["coord"], world.users["worker"]
    task = make_task(db, keyring=keyring, case=world.case_a, volunteer=world.users["volunteer"])
    partner, _key = make_partner(db)
    referral = make_draft_referral(db, case=world.case_a, partner=partner)
    admin = actor_of(db, world.users["admin"])
    asked = grants.request_access(
        db, actor=admin, user=make_user(db, Role.VOLUNTEER, teams=[]),
        role=Role.CASEWORKER, team_ids=[world.case_a.team_id], now=clock.now(),
    )  # fmt: skip
    db.flush()
    auditor = actor_of(db, world.users["auditor"])
    cases = (CASE, Permission.CASE_READ, coord, world.case_a.id, lambda a: a.case.id)
    rows: list[tuple[Lookup[Any], Permission, Any, uuid.UUID, Any]] = [
        cases,
        (ANY_CASE, Permission.CASE_BREAK_GLASS, world.users["worker_b"], world.case_a.id,
         lambda a: a.case.id),
        (TASK, Permission.TASK_READ, coord, task.id, lambda a: a.task.id),
        (REFERRAL, Permission.REFERRAL_READ, worker, referral.id, lambda a: a.referral.id),
        (USER, Permission.USER_READ, coord, worker.id, lambda a: a.user.id),
        (TEAM, Permission.TEAM_MEMBERS, coord, world.case_a.team_id, lambda a: a.team.id),
        (ACCESS_REQUEST, Permission.ACCESS_REQUEST_REJECT, coord, asked.id,
         lambda a: a.request.id),
        (ACCOUNT, Permission.AUDIT_READ, world.users["auditor"], coord.id, lambda a: a.user.id),
    ]  # fmt: skip
    for lookup, permission, user, object_id, found in rows:
        actor = auditor if lookup is ACCOUNT else actor_of(db, user)
        access = look_up(db, clock, lookup, permission, actor, object_id)
        assert access.actor == actor, lookup.resource
        assert found(access) == object_id, lookup.resource
    got = look_up(db, clock, REFERRAL, Permission.REFERRAL_READ, actor_of(db, worker), referral.id)
    assert got.case.id == world.case_a.id  # the referral's own case


@pytest.mark.parametrize("lookup", [CASE, TASK], ids=["case", "task"])
def test_a_grant_is_judged_by_the_requests_clock_not_the_machines(
    db: Session, keyring: Keyring, settings: Settings, lookup: Lookup[Any]
) -> None:
    """A grant that the machine's clock calls live but the request's clock calls expired
    opens nothing (and one the request's clock calls live opens the case and its tasks)."""
    clock = FrozenClock()
    world = case_world(db, keyring=keyring, clock=clock, settings=settings)
    holder = world.users["worker_b"]  # team B: case A only through the grant
    task = make_task(db, keyring=keyring, case=world.case_a, volunteer=world.users["volunteer"])
    expires = clock.now() + timedelta(hours=1)
    db.add(BreakGlassGrant(actor_id=holder.id, case_id=world.case_a.id,
                           created_at=clock.now(), expires_at=expires))  # fmt: skip
    db.flush()
    object_id = world.case_a.id if lookup is CASE else task.id
    permission = Permission.CASE_READ if lookup is CASE else Permission.TASK_READ
    actor = actor_of(db, holder)
    assert look_up(db, clock, lookup, permission, actor, object_id).actor == actor
    clock.advance(timedelta(hours=2))  # the machine's clock still says the grant is live
    with pytest.raises(HavenError) as refused:
        look_up(db, clock, lookup, permission, actor, object_id)
    assert refused.value.status == 404
