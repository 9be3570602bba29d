"""Sign-in pages: password then code, first-time enrolment with QR and recovery codes,
failed forms filled in again, and the sign-out form."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.security.sessions import SECURE_COOKIE_NAME
from app.users import pages
from app.users.models import RecoveryCode, shown_name
from tests.factories import PASSWORD, code_for, make_team, make_user, totp_secret_of

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def plant(client: TestClient, value: str) -> None:
    """Put a session cookie in the client's jar as the server would have set it."""
    client.cookies.set(SECURE_COOKIE_NAME, value, domain="testserver.local", path="/")


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def test_password_then_code_signs_in(client: TestClient, db: Session, clock: FrozenClock) -> None:
    user = make_user(db, Role.CASEWORKER, teams=[make_team(db)])
    r = sign_in(client, user.email)
    assert r.status_code == 303
    assert r.headers["location"] == "/login/totp"
    pending = client.cookies.get(SECURE_COOKIE_NAME)
    # A pending session reaches nothing but the code step.
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/login/totp")
    r = client.post(
        "/login/totp",
        data={"code": code_for(user, clock), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    full = client.cookies.get(SECURE_COOKIE_NAME)
    assert full != pending, "the session token must change when sign-in completes"
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    assert me.json()["auth"] == "session"
    home = client.get("/")  # the role's day: a caseworker's own cases
    assert home.url.path == "/cases"
    assert shown_name(user) in home.text  # the header names who is signed in


def test_a_wrong_code_never_opens_the_accounts_totp_key_for_the_page(
    client: TestClient, db: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone who has only the password and guesses at the code step gets the form back:
    the page must not decrypt the key (enrolment's error page shows it, and one shared
    template would then hand the second factor to the guesser)."""
    user = make_user(db, Role.CASEWORKER, teams=[make_team(db)])
    opened: list[object] = []
    real = pages.open_totp_secret
    monkeypatch.setattr(
        pages, "open_totp_secret", lambda *a, **k: opened.append(k) or real(*a, **k)
    )
    sign_in(client, user.email)
    page = client.get("/login/totp")
    wrong = "000000" if code_for(user, clock) != "000000" else "111111"
    r = client.post("/login/totp", data={"code": wrong, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 401
    assert 'id="f-code-error"' in r.text
    assert opened == [], "the code step's error page opened the TOTP key"
    secret = totp_secret_of(user)
    assert secret not in r.text.replace(" ", "")
    assert "data:image/svg" not in r.text


def test_cookie_attributes(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.CASEWORKER)
    r = sign_in(client, user.email)
    cookie = next(
        h for h in r.headers.get_list("set-cookie") if h.startswith(SECURE_COOKIE_NAME + "=")
    )
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= attrs
    assert not any(a.startswith("domain") for a in attrs)
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 43  # 256 bits, URL-safe base64


def test_failed_form_comes_back_filled_in_with_the_error(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.CASEWORKER)
    r = sign_in(client, user.email, "wrong-password-here")
    assert r.status_code == 401
    assert f'value="{user.email}"' in r.text
    assert 'id="f-password-error"' in r.text
    assert "wrong-password-here" not in r.text


def test_login_form_without_its_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.CASEWORKER)
    client.get("/login")
    r = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert SECURE_COOKIE_NAME not in client.cookies


def test_first_sign_in_enrols_totp_and_shows_recovery_codes_once(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    user = make_user(db, Role.COORDINATOR, enrolled=False)
    r = sign_in(client, user.email)
    assert r.headers["location"] == "/login/enrol"
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/login/enrol")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text
    secret = totp_secret_of(user)
    assert secret[:4] in page.text
    assert "<script" not in page.text
    assert " style=" not in page.text
    bad = client.post("/login/enrol", data={"code": "000000", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 401
    assert 'id="f-code-error"' in bad.text
    # Enrolling, a wrong code brings the same key back to scan or type again.
    assert secret[:4] in bad.text
    assert 'src="data:image/svg+xml' in bad.text
    r = client.post(
        "/login/enrol",
        data={"code": code_for(user, clock), "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 200
    codes = re.findall(r"<code>([a-z0-9-]{19})</code>", r.text)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    stored = db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
    stored_hashes = set(stored)
    assert len(stored_hashes) == 10
    assert not any(c.replace("-", "") in h for c in codes for h in stored_hashes)
    assert client.get("/api/v1/me").status_code == 200
    db.expire_all()
    assert user.totp_enrolled_at is not None


def test_volunteer_without_totp_signs_in_with_password(client: TestClient, db: Session) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    r = sign_in(client, user.email)
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    assert client.get("/api/v1/me").json()["role"] == "volunteer"


def test_sign_out_needs_csrf_and_ends_the_session(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    user = make_user(db, Role.VOLUNTEER, enrolled=False)
    sign_in(client, user.email)
    token = client.cookies.get(SECURE_COOKIE_NAME)
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.get("/api/v1/me").status_code == 200
    home = client.get("/")
    r = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    plant(client, token or "")
    assert client.get("/api/v1/me").status_code == 401
    assert db.scalar(select(func.count()).select_from(RecoveryCode)) is not None
