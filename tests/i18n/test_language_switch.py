"""The language switcher: a visitor's link sets the haven_lang cookie, a signed-in person's
form stores the choice on the account (with the session's CSRF token), and both go back only
to a path on this site."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users import service
from tests.factories import make_user
from tests.pages.registry import Visitor

COOKIE = "__Host-haven_lang"


def test_visitor_link_sets_the_cookie_and_comes_back(client: TestClient) -> None:
    r = client.get("/language/uk", params={"next": "/request"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/request"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=uk;")
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= attrs
    # A session cookie: it holds only the language and leaves with the browser session.
    assert not any(a.startswith(("max-age", "expires")) for a in attrs)
    page = client.get("/request")
    assert '<html lang="uk">' in page.text
    assert "Попросити про допомогу" in page.text


def test_the_cookie_beats_the_browser_language(client: TestClient) -> None:
    client.get("/language/be", follow_redirects=False)
    page = client.get("/login", headers={"accept-language": "ru"})
    assert '<html lang="be">' in page.text


def test_switcher_links_name_each_language_and_return_here(client: TestClient) -> None:
    page = client.get("/request", headers={"accept-language": "ru"}).text
    assert 'href="/language/en?next=/request" lang="en" hreflang="en">English</a>' in page
    assert 'href="/language/uk?next=/request" lang="uk" hreflang="uk">Українська</a>' in page
    assert '<span lang="ru" aria-current="true">Русский</span>' in page


def test_unknown_language_is_404(client: TestClient) -> None:
    r = client.get("/language/xx", follow_redirects=False)
    assert r.status_code == 404
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("\\\\evil.example", "/"),
        ("///evil.example", "/"),
        ("http:/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nLocation: https://evil.example", "/"),
        ("/ok\tx", "/"),
        ("evil.example", "/"),
        ("", "/"),
        # Percent-encoded slashes stay a path on this site (the browser does not decode them).
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
        ("/request", "/request"),
    ],
)
def test_return_path_never_leaves_the_site(client: TestClient, target: str, location: str) -> None:
    r = client.get("/language/ru", params={"next": target}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == location


def test_overlong_return_path_is_refused(client: TestClient) -> None:
    r = client.get("/language/ru", params={"next": "/" + "a" * 3000}, follow_redirects=False)
    assert r.status_code == 422


def test_return_path_keeps_a_local_path_but_not_its_query(client: TestClient) -> None:
    r = client.get("/language/ru", params={"next": "/login/totp?x=Ivan"}, follow_redirects=False)
    assert r.headers["location"] == "/login/totp"


def test_signed_in_person_stores_the_choice_with_csrf(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    visitor = Visitor(client=client, db=db, clock=clock, locale="en")
    user = visitor.signed_in()
    home = client.get("/")
    assert 'action="/account/language"' in home.text  # forms, not cookie links
    token = visitor.csrf(home.text)
    refused = client.post("/account/language", data={"language": "ru", "csrf_token": "nope"})
    assert refused.status_code == 403
    db.refresh(user)
    assert user.language == "en"
    r = client.post(
        "/account/language",
        data={"language": "ru", "next": "/", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    db.refresh(user)
    assert user.language == "ru"
    # The account's choice beats the cookie and the browser.
    client.cookies.set(COOKIE, "uk", domain="testserver.local", path="/")
    page = client.get("/", headers={"accept-language": "be"})
    assert '<html lang="ru">' in page.text
    assert "Выйти" in page.text  # the header of the home page, in the account's language


def test_account_language_must_be_supported(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    visitor = Visitor(client=client, db=db, clock=clock, locale="en")
    visitor.signed_in()
    token = visitor.csrf(client.get("/").text)
    r = client.post("/account/language", data={"language": "xx", "csrf_token": token})
    assert r.status_code == 422
    assert "language" in r.text


def test_account_language_needs_a_session(client: TestClient) -> None:
    r = client.post("/account/language", data={"language": "ru"}, follow_redirects=False)
    assert r.status_code == 401


def test_service_sets_and_clears_the_language(db: Session) -> None:
    user = make_user(db, Role.VOLUNTEER)
    service.set_language(db, user=user, language="be")
    assert user.language == "be"
    service.set_language(db, user=user, language=None)
    assert user.language is None
    with pytest.raises(InvalidInput, match="language"):
        service.set_language(db, user=user, language="de")


def test_account_switch_goes_back_only_to_this_site(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    visitor = Visitor(client=client, db=db, clock=clock, locale="en")
    visitor.signed_in()
    token = visitor.csrf(client.get("/").text)
    data = {"language": "uk", "next": "//evil.example/", "csrf_token": token}
    r = client.post("/account/language", data=data, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"
