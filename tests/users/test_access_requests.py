"""Case content is granted by two people, never by an admin alone; nobody changes their own
role or teams; team changes need re-authentication and name the teams in the log.

Every test attacks the rule as an admin would (synthetic people only)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.crypto.keyring import Keyring
from app.errors import Conflict
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users import grants
from app.users.models import AccessRequest, User
from app.users.service import team_ids_of
from tests.factories import (
    actor_of,
    auth,
    bearer,
    changed_meanwhile,
    code_for,
    make_case,
    make_user,
)
from tests.users.conftest import Org

CANARY = "Zakhar Revizorov"


def _audit(db: Session, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_nobody_changes_their_own_role_or_teams(client: TestClient, org: Org, db: Session) -> None:
    own = f"/api/v1/users/{org.admin.id}"
    for body in (
        {"role": "caseworker"},
        {"team_ids": [str(org.team_a.id)]},
        {"role": "coordinator", "team_ids": [str(org.team_b.id)]},
    ):
        r = client.patch(own, json=body, headers=org.headers["admin"])
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "own_access_change"
    db.expire_all()
    assert org.admin.role == "admin"
    assert team_ids_of(db, org.admin.id) == []
    assert db.scalars(select(AccessRequest)).first() is None
    denied = [e for e in _audit(db, "access.denied") if e.reason_code == "own_access_change"]
    assert len(denied) == 3


def test_promotion_by_an_admin_waits_for_a_coordinator_of_the_team(
    client: TestClient,
    org: Org,
    db: Session,
    keyring: Keyring,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    case = make_case(db, keyring=keyring, team=org.team_a, values={"legal_name": CANARY})
    helper = org.volunteer  # already in team A, sees no case content
    r = client.patch(
        f"/api/v1/users/{helper.id}",
        json={"role": "coordinator", "team_ids": [str(org.team_a.id)]},
        headers=org.headers["admin"],
    )
    assert r.status_code == 202, r.text
    pending = r.json()
    assert pending["status"] == "pending"
    assert pending["grant_team_ids"] == [str(org.team_a.id)]
    db.expire_all()
    assert helper.role == "volunteer"  # nothing granted yet
    token = auth(bearer(db, helper, clock=clock, settings=settings))
    assert client.get(f"/api/v1/cases/{case.id}", headers=token).status_code == 403
    approve = f"/api/v1/access-requests/{pending['id']}/approve"
    # The admin holds no approval; team B's coordinator does not even see the request.
    assert client.post(approve, headers=org.headers["admin"]).status_code == 403
    assert client.post(approve, headers=org.headers["outsider_coord"]).status_code == 404
    listed = client.get("/api/v1/access-requests", headers=org.headers["outsider_coord"])
    assert listed.json()["items"] == []
    mine = client.get("/api/v1/access-requests", headers=org.headers["coordinator"]).json()["items"]
    assert [x["id"] for x in mine] == [pending["id"]]
    ok = client.post(approve, headers=org.headers["coordinator"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["request"]["status"] == "approved"
    assert "password" not in ok.json()  # an existing account keeps its own password
    db.expire_all()
    assert helper.role == "coordinator"
    assert client.get("/api/v1/me", headers=token).status_code == 401  # sessions ended
    fresh = auth(bearer(db, helper, clock=clock, settings=settings))
    assert CANARY in client.get(f"/api/v1/cases/{case.id}", headers=fresh).text
    assert client.post(approve, headers=org.headers["coordinator2"]).status_code == 409
    for action in ("user.access_requested", "user.access_approved", "user.role_changed"):
        assert [e for e in _audit(db, action) if e.object_id == str(helper.id)], action


def test_adding_a_coordinator_to_another_team_needs_that_teams_coordinator(
    client: TestClient,
    org: Org,
    db: Session,
    keyring: Keyring,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    """Moving an existing coordinator into another team reaches that team's cases."""
    case_b = make_case(db, keyring=keyring, team=org.team_b, values={"legal_name": CANARY})
    both = [str(org.team_a.id), str(org.team_b.id)]
    r = client.patch(
        f"/api/v1/users/{org.coordinator.id}", json={"team_ids": both}, headers=org.headers["admin"]
    )
    assert r.status_code == 202, r.text
    assert r.json()["grant_team_ids"] == [str(org.team_b.id)]
    assert (
        client.get(f"/api/v1/cases/{case_b.id}", headers=org.headers["coordinator"]).status_code
        == 404
    )
    approve = f"/api/v1/access-requests/{r.json()['id']}/approve"
    # Team A's other coordinator cannot open team B for a colleague.
    assert client.post(approve, headers=org.headers["coordinator2"]).status_code == 404
    assert client.post(approve, headers=org.headers["outsider_coord"]).status_code == 200
    fresh = auth(bearer(db, org.coordinator, clock=clock, settings=settings))
    assert CANARY in client.get(f"/api/v1/cases/{case_b.id}", headers=fresh).text
    changed = [
        e for e in _audit(db, "user.teams_changed") if e.object_id == str(org.coordinator.id)
    ]
    assert [e.reason_code for e in changed] == [f"added:{org.team_b.id}"]
    assert changed[0].actor_id == org.outsider_coord.id


