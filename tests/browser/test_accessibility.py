"""Every page, in every state the page registry knows, in every language: axe-core finds no
serious or critical accessibility violation, and a 360 px screenshot is kept.

The page is rendered by the app in this process (the registry's visits, tests/pages/), then
shown in Debian's Chromium at phone width with Haven's own stylesheet, served through a route
to the same app. The page itself runs no script; the context allows scripts (and sets the
CSP aside) only so that axe, injected by the test, can run.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Route
from sqlalchemy.orm import Session

from app.i18n import LOCALES
from app.security.clock import FrozenClock
from tests.pages.registry import PAGES, PageVisit, Visitor

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ORIGIN = "http://haven.test"
PAGE = ORIGIN + "/__page__"
# WCAG 2.1 A and AA, and axe's best practices (landmarks, headings, the skip link...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("serious", "critical")
PHONE = {"width": 360, "height": 780}


@pytest.fixture(scope="session")
def backend() -> str:
    """The pages look the same on either database: SQLite renders them here."""
    return "sqlite"


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core as `make axe` installs it from the npm registry."""
    if not AXE.exists():
        message = f"{AXE} is missing: `make axe` installs it (npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return AXE


def check_page(
    chromium: Browser, client: TestClient, html: str, axe: Path, shot: Path | None
) -> list[str]:
    """The serious or critical violations axe finds in html, shown at phone width."""
    context = chromium.new_context(java_script_enabled=True, bypass_csp=True, viewport=PHONE)
    try:
        page = context.new_page()

        def serve(route: Route) -> None:
            url = route.request.url
            if url == PAGE:
                route.fulfill(body=html, content_type="text/html; charset=utf-8")
                return
            parts = urlsplit(url)
            if parts.netloc != "haven.test" or not parts.path.startswith("/static/"):
                route.abort()
                return
            answer = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
            route.fulfill(
                status=answer.status_code,
                body=answer.content,
                content_type=answer.headers.get("content-type", "text/plain"),
            )

        page.route("**/*", serve)
        page.goto(PAGE)
        if shot is not None:
            page.screenshot(path=str(shot), full_page=True)
        page.add_script_tag(path=str(axe))
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
        )
    finally:
        context.close()
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.browser
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("visit", PAGES, ids=[p.name for p in PAGES])
def test_page_has_no_serious_accessibility_violation(
    visit: PageVisit,
    locale: str,
    chromium: Browser,
    axe_script: Path,
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    shots: Path,
) -> None:
    client.headers["accept-language"] = f"{locale},en;q=0.5"
    r = visit.reach(Visitor(client=client, db=db, clock=clock, locale=locale))
    assert r.status_code == visit.status, r.text[:300]
    folder = shots / "pages" / locale
    folder.mkdir(parents=True, exist_ok=True)
    found = check_page(chromium, client, r.text, axe_script, folder / f"{visit.name}.png")
    assert not found, "\n".join(found)


@pytest.mark.browser
def test_axe_finds_a_violation(chromium: Browser, axe_script: Path, client: TestClient) -> None:
    """Control: an image without alternative text and a form control without a label."""
    html = (
        '<!doctype html><html lang="en"><head><title>x</title></head><body><main>'
        '<img src="/static/none.png"><input type="text"></main></body></html>'
    )
    found = check_page(chromium, client, html, axe_script, None)
    assert any(f.startswith("image-alt") for f in found), found
    assert any(f.startswith("label") for f in found), found
