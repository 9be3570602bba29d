"""Sessions: fixation, idle and absolute expiry (moved clock), and every way a session ends."""

import secrets
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.security.models import AuthSession
from app.security.sessions import SECURE_COOKIE_NAME, hash_token
from tests.factories import PASSWORD, auth, bearer, make_team, make_user
from tests.security.test_signin_pages import plant, sign_in


def _signed_in(client: TestClient, db: Session) -> str:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    assert sign_in(client, user.email).status_code == 303
    token = client.cookies.get(SECURE_COOKIE_NAME)
    assert token
    return token


def test_session_fixation_a_planted_cookie_is_never_upgraded(
    client: TestClient, db: Session
) -> None:
    planted = "attacker-chosen-value-0123456789abcdef0123456"
    plant(client, planted)
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    sign_in(client, user.email)
    issued = client.cookies.get(SECURE_COOKIE_NAME)
    assert issued != planted
    with TestClient(client.app, base_url="https://testserver") as attacker:
        plant(attacker, planted)
        assert attacker.get("/api/v1/me").status_code == 401


def test_a_stolen_pre_sign_in_session_is_dead_after_sign_in(
    client: TestClient, db: Session
) -> None:
    first = _signed_in(client, db)
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    sign_in(client, user.email)  # signing in again with the same browser
    second = client.cookies.get(SECURE_COOKIE_NAME)
    assert second != first
    assert db.scalar(select(AuthSession).where(AuthSession.token_hash == hash_token(first))) is None


def test_only_the_hash_of_the_token_is_stored(client: TestClient, db: Session) -> None:
    token = _signed_in(client, db)
    rows = db.scalars(select(AuthSession.token_hash)).all()
    assert hash_token(token) in rows
    assert token not in rows


def test_idle_timeout(client: TestClient, db: Session, clock: FrozenClock) -> None:
    _signed_in(client, db)
    clock.advance(timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200  # activity slides the idle window
    clock.advance(timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=30, seconds=1))
    assert client.get("/api/v1/me").status_code == 401


def test_absolute_timeout(client: TestClient, db: Session, clock: FrozenClock) -> None:
    _signed_in(client, db)
    for _ in range(12 * 4 - 1):  # busy all day: every 15 minutes
        clock.advance(timedelta(minutes=15))
        assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(minutes=15))
    assert client.get("/api/v1/me").status_code == 401


def test_disabled_accounts_live_session_is_refused_at_once(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    _signed_in(client, db)
    me = client.get("/api/v1/me").json()
    admin = make_user(db, Role.ADMIN)
    r = client.patch(
        f"/api/v1/users/{me['id']}",
        json={"disabled": True},
        headers=auth(bearer(db, admin, clock=clock, settings=settings)),
    )
    assert r.status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_role_change_ends_sessions(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    team = make_team(db)
    worker = make_user(db, Role.CASEWORKER, teams=[team])
    token = bearer(db, worker, clock=clock, settings=settings)
    admin = make_user(db, Role.ADMIN)
    r = client.patch(
        f"/api/v1/users/{worker.id}",
        json={"role": "volunteer"},
        headers=auth(bearer(db, admin, clock=clock, settings=settings)),
    )
    assert r.status_code == 200
    assert r.json()["role"] == "volunteer"
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401


def test_role_change_needs_fresh_reauthentication(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    worker = make_user(db, Role.CASEWORKER)
    admin = make_user(db, Role.ADMIN)
    token = bearer(db, admin, clock=clock, settings=settings)
    clock.advance(timedelta(minutes=6))
    r = client.patch(
        f"/api/v1/users/{worker.id}", json={"role": "coordinator"}, headers=auth(token)
    )
    assert r.status_code == 403
    assert r.json()["code"] == "reauth_required"
    db.expire_all()
    assert worker.role == "caseworker"


def test_password_change_ends_every_session(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    other = bearer(db, user, clock=clock, settings=settings)
    mine = bearer(db, user, clock=clock, settings=settings)
    r = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "amber-kettle-morning-42"},
        headers=auth(mine),
    )
    assert r.status_code == 204
    assert client.get("/api/v1/me", headers=auth(other)).status_code == 401
    assert client.get("/api/v1/me", headers=auth(mine)).status_code == 401


def test_weak_new_password_is_refused(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    r = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "password2026"},
        headers=auth(bearer(db, user, clock=clock, settings=settings)),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "new_password"
    assert "password2026" not in r.text


def test_admin_ends_all_of_a_users_sessions(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    tokens = [bearer(db, user, clock=clock, settings=settings) for _ in range(3)]
    admin = make_user(db, Role.ADMIN)
    r = client.delete(
        f"/api/v1/users/{user.id}/sessions",
        headers=auth(bearer(db, admin, clock=clock, settings=settings)),
    )
    assert r.json() == {"ended": 3}
    for token in tokens:
        assert client.get("/api/v1/me", headers=auth(token)).status_code == 401


def test_seal_ends_every_session_and_token(
    app: FastAPI, client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    cookie = _signed_in(client, db)
    coordinator = make_user(db, Role.COORDINATOR)
    token = bearer(db, coordinator, clock=clock, settings=settings)
    others = [bearer(db, make_user(db, Role.AUDITOR), clock=clock, settings=settings)]
    r = client.post("/api/v1/sys/seal", headers=auth(token))
    assert r.status_code == 200
    assert r.json() == {"sealed": True}
    assert app.state.keyring.sealed
    assert db.scalar(select(func.count()).select_from(AuthSession)) == 0
    # While sealed, nothing is served at all.
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 503
    # Unsealed again, none of the old sessions or tokens comes back to life.
    app.state.keyring.unseal_with_root(secrets.token_bytes(32))
    for t in [token, *others]:
        assert client.get("/api/v1/me", headers=auth(t)).status_code == 401
    plant(client, cookie)
    assert client.get("/api/v1/me").status_code == 401


def test_plain_http_cookie_drops_secure_and_the_host_prefix(app: FastAPI, db: Session) -> None:
    app.state.settings = app.state.settings.model_copy(update={"secure_cookies": False})
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    with TestClient(app, base_url="http://testserver") as plain:
        r = sign_in(plain, user.email)
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("haven_session="))
        assert "secure" not in cookie.lower()
        assert "httponly" in cookie.lower()
        assert plain.get("/api/v1/me").status_code == 200
