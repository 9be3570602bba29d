"""The sign-in form's CSRF defence is the signed pre-session form token that /request uses
(app/security/form_token.py): every way of getting the token wrong is refused before the
password is even looked at, and the form comes back, filled in, with a fresh token."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import httpx
import pytest
from fastapi import Request, UploadFile
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.intake.pages import REQUEST_FORM
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.security.sessions import SECURE_COOKIE_NAME
from app.users.models import User
from app.users.pages import LOGIN_FORM
from tests.factories import PASSWORD, make_user

COOKIE = "__Host-haven_login"
FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def user(db: Session) -> User:
    return make_user(db, Role.VOLUNTEER, enrolled=False)


def _token(client: TestClient) -> str:
    page = client.get("/login")
    match = FIELD.search(page.text)
    assert match
    assert client.cookies.get(COOKIE) == match.group(1)
    return match.group(1)


def _post(client: TestClient, user: User, token: str | None) -> httpx.Response:
    data = {"email": user.email, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/login", data=data, follow_redirects=False)


def _refused(r: httpx.Response, user: User, client: TestClient) -> None:
    assert r.status_code == 403
    text = r.text
    assert f'value="{user.email}"' in text  # nothing typed is lost
    assert 'id="f-email-error"' in text
    assert SECURE_COOKIE_NAME not in client.cookies


def test_the_right_token_signs_in(client: TestClient, user: User) -> None:
    r = _post(client, user, _token(client))
    assert r.status_code == 303


def test_missing_field_is_refused(client: TestClient, user: User) -> None:
    _token(client)
    _refused(_post(client, user, None), user, client)


def test_missing_cookie_is_refused(client: TestClient, user: User) -> None:
    token = _token(client)
    client.cookies.clear()
    _refused(_post(client, user, token), user, client)


def test_mismatched_tokens_are_refused(
    client: TestClient, user: User, keyring: Keyring, clock: FrozenClock
) -> None:
    _token(client)
    other = LOGIN_FORM.issue(keyring, clock.now())  # authentic, but not the cookie's
    _refused(_post(client, user, other), user, client)


def test_forged_token_is_refused(client: TestClient, user: User) -> None:
    token = _token(client)
    forged = token.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    client.cookies.set(COOKIE, forged, domain="testserver.local", path="/")
    _refused(_post(client, user, forged), user, client)


def test_token_signed_with_another_key_is_refused(
    client: TestClient, user: User, clock: FrozenClock
) -> None:
    stranger = Keyring()
    stranger.unseal_with_root(b"\x01" * 32)
    planted = LOGIN_FORM.issue(stranger, clock.now())
    client.cookies.set(COOKIE, planted, domain="testserver.local", path="/")
    _refused(_post(client, user, planted), user, client)


def test_the_request_forms_token_does_not_open_the_login_form(
    client: TestClient, user: User, keyring: Keyring, clock: FrozenClock
) -> None:
    other_form = REQUEST_FORM.issue(keyring, clock.now())
    client.cookies.set(COOKIE, other_form, domain="testserver.local", path="/")
    _refused(_post(client, user, other_form), user, client)


def test_expired_token_is_refused_then_the_fresh_one_works(
    client: TestClient, user: User, clock: FrozenClock
) -> None:
    token = _token(client)
    clock.advance(timedelta(hours=2, minutes=1))
    r = _post(client, user, token)
    _refused(r, user, client)
    fresh = FIELD.search(r.text)
    assert fresh
    assert fresh.group(1) != token
    assert _post(client, user, fresh.group(1)).status_code == 303


def test_token_from_the_future_is_refused(
    client: TestClient, user: User, keyring: Keyring, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=1))
    ahead = LOGIN_FORM.issue(keyring, clock.now())
    clock.advance(timedelta(hours=-1))
    client.cookies.set(COOKIE, ahead, domain="testserver.local", path="/")
    _refused(_post(client, user, ahead), user, client)


def test_a_second_tab_keeps_a_working_token(client: TestClient, user: User) -> None:
    first = _token(client)
    second = _token(client)  # the same browser opens the form again
    assert first == second
    assert _post(client, user, first).status_code == 303


def test_a_public_form_takes_no_file_and_spools_nothing(client: TestClient, db: Session) -> None:
    """The public request form is text: a multipart body with a file part (the token's or
    any other) is refused (400) before the part is read, so no client can make the server
    write what it sends to a plaintext temporary file (an unclosed one would fail this
    test as a ResourceWarning), and nothing is stored."""
    page = client.get("/request")
    token = FIELD.search(page.text)
    assert token
    before = db.scalar(select(func.count()).select_from(Case))
    for files in (
        {"csrf_token": ("token.txt", token.group(1).encode(), "text/plain")},
        {"attachment": ("passport.jpg", b"\xff\xd8" + b"x" * 100_000, "image/jpeg")},
    ):
        r = client.post(
            "/request", files=files, data={"csrf_token": token.group(1), "message": "x"}
        )
        assert r.status_code == 400, r.status_code
    assert db.scalar(select(func.count()).select_from(Case)) == before


@pytest.mark.parametrize(
    ("locale", "no_file", "unreadable"),
    [
        ("en", "typed text only", "The form could not be read"),
        ("ru", "можно только печатать текст", "Не удалось прочитать форму"),
        ("uk", "можна лише друкувати текст", "Не вдалося прочитати форму"),
        ("be", "можна толькі друкаваць тэкст", "Не ўдалося прачытаць форму"),
    ],
)
def test_a_form_the_parser_refuses_is_explained_in_the_readers_language(
    client: TestClient, db: Session, locale: str, no_file: str, unreadable: str
) -> None:
    """A file sent to a text form, or a multipart body the parser cannot read (no boundary
    named), is a 400 page in the reader's language saying what to do, never the parser's
    English ("Too many files. Maximum number of files is 0.")."""
    client.headers["accept-language"] = locale
    page = client.get("/request")
    token = FIELD.search(page.text)
    assert token
    before = db.scalar(select(func.count()).select_from(Case))
    with_file = client.post(
        "/request",
        files={"note": ("note.txt", b"invented", "text/plain")},
        data={"csrf_token": token.group(1), "message": "x"},
    )
    broken = client.post(
        "/request",
        content=b'--b\r\nContent-Disposition: form-data; name="message"\r\n\r\nx\r\n--b--',
        headers={"content-type": "multipart/form-data"},  # no boundary: unreadable
    )
    for r, words in ((with_file, no_file), (broken, unreadable)):
        assert r.status_code == 400, r.status_code
        assert words in r.text
        assert "Too many" not in r.text
        assert "boundary" not in r.text.lower()
    assert db.scalar(select(func.count()).select_from(Case)) == before


def test_a_form_token_that_is_not_text_is_refused(
    client: TestClient, keyring: Keyring, clock: FrozenClock
) -> None:
    """Whatever a parser hands over for the field (a file, nothing), only text is a token."""
    token = REQUEST_FORM.issue(keyring, clock.now())
    app = client.app
    request = Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/request",
            "headers": [
                (b"cookie", f"{REQUEST_FORM.cookie_name(app.state.settings)}={token}".encode())
            ],
            "app": app,
        }
    )
    assert REQUEST_FORM.accepts(request, token)
    for submitted in (UploadFile(io.BytesIO(token.encode()), filename="t.txt"), None, 7):
        assert not REQUEST_FORM.accepts(request, submitted)


def test_a_token_with_its_time_or_nonce_rewritten_is_refused(
    keyring: Keyring, clock: FrozenClock
) -> None:
    """The signature covers the whole payload: an expired token given today's time, or
    another nonce, under its old signature, is no token (else one token seen once would
    sign any time, for ever)."""
    old = LOGIN_FORM.issue(keyring, clock.now() - timedelta(hours=3))
    issued, nonce, mac = old.split(".")
    assert LOGIN_FORM.age(keyring, old, clock.now()) is not None  # authentic, only old
    now = str(int(clock.now().timestamp()))
    for forged in (f"{now}.{nonce}.{mac}", f"{issued}.{nonce[::-1]}.{mac}"):
        assert LOGIN_FORM.age(keyring, forged, clock.now()) is None, forged


def test_the_form_cookie_is_for_this_site_and_this_browser_session_only(
    client: TestClient, settings: Settings
) -> None:
    """HttpOnly (no script reads it), Secure with the `__Host-` prefix where cookies are
    Secure (no subdomain or plain-HTTP page plants one), SameSite=Strict, the whole site,
    and no lifetime (gone with the browser session)."""
    r = client.get("/login")
    [cookie] = [c for c in r.headers.get_list("set-cookie") if c.startswith(COOKIE + "=")]
    parts = {p.strip().split("=")[0].lower() for p in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path"} <= parts, cookie
    assert "samesite=strict" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert not parts & {"max-age", "expires", "domain"}, cookie
    assert LOGIN_FORM.cookie_name(settings) == COOKIE
    plain = settings.model_copy(update={"secure_cookies": False})
    assert LOGIN_FORM.cookie_name(plain) == "haven_login"
