"""The panic seal from a page: the confirmation cannot be skipped, sealing ends every session,
and afterwards every page says the service is sealed, in the visitor's language (the public
request form in its own words), while the API answers JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.pages.registry import Visitor


@pytest.fixture
def v(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    """A browser in English."""
    client.headers["accept-language"] = "en"
    return Visitor(client=client, db=db, clock=clock, locale="en")


def _form(v: Visitor, role: Role = Role.COORDINATOR) -> str:
    v.signed_in(role)
    page = v.client.get("/seal")
    assert page.status_code == 200
    return v.csrf(page.text)


def _sealed_entries(db: Session) -> int:
    return len(db.scalars(select(AuditEntry.id).where(AuditEntry.action == "sys.sealed")).all())


def test_the_page_says_what_sealing_does(v: Visitor) -> None:
    v.signed_in(Role.COORDINATOR)
    html = v.client.get("/seal").text
    assert "Everyone is signed out at once" in html
    assert "Nothing is deleted" in html
    assert "To seal, type SEAL below." in html


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.VOLUNTEER, Role.AUDITOR])
def test_roles_that_may_not_seal_get_the_refusal_page(
    v: Visitor, keyring: Keyring, role: Role
) -> None:
    v.signed_in(role)
    assert v.client.get("/seal").status_code == 403
    assert v.client.post("/seal", data={"confirm": "SEAL"}).status_code == 403
    assert not keyring.sealed


@pytest.mark.parametrize("typed", ["", "yes", "SEA", "seal it"])
def test_the_confirmation_cannot_be_skipped(
    v: Visitor, keyring: Keyring, db: Session, typed: str
) -> None:
    token = _form(v)
    r = v.client.post("/seal", data={"csrf_token": token, "confirm": typed})
    assert r.status_code == 422
    assert 'aria-describedby="f-confirm-error"' in r.text
    assert f'value="{typed}"' in r.text
    assert not keyring.sealed
    assert _sealed_entries(db) == 0


def test_sealing_without_the_csrf_token_is_refused(v: Visitor, keyring: Keyring) -> None:
    _form(v)
    for data in ({"confirm": "SEAL"}, {"confirm": "SEAL", "csrf_token": "forged"}):
        assert v.client.post("/seal", data=data).status_code == 403
    assert not keyring.sealed


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ADMIN])
def test_sealing_seals_and_every_page_says_so(
    v: Visitor, keyring: Keyring, db: Session, root_key: bytes, role: Role
) -> None:
    token = _form(v, role)
    r = v.client.post(
        "/seal", data={"csrf_token": token, "confirm": " seal "}, follow_redirects=False
    )
    assert r.status_code == 303
    assert keyring.sealed
    assert _sealed_entries(db) == 1
    for path in ("/", "/board", "/login", "/seal", "/partners", "/no-such-page"):
        page = v.client.get(path)
        assert page.status_code == 503, path
        assert "The service is sealed" in page.text
        assert page.headers["content-type"].startswith("text/html")
    # The public form keeps its title and speaks to someone asking for help.
    request = v.client.get("/request")
    assert request.status_code == 503
    assert "Ask for help" in request.text
    assert "Requests cannot be received right now." in request.text
    # The stylesheet still loads, so the sealed page is readable on a phone.
    assert v.client.get(_stylesheet(request.text)).status_code == 200
    # The API, and a client asking for JSON, get JSON.
    api = v.client.get("/api/v1/cases")
    assert api.status_code == 503
    assert api.json()["code"] == "sealed"
    assert v.client.get("/board", headers={"accept": "application/json"}).json()["code"] == "sealed"
    # Once unsealed, the session that sealed is over: sealing ended every session.
    keyring.unseal_with_root(root_key)
    assert v.client.get("/board", follow_redirects=False).headers["location"] == "/login"


def _stylesheet(html: str) -> str:
    start = html.index('href="/static/') + len('href="')
    return html[start : html.index('"', start)]


@pytest.mark.parametrize(
    ("locale", "title", "request_words"),
    [
        ("ru", "Сервис запечатан", "Сейчас обращения не принимаются."),
        ("uk", "Сервіс запечатано", "Зараз звернення не приймаються."),
    ],
)
def test_the_sealed_page_speaks_the_visitors_language(
    client: TestClient, keyring: Keyring, locale: str, title: str, request_words: str
) -> None:
    keyring.seal()
    client.headers["accept-language"] = f"{locale},en;q=0.5"
    page = client.get("/login")
    assert page.status_code == 503
    assert f'<html lang="{locale}">' in page.text
    assert title in page.text
    request = client.get("/request")
    assert request_words in request.text
    assert f'<html lang="{locale}">' in request.text


def test_the_word_is_accepted_in_the_pages_language(
    client: TestClient, db: Session, clock: FrozenClock, keyring: Keyring
) -> None:
    client.headers["accept-language"] = "uk"
    v = Visitor(client=client, db=db, clock=clock, locale="uk")
    token = _form(v)
    assert "ЗАПЕЧАТАТИ" in v.client.get("/seal").text
    r = v.client.post("/seal", data={"csrf_token": token, "confirm": "запечатати"})
    assert r.status_code == 503
    assert keyring.sealed


def test_the_language_switcher_works_while_sealed(client: TestClient, keyring: Keyring) -> None:
    """The sealed page's switcher sets only a cookie: it stays open, and the next page speaks
    the chosen language."""
    keyring.seal()
    client.headers["accept-language"] = "en"
    r = client.get("/language/uk?next=/request", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/request"
    page = client.get("/request")
    assert page.status_code == 503
    assert '<html lang="uk">' in page.text
    assert "Зараз звернення не приймаються." in page.text