def test_an_approver_must_coordinate_every_team_the_request_opens(
    client: TestClient, org: Org, db: Session
) -> None:
    r = client.patch(
        f"/api/v1/users/{org.volunteer.id}",
        json={"role": "caseworker", "team_ids": [str(org.team_a.id), str(org.team_b.id)]},
        headers=org.headers["admin"],
    )
    assert r.status_code == 202
    approve = f"/api/v1/access-requests/{r.json()['id']}/approve"
    refused = client.post(approve, headers=org.headers["coordinator"])
    assert refused.status_code == 403
    assert refused.json()["code"] == "approver_not_entitled"
    db.expire_all()
    assert org.volunteer.role == "volunteer"
    # A refused separation of duties is evidence, recorded as a refused own-access change is.
    denials = [e for e in _audit(db, "access.denied") if e.object_id == str(org.volunteer.id)]
    assert [(e.actor_id, e.reason_code) for e in denials] == [
        (org.coordinator.id, "approver_not_entitled")
    ]


def test_a_request_decided_meanwhile_is_not_decided_again(
    client: TestClient, org: Org, db: Session, clock: FrozenClock
) -> None:
    """Two coordinators deciding at once: each decision is made in the database only while
    the request is still pending there, so the second is refused before anything is
    applied (no role, no one-time password written over the first one's)."""
    r = client.patch(
        f"/api/v1/users/{org.volunteer.id}",
        json={"role": "caseworker", "team_ids": [str(org.team_a.id)]},
        headers=org.headers["admin"],
    )
    assert r.status_code == 202
    held = db.get_one(AccessRequest, uuid.UUID(r.json()["id"]))
    assert held.status == "pending"  # as the second coordinator's request read it
    changed_meanwhile(db, held, status="rejected")
    with pytest.raises(Conflict):
        grants.approve(db, actor=actor_of(db, org.coordinator), req=held, now=clock.now())
    db.expire_all()
    assert db.get_one(User, org.volunteer.id).role == "volunteer"
    assert db.get_one(AccessRequest, held.id).status == "rejected"


