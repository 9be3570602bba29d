"""Every page in every language: `<html lang>` follows the locale, nothing of the English
text leaks into a translated page, and nothing is broken (no raw template or placeholder,
every control labelled, every aria-describedby pointing at something).

The pages come from tests/pages/registry.py; a browser-facing route missing there fails
`test_every_page_route_is_registered`.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.i18n import LOCALES
from app.i18n.catalogs import po_path
from app.security.clock import FrozenClock
from tests.pages.conftest import read_page, visible_text
from tests.pages.registry import NOT_PAGES, PAGES, PageVisit, Visitor

BROKEN = re.compile(r"\{\{|\{%|%\([a-z_]+\)[sd]|LazyText\(|Undefined|\bmsgid\b")
CYRILLIC = re.compile(r"[а-яёіїєґў]", re.IGNORECASE)


@cache
def english_messages(locale: str) -> tuple[str, ...]:
    """The English msgids that locale's catalog translates into something else."""
    with po_path(locale).open("rb") as source:
        catalog = read_po(source, locale=locale)
    out = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or message.string == message.id:
            continue
        # A placeholder's value may be anything, and <code> is the same in every language:
        # look for the text around them.
        english = re.sub(r"<code>.*?</code>", "%(code)s", message.id)
        out.extend(p.strip() for p in re.split(r"%\([a-z_]+\)s|<[^>]+>", english))
    return tuple(sorted({p for p in out if len(p) > 2}, key=len, reverse=True))


def _leaks(text: str, locale: str) -> list[str]:
    found = []
    for english in english_messages(locale):
        pattern = r"(?<![\w@.-])" + re.escape(english) + r"(?![\w@-])"
        if re.search(pattern, text):
            found.append(english)
    return found


@pytest.fixture
def visitor(
    client: TestClient, db: Session, clock: FrozenClock, request: pytest.FixtureRequest
) -> Visitor:
    """A browser whose Accept-Language asks for the parametrised locale first."""
    locale = request.param
    client.headers["accept-language"] = f"{locale},en;q=0.5"
    return Visitor(client=client, db=db, clock=clock, locale=locale)


@pytest.mark.parametrize("visitor", LOCALES, indirect=True)
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_renders_in_the_language(visitor: Visitor, page: PageVisit) -> None:
    r = page.reach(visitor)
    assert r.status_code == page.status, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert f'<html lang="{visitor.locale}">' in html
    assert not BROKEN.search(html), BROKEN.search(html)
    parsed = read_page(html)
    assert '<a class="skip" href="#content">' in html
    assert "content" in parsed.ids
    unlabelled = [c for c in parsed.controls if c not in parsed.labelled]
    assert not unlabelled, f"controls without a <label for>: {unlabelled}"
    dangling = [i for i in parsed.described if i not in parsed.ids]
    assert not dangling, f"aria-describedby names missing ids: {dangling}"
    text = visible_text(html)
    if visitor.locale == "en":
        assert not CYRILLIC.search(
            text.replace("Русский", "").replace("Українська", "").replace("Беларуская", "")
        ), text
    else:
        assert CYRILLIC.search(text), "no translated text on the page"
        assert not _leaks(text, visitor.locale), _leaks(text, visitor.locale)


def test_the_leak_check_can_fail() -> None:
    """An English sentence left in a Russian page is found; the same words inside another
    word or an address are not."""
    assert "Sign in to Haven" in _leaks("Вход. Sign in to Haven", "ru")
    assert _leaks("Вход: person-sign in@example.invalid", "ru") == []
    assert BROKEN.search("Hello %(name)s")
    assert BROKEN.search("{{ oops }}")


def _routes(app: FastAPI) -> dict[str, set[str]]:
    """Every APIRoute's path and methods (included routers flattened, as requests see them)."""
    out: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            out.setdefault(route.path, set()).update(route.methods or ())
    return out


def _browser_routes(app: FastAPI) -> set[str]:
    """The GET routes a browser opens: everything but the API and static files."""
    return {
        path
        for path, methods in _routes(app).items()
        if "GET" in methods and not path.startswith(("/api/", "/static/"))
    }


def test_every_page_route_is_registered(app: FastAPI) -> None:
    browser = _browser_routes(app)
    assert {"/login", "/request"} <= browser, "the route walk found no pages"
    registered = {p.route for p in PAGES if p.method == "GET"} | set(NOT_PAGES)
    missing = browser - registered
    assert not missing, f"add a PageVisit to tests/pages/registry.py for: {sorted(missing)}"
    routes = _routes(app)
    unknown = [
        f"{p.method} {p.route}"
        for p in PAGES
        if p.route != "*" and p.method not in routes.get(p.route, set())
    ]
    assert not unknown, f"the registry names routes the app does not have: {unknown}"


def test_the_registry_check_can_fail(app: FastAPI) -> None:
    @app.get("/_probe/unregistered-page")
    def unregistered() -> str:
        return ""

    assert "/_probe/unregistered-page" in _browser_routes(app)
    with pytest.raises(AssertionError, match="unregistered-page"):
        test_every_page_route_is_registered(app)
