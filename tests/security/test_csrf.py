"""CSRF: cookie-authenticated state changes need the session's token; bearer calls do not."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.factories import PASSWORD, auth, bearer, make_user
from tests.security.test_signin_pages import sign_in

BODY = {"current_password": PASSWORD, "new_password": "amber-kettle-morning-42"}


def _cookie_client(client: TestClient, db: Session) -> str:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    sign_in(client, user.email)
    token = client.get("/api/v1/me").json()["csrf_token"]
    assert token
    return str(token)


def test_missing_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    _cookie_client(client, db)
    r = client.post("/api/v1/me/password", json=BODY)
    assert r.status_code == 403
    assert r.json()["code"] == "csrf_failed"


def test_wrong_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    _cookie_client(client, db)
    r = client.post("/api/v1/me/password", json=BODY, headers={"X-CSRF-Token": "x" * 43})
    assert r.status_code == 403


def test_another_sessions_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    _cookie_client(client, db)
    with TestClient(client.app, base_url="https://testserver") as other:
        foreign = _cookie_client(other, db)
    r = client.post("/api/v1/me/password", json=BODY, headers={"X-CSRF-Token": foreign})
    assert r.status_code == 403


def test_right_csrf_token_is_accepted(client: TestClient, db: Session) -> None:
    token = _cookie_client(client, db)
    r = client.post("/api/v1/me/password", json=BODY, headers={"X-CSRF-Token": token})
    assert r.status_code == 204


def test_form_field_is_accepted_too(client: TestClient, db: Session) -> None:
    token = _cookie_client(client, db)
    r = client.request("DELETE", "/api/v1/auth/token", data={"csrf_token": token})
    assert r.status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_safe_methods_need_no_token(client: TestClient, db: Session) -> None:
    _cookie_client(client, db)
    assert client.get("/api/v1/me").status_code == 200


def test_bearer_calls_are_exempt(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    r = client.post(
        "/api/v1/me/password",
        json=BODY,
        headers=auth(bearer(db, user, clock=clock, settings=settings)),
    )
    assert r.status_code == 204