def test_a_case_account_created_by_an_admin_gets_its_password_from_the_approver(
    client: TestClient, org: Org, db: Session, clock: FrozenClock, keyring: Keyring
) -> None:
    """The admin who creates a caseworker holds neither factor: no password, no TOTP."""
    h = org.headers["admin"]
    body = {"email": "new.worker@example.invalid", "role": "caseworker", "teams": ["Team A"]}
    given = client.post(
        "/api/v1/users", json={**body, "password": "copper-meadow-sings-11"}, headers=h
    )
    assert given.status_code == 422
    assert given.json()["errors"][0]["field"] == "password"
    r = client.post("/api/v1/users", json=body, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()
    assert set(made) == {"id", "email", "role", "access_request_id"}
    user = db.get(User, uuid.UUID(made["id"]))
    assert user is not None
    assert team_ids_of(db, user.id) == []  # no team until approved
    approve = f"/api/v1/access-requests/{made['access_request_id']}/approve"
    ok = client.post(approve, headers=org.headers["coordinator"])
    assert ok.status_code == 200, ok.text
    password = ok.json()["password"]
    entries = db.scalars(select(AuditEntry)).all()
    assert password not in str([vars(e) for e in entries])
    token = client.post(
        "/api/v1/auth/token",
        json={
            "email": made["email"],
            "password": password,
            "totp": code_for(user, clock),
            "new_password": "amber-orchard-hums-19",  # the approver's password works once
        },
    )
    assert token.status_code == 200, token.text
    me = client.get("/api/v1/me", headers=auth(token.json()["access_token"])).json()
    assert me["role"] == "caseworker"
    assert [t["id"] for t in me["teams"]] == [str(org.team_a.id)]


def test_rejected_requests_grant_nothing_and_duplicates_are_refused(
    client: TestClient, org: Org, db: Session
) -> None:
    url = f"/api/v1/users/{org.volunteer.id}"
    body = {"role": "caseworker", "team_ids": [str(org.team_a.id)]}
    first = client.patch(url, json=body, headers=org.headers["admin"])
    assert first.status_code == 202
    assert client.patch(url, json=body, headers=org.headers["admin"]).status_code == 409
    no_team = client.patch(
        url, json={"role": "caseworker", "team_ids": []}, headers=org.headers["admin"]
    )
    assert no_team.status_code in (409, 422)
    rid = first.json()["id"]
    rejected = client.post(
        f"/api/v1/access-requests/{rid}/reject", headers=org.headers["coordinator"]
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    late = client.post(
        f"/api/v1/access-requests/{rid}/approve", headers=org.headers["coordinator2"]
    )
    assert late.status_code == 409
    db.expire_all()
    assert org.volunteer.role == "volunteer"
    assert _audit(db, "user.access_rejected")
    alone = client.patch(
        url, json={"role": "caseworker", "team_ids": []}, headers=org.headers["admin"]
    )
    assert alone.status_code == 422  # a case role needs a team whose coordinator approves


def test_taking_access_away_applies_at_once_and_names_the_teams(
    client: TestClient, org: Org, db: Session
) -> None:
    url = f"/api/v1/users/{org.coordinator.id}"
    r = client.patch(url, json={"role": "caseworker"}, headers=org.headers["admin"])
    assert r.status_code == 200
    assert r.json()["role"] == "caseworker"
    r = client.patch(url, json={"team_ids": []}, headers=org.headers["admin"])
    assert r.status_code == 200
    assert r.json()["teams"] == []
    changed = [
        e for e in _audit(db, "user.teams_changed") if e.object_id == str(org.coordinator.id)
    ]
    assert [e.reason_code for e in changed] == [f"removed:{org.team_a.id}"]
    assert db.scalars(select(AccessRequest)).first() is None


def test_team_changes_need_fresh_reauthentication(
    client: TestClient, db: Session, org: Org, clock: FrozenClock, settings: Settings
) -> None:
    """A stale admin token cannot move anyone between teams, even without case content."""
    admin = make_user(db, Role.ADMIN)
    token = auth(bearer(db, admin, clock=clock, settings=settings))
    clock.advance(timedelta(minutes=6))
    for who, teams in ((org.volunteer, [str(org.team_b.id)]), (org.coordinator, [])):
        r = client.patch(f"/api/v1/users/{who.id}", json={"team_ids": teams}, headers=token)
        assert r.status_code == 403
        assert r.json()["code"] == "reauth_required"
    assert team_ids_of(db, org.volunteer.id) == [org.team_a.id]
    assert team_ids_of(db, org.coordinator.id) == [org.team_a.id]


def test_approval_needs_fresh_reauthentication(
    client: TestClient, org: Org, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    r = client.patch(
        f"/api/v1/users/{org.volunteer.id}",
        json={"role": "caseworker", "team_ids": [str(org.team_a.id)]},
        headers=org.headers["admin"],
    )
    stale = auth(bearer(db, org.coordinator, clock=clock, settings=settings, reauth=False))
    late = client.post(f"/api/v1/access-requests/{r.json()['id']}/approve", headers=stale)
    assert late.status_code == 403
    assert late.json()["code"] == "reauth_required"


def test_promoting_an_unenrolled_account_replaces_the_password_the_admin_knew(
    client: TestClient, org: Org, db: Session, clock: FrozenClock
) -> None:
    """An admin makes a volunteer (and so knows its one-time password), then asks for it to
    become a caseworker: after approval that password is useless, the approver has the new one."""
    made = client.post(
        "/api/v1/users",
        json={"email": "helper.two@example.invalid", "role": "volunteer"},
        headers=org.headers["admin"],
    ).json()
    r = client.patch(
        f"/api/v1/users/{made['id']}",
        json={"role": "caseworker", "team_ids": [str(org.team_a.id)]},
        headers=org.headers["admin"],
    )
    assert r.status_code == 202
    ok = client.post(
        f"/api/v1/access-requests/{r.json()['id']}/approve", headers=org.headers["coordinator"]
    )
    assert ok.status_code == 200
    fresh = ok.json()["password"]
    assert fresh != made["password"]
    user = db.get(User, uuid.UUID(made["id"]))
    assert user is not None
    token = "/api/v1/auth/token"
    old = {"email": made["email"], "password": made["password"], "totp": code_for(user, clock)}
    assert client.post(token, json=old).status_code == 401
    new = {**old, "password": fresh, "new_password": "amber-orchard-hums-19"}
    assert client.post(token, json=new).status_code == 200
