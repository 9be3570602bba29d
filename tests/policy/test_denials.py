"""Every refusal of a scoped lookup is written to the audit log, naming what was asked for
and why: the kind of object, its id, and the reason — "out_of_scope" for an object the
caller's scope does not reach (whether it exists or not: the answer is the same 404), and
"not_found" for the two lookups that reach every existing object (an auditor's look at any
account's actions, a break-glass request for any case), where a miss can only mean that
nothing has that id. The expectations are written here from the design (DESIGN.md's scope
rules), not read from app/policy/access.py; the lookups are called through the dependency
every route uses (`Scoped`), so the refusal goes the whole way to its audit entry."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.crypto.keyring import Keyring
from app.errors import HavenError
from app.policy.access import (
    ACCESS_REQUEST,
    ACCOUNT,
    ANY_CASE,
    CASE,
    DOCUMENT,
    REFERRAL,
    TASK,
    TEAM,
    USER,
    Lookup,
)
from app.policy.permissions import Permission, Role
from app.security.clock import FrozenClock
from app.users import grants
from app.users.models import Team, User
from tests.factories import (
    actor_of,
    auth,
    bearer,
    case_world,
    make_case,
    make_document,
    make_draft_referral,
    make_partner,
    make_task,
    make_team,
    make_user,
)
from tests.policy.lookup import look_up

# (lookup, the permission asked, the role asking, the kind of object the entry names, the
# reason for an id that exists nowhere)
LOOKUPS: list[tuple[Lookup[Any], Permission, Role, str, str]] = [
    (CASE, Permission.CASE_READ, Role.COORDINATOR, "case", "out_of_scope"),
    (TASK, Permission.TASK_READ, Role.COORDINATOR, "task", "out_of_scope"),
    (REFERRAL, Permission.REFERRAL_READ, Role.COORDINATOR, "referral", "out_of_scope"),
    (USER, Permission.USER_READ, Role.COORDINATOR, "user", "out_of_scope"),
    (TEAM, Permission.TEAM_MEMBERS, Role.COORDINATOR, "team", "out_of_scope"),
    (
        ACCESS_REQUEST,
        Permission.ACCESS_REQUEST_REJECT,
        Role.COORDINATOR,
        "access_request",
        "out_of_scope",
    ),
    # The reach is every existing object: only a missing one is refused.
    (ACCOUNT, Permission.AUDIT_READ, Role.AUDITOR, "user", "not_found"),
    (ANY_CASE, Permission.CASE_BREAK_GLASS, Role.CASEWORKER, "case", "not_found"),
]


def _refusal(
    db: Session, clock: FrozenClock, lookup: Lookup[Any], permission: Permission, user: User,
    object_id: uuid.UUID,
) -> AuditEntry:  # fmt: skip
    """Look object_id up as user would through a route; the refusal's audit entry."""
    with pytest.raises(HavenError) as refused:
        look_up(db, clock, lookup, permission, actor_of(db, user), object_id)
    assert (refused.value.status, refused.value.code) == (404, "not_found")
    assert refused.value.keep_record, "the refusal's record must outlive the rollback"
    return _last_denial(db, user)


def _last_denial(db: Session, user: User) -> AuditEntry:
    db.flush()
    entry = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "access.denied", AuditEntry.actor_id == user.id)
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None, "no audit entry for the refusal"
    return entry


@pytest.mark.parametrize(
    ("lookup", "permission", "role", "kind", "reason"),
    LOOKUPS,
    ids=[f"{row[3]}-{row[1].value}" for row in LOOKUPS],
)
def test_an_id_that_exists_nowhere_is_refused_and_audited_by_kind_and_reason(
    db: Session,
    clock: FrozenClock,
    lookup: Lookup[Any],
    permission: Permission,
    role: Role,
    kind: str,
    reason: str,
) -> None:
    teams = [make_team(db)] if role in (Role.COORDINATOR, Role.CASEWORKER) else []
    user = make_user(db, role, teams=teams)
    forged = uuid.uuid4()
    entry = _refusal(db, clock, lookup, permission, user, forged)
    assert (entry.object_type, entry.object_id, entry.reason_code) == (kind, str(forged), reason)


