"""My account, for every role: the facts, the password change (current password and code
first, errors beside their fields, nothing written on a refusal, every session ends after),
my sessions with sign-out of the others, and new recovery codes after re-authentication."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.policy.permissions import Role
from app.security import totp
from app.security.clock import FrozenClock
from app.security.models import AuthSession
from app.users.models import RecoveryCode
from tests.factories import PASSWORD, auth, bearer, code_for
from tests.pages.helpers_admin import browser, error_beside, post, sign_in

NEW = "amber-kettle-morning-42"


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_its_account(
    client: TestClient, db: Session, clock: FrozenClock, role: Role
) -> None:
    v = browser(client, db, clock)
    user, _ = sign_in(v, role)
    r = client.get("/account")
    assert r.status_code == 200
    assert user.email in r.text
    assert 'action="/account/password"' in r.text
    assert 'action="/account/language"' in r.text
    assert 'id="f-code"' in r.text  # enrolled: the change asks for the code it signs in with


def test_my_sessions_and_signing_out_the_others(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    v = browser(client, db, clock)
    user, csrf = sign_in(v, Role.CASEWORKER)
    token = bearer(db, user, clock=clock, settings=settings)
    page = client.get("/account").text
    assert page.count("this one") == 1
    assert "API token" in page
    assert "Sign out 1 other session" in page
    r = post(v, "/account/sessions/end-others", None)
    assert r.status_code == 403
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 200
    r = post(v, "/account/sessions/end-others", csrf)
    assert r.headers["location"] == "/account?done=sessions_ended"
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401
    after = client.get("/account?done=sessions_ended")
    assert after.status_code == 200
    assert "No other session is open." in after.text
    api = client.get("/api/v1/me/sessions").json()
    assert [s["current"] for s in api] == [True]


def _password_form(csrf: str, **data: str) -> dict[str, str]:
    return {"csrf_token": csrf, "current_password": PASSWORD, "code": ""} | data


def test_a_refused_password_change_writes_nothing_and_says_why_beside_the_field(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    user, csrf = sign_in(v, Role.CASEWORKER)
    kept = user.password_hash
    cases = [
        ({"new_password": NEW, "new_password_again": NEW + "x"}, "new_password_again", "differ"),
        ({"new_password": "short", "new_password_again": "short"}, "new_password", "12"),
        (
            {"current_password": "wrong", "new_password": NEW, "new_password_again": NEW},
            "current_password",
            "not right",
        ),
        ({"new_password": "", "new_password_again": ""}, "new_password", "needed"),
    ]
    for data, field, words in cases:
        clock.advance(timedelta(seconds=30))
        form = _password_form(csrf, code=code_for(user, clock)) | data
        r = client.post("/account/password", data=form, follow_redirects=False)
        assert r.status_code == 422, (field, r.status_code)
        assert words in error_beside(r.text, field), field
        assert 'type="password" value' not in r.text  # a password is never sent back
        db.refresh(user)
        assert user.password_hash == kept
    assert client.get("/account").status_code == 200  # still signed in
    r = client.post("/account/password", data=_password_form("bad", new_password=NEW))
    assert r.status_code == 403


def test_a_changed_password_ends_every_session_and_works(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    v = browser(client, db, clock)
    user, csrf = sign_in(v, Role.CASEWORKER)
    token = bearer(db, user, clock=clock, settings=settings)
    clock.advance(timedelta(seconds=30))
    form = _password_form(
        csrf, code=code_for(user, clock), new_password=NEW, new_password_again=NEW
    )
    r = client.post("/account/password", data=form, follow_redirects=False)
    assert r.headers["location"] == "/login?done=password"
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401
    assert db.scalar(select(func.count()).where(AuthSession.user_id == user.id)) == 0
    assert client.get("/account", follow_redirects=False).headers["location"] == "/login"
    assert "Sign in with the new one" in client.get("/login?done=password").text
    assert v.password_step(user, password=NEW).headers["location"] == "/login/totp"


def test_new_recovery_codes_after_re_authentication_shown_once(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    user, csrf = sign_in(v, Role.COORDINATOR)
    clock.advance(timedelta(minutes=10))
    r = client.get("/account/recovery-codes", follow_redirects=False)
    assert r.headers["location"] == "/account/reauth?next=%2Faccount%2Frecovery-codes"
    assert post(v, "/account/recovery-codes", csrf).status_code == 403  # not fresh: refused
    page = client.get("/account/reauth?next=/account/recovery-codes")
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert fresh
    data = {"csrf_token": fresh.group(1), "password": PASSWORD, "code": code_for(user, clock)}
    data["next"] = "/account/recovery-codes"
    r = client.post("/account/reauth", data=data, follow_redirects=False)
    assert r.headers["location"] == "/account/recovery-codes"
    form = client.get("/account/recovery-codes")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    assert post(v, "/account/recovery-codes", None).status_code == 403
    shown = post(v, "/account/recovery-codes", token.group(1))
    assert shown.status_code == 200
    codes = re.findall(r"<li><code>([^<]+)</code></li>", shown.text)
    assert len(codes) == 10
    stored = set(db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert {totp.hash_recovery_code(c) for c in codes} == stored
    again = client.get("/account").text
    assert not any(c in again for c in codes)


def test_the_language_chosen_on_the_account_page_is_kept(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    user, csrf = sign_in(v, Role.VOLUNTEER)
    r = post(v, "/account/language", csrf, language="uk", next="/account")
    assert r.headers["location"] == "/account"
    assert '<html lang="uk">' in client.get("/account").text
    db.refresh(user)
    assert user.language == "uk"
