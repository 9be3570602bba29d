"""An admin gives an account that lost its password a new one-time password: shown once,
every session ends, it works for one sign-in where its owner chooses their own; never for an
account that sees case content and has no authenticator yet (the approver's job)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.cases.conftest import Org
from tests.factories import auth, bearer, code_for, make_user


def test_an_admin_resets_a_volunteers_password_once(
    client: TestClient, org: Org, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    volunteer = org.volunteer
    own = auth(bearer(db, volunteer, clock=clock, settings=settings))
    assert client.get("/api/v1/me", headers=own).status_code == 200
    r = client.post(f"/api/v1/users/{volunteer.id}/password", headers=org.headers["admin"])
    assert r.status_code == 200, r.text
    password = r.json()["password"]
    assert client.get("/api/v1/me", headers=own).status_code == 401  # every session ended
    body = {"email": volunteer.email, "password": password, "totp": code_for(volunteer, clock)}
    refused = client.post("/api/v1/auth/token", json=body)
    assert (refused.status_code, refused.json()["code"]) == (403, "password_change_required")
    mine = "harbour-lantern-weaves-73"
    clock.advance(timedelta(seconds=30))  # each code works once: the next step's
    body["totp"] = code_for(volunteer, clock)
    assert client.post("/api/v1/auth/token", json=body | {"new_password": mine}).is_success
    clock.advance(timedelta(seconds=30))
    body["totp"] = code_for(volunteer, clock)
    assert client.post("/api/v1/auth/token", json=body).status_code == 401  # worked once
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "auth.password_reset"))
    (entry,) = entries.all()
    assert entry.actor_id == org.admin.id
    assert password not in entry.body


def test_no_reset_for_a_case_role_without_an_authenticator(
    client: TestClient, org: Org, db: Session
) -> None:
    fresh = make_user(db, Role.CASEWORKER, teams=[org.team_a], enrolled=False)
    r = client.post(f"/api/v1/users/{fresh.id}/password", headers=org.headers["admin"])
    assert r.status_code == 409
    assert "password" not in r.json()


def test_only_a_freshly_reauthenticated_admin_resets(
    client: TestClient, org: Org, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    url = f"/api/v1/users/{org.volunteer.id}/password"
    for who in ("coordinator", "caseworker", "auditor", "volunteer"):
        assert client.post(url, headers=org.headers[who]).status_code == 403, who
    stale = auth(bearer(db, org.admin, clock=clock, settings=settings, reauth=False))
    r = client.post(url, headers=stale)
    assert (r.status_code, r.json()["code"]) == (403, "reauth_required")