def test_another_teams_objects_are_refused_as_out_of_scope_by_kind(
    db: Session, keyring: Keyring, clock: FrozenClock
) -> None:
    """The same refusals for objects that exist, on a team that is not the caller's: each
    entry names the object's kind and id and says out of scope (never not found: the log
    tells a reviewer that someone reached for a real object)."""
    mine, theirs = make_team(db), make_team(db)
    coordinator = make_user(db, Role.COORDINATOR, teams=[mine])
    volunteer = make_user(db, Role.VOLUNTEER, teams=[theirs])
    case = make_case(db, keyring=keyring, team=theirs)
    task = make_task(db, keyring=keyring, case=case, volunteer=volunteer)
    partner, _key = make_partner(db)
    referral = make_draft_referral(db, case=case, partner=partner)
    admin = actor_of(db, make_user(db, Role.ADMIN))
    asked = grants.request_access(
        db, actor=admin, user=make_user(db, Role.VOLUNTEER, teams=[theirs]),
        role=Role.CASEWORKER, team_ids=[theirs.id], now=clock.now(),
    )  # fmt: skip
    db.flush()
    objects: list[tuple[Lookup[Any], Permission, str, uuid.UUID]] = [
        (CASE, Permission.CASE_READ, "case", case.id),
        (TASK, Permission.TASK_READ, "task", task.id),
        (REFERRAL, Permission.REFERRAL_READ, "referral", referral.id),
        (USER, Permission.USER_READ, "user", volunteer.id),
        (TEAM, Permission.TEAM_MEMBERS, "team", db.get_one(Team, theirs.id).id),
        (ACCESS_REQUEST, Permission.ACCESS_REQUEST_REJECT, "access_request", asked.id),
    ]
    for lookup, permission, kind, object_id in objects:
        entry = _refusal(db, clock, lookup, permission, coordinator, object_id)
        got = (entry.object_type, entry.object_id, entry.reason_code)
        assert got == (kind, str(object_id), "out_of_scope"), kind


def test_a_permission_refused_is_audited_with_the_caller_and_the_permission_lacked(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    """403 before any lookup: the entry names who asked and which permission their role
    lacks (a volunteer asking for the triage board, which is for coordinators)."""
    volunteer = make_user(db, Role.VOLUNTEER, teams=[make_team(db)])
    token = bearer(db, volunteer, clock=clock, settings=settings)
    db.commit()
    r = client.get("/api/v1/board", headers=auth(token))
    assert r.status_code == 403
    db.expire_all()
    entry = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "access.denied")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None
    assert entry.reason_code == f"lacks:{Permission.CASE_ASSIGN.value}"
    assert entry.actor_id is not None
    assert uuid.UUID(str(entry.actor_id)) == volunteer.id


def test_a_document_is_reached_only_through_its_own_case(
    db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    """A document's path names its case and the document. The case must be in the caller's
    scope, and the document must be that case's: another case's document asked for through
    a case the caller may read is refused (404, audited as that document, out of scope), as
    is an id that exists nowhere; each of two documents of one case is the one asked for."""
    world = case_world(db, keyring=keyring, clock=clock, settings=settings)
    worker = world.users["worker"]  # assigned to case A only
    mine = [
        make_document(db, keyring=keyring, case=world.case_a, store=world.store, by=worker,
                      name=f"summons-{n}.pdf")
        for n in (1, 2)
    ]  # fmt: skip
    theirs = make_document(
        db, keyring=keyring, case=world.case_b, store=world.store, by=world.users["worker_b"]
    )
    db.flush()
    actor = actor_of(db, worker)
    for doc in mine:
        got = look_up(db, clock, DOCUMENT, Permission.DOCUMENT_READ, actor, world.case_a.id, doc.id)
        assert (got.document.id, got.case.id, got.actor) == (doc.id, world.case_a.id, actor)
    for doc_id in (theirs.id, uuid.uuid4()):
        with pytest.raises(HavenError) as refused:
            look_up(db, clock, DOCUMENT, Permission.DOCUMENT_READ, actor, world.case_a.id, doc_id)
        assert (refused.value.status, refused.value.keep_record) == (404, True)
        entry = _last_denial(db, worker)
        got_entry = (entry.object_type, entry.object_id, entry.reason_code)
        assert got_entry == ("document", str(doc_id), "out_of_scope")
