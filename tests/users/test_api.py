"""The admin's account API and /me."""

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import User
from tests.factories import auth, bearer, code_for, make_team, make_user, totp_secret_of


def _admin(db: Session, clock: FrozenClock, settings: Settings) -> dict[str, str]:
    return auth(bearer(db, make_user(db, Role.ADMIN), clock=clock, settings=settings))


def test_create_user_returns_the_one_time_password_but_never_the_totp_secret(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    """The admin gets the one-time password of an account without case content, never
    its TOTP secret (the user enrols at first sign-in), so it never holds both factors."""
    r = client.post(
        "/api/v1/users",
        json={"email": " New.Helper@Example.invalid ", "role": "volunteer", "teams": ["Vilnius"]},
        headers=_admin(db, clock, settings),
    )
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "email", "role", "password"}
    assert body["email"] == "new.helper@example.invalid"
    assert "otpauth" not in r.text
    user = db.get(User, uuid.UUID(body["id"]))
    assert user is not None
    assert totp_secret_of(user) not in r.text
    credentials = {"email": body["email"], "password": body["password"], "totp": "000000"}
    # The one-time password works once, and only to choose one's own (no code needed: a
    # volunteer without TOTP enrolled).
    refused = client.post("/api/v1/auth/token", json=credentials)
    assert (refused.status_code, refused.json()["code"]) == (403, "password_change_required")
    mine = "juniper-lantern-drifts-42"
    token = client.post("/api/v1/auth/token", json={**credentials, "new_password": mine})
    assert token.status_code == 200, token.text
    again = client.post("/api/v1/auth/token", json=credentials)
    assert again.status_code == 401  # the one-time password is gone
    own = client.post("/api/v1/auth/token", json={**credentials, "password": mine})
    assert own.status_code == 200
    created = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.created")).all()
    assert created
    assert body["password"] not in str([vars(e) for e in created])


def test_create_user_refuses_weak_password_duplicates_and_bad_roles(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    h = _admin(db, clock, settings)
    weak = client.post(
        "/api/v1/users",
        json={"email": "a@example.invalid", "role": "volunteer", "password": "qwerty123456"},
        headers=h,
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["field"] == "password"
    assert "qwerty123456" not in weak.text
    ok = client.post(
        "/api/v1/users",
        json={
            "email": "a@example.invalid",
            "role": "volunteer",
            "password": "copper-meadow-sings-11",
        },
        headers=h,
    )
    assert ok.status_code == 201
    assert "password" not in ok.json()
    dup = client.post(
        "/api/v1/users", json={"email": "A@example.invalid", "role": "volunteer"}, headers=h
    )
    assert dup.status_code == 409
    bad = client.post(
        "/api/v1/users", json={"email": "b@example.invalid", "role": "root"}, headers=h
    )
    assert bad.status_code == 422


def test_teams_list_create_and_patch(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    h = _admin(db, clock, settings)
    team = client.post("/api/v1/teams", json={"name": "Tbilisi"}, headers=h).json()
    user = make_user(db, Role.VOLUNTEER)  # no case content: the change applies at once
    r = client.patch(f"/api/v1/users/{user.id}", json={"team_ids": [team["id"]]}, headers=h)
    assert r.status_code == 200
    assert r.json()["teams"] == [team]
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "user.teams_changed")).one()
    assert entry.reason_code == f"added:{team['id']}"
    assert entry.object_id == str(user.id)
    listed = client.get("/api/v1/users", headers=h).json()["items"]
    assert any(u["id"] == str(user.id) for u in listed)
    bad = client.patch(
        f"/api/v1/users/{user.id}",
        json={"team_ids": ["00000000-0000-0000-0000-000000000000"]},
        headers=h,
    )
    assert bad.status_code == 422


def test_admin_cannot_disable_themselves(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    admin = make_user(db, Role.ADMIN)
    r = client.patch(
        f"/api/v1/users/{admin.id}",
        json={"disabled": True},
        headers=auth(bearer(db, admin, clock=clock, settings=settings)),
    )
    assert r.status_code == 422


def test_me_lists_teams(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    team = make_team(db, "Astana")
    user = make_user(db, Role.VOLUNTEER, teams=[team])
    body = client.get(
        "/api/v1/me", headers=auth(bearer(db, user, clock=clock, settings=settings))
    ).json()
    assert body["teams"] == [{"id": str(team.id), "name": "Astana"}]
    assert body["role"] == "volunteer"
    assert body["auth"] == "bearer"


def test_api_sign_in_confirms_a_pending_enrolment(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    from tests.factories import PASSWORD

    user = make_user(db, Role.CASEWORKER, enrolled=False)
    r = client.post(
        "/api/v1/auth/token",
        json={"email": user.email, "password": PASSWORD, "totp": code_for(user, clock)},
    )
    assert r.status_code == 200
    db.expire_all()
    assert user.totp_enrolled_at is not None


def test_creating_an_account_needs_fresh_reauthentication(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    from datetime import timedelta

    admin = make_user(db, Role.ADMIN)
    token = bearer(db, admin, clock=clock, settings=settings)
    clock.advance(timedelta(minutes=5, seconds=1))
    r = client.post(
        "/api/v1/users",
        json={"email": "late@example.invalid", "role": "admin"},
        headers=auth(token),
    )
    assert r.status_code == 403
    assert r.json()["code"] == "reauth_required"
