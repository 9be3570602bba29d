"""Every page of Haven, and how a person reaches it: the registry the page tests walk.

A new page joins by adding a `PageVisit` (and one for each state that renders differently:
the form with its errors, the expired form). `test_every_page_route_is_registered` fails for
a browser-facing GET route that has no visit, so a page cannot ship without being rendered
in every language (tests/pages/test_every_page.py).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import User
from tests.factories import PASSWORD, code_for, make_team, make_user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Visitor:
    """A browser (the test client, asking for `locale`) and what it needs to sign in."""

    client: TestClient
    db: Session
    clock: FrozenClock
    locale: str

    def csrf(self, html: str) -> str:
        """The CSRF field of the (first) form on a page."""
        match = CSRF.search(html)
        assert match, "no CSRF field in the form"
        return match.group(1)

    def person(
        self, role: Role = Role.CASEWORKER, *, enrolled: bool = True, one_time: bool = False
    ) -> User:
        """A new account (an invented address that names no role or language)."""
        email = f"person-{secrets.token_hex(4)}@example.invalid"
        teams = [make_team(self.db)] if role is not Role.ADMIN else []
        return make_user(
            self.db, role, teams=teams, email=email, enrolled=enrolled, one_time=one_time
        )

    def setting(self, **values: object) -> None:
        """The rest of the visit with these settings changed (e.g. `list_count_cap=3`): the
        app reads its settings from `app.state` on each request, and the test's app and
        settings are its own, so nothing outlives the visit."""
        state = self.client.app.state  # type: ignore[attr-defined]
        state.settings = state.settings.model_copy(update=values)

    def password_step(self, user: User, password: str = PASSWORD) -> httpx.Response:
        """The sign-in form, filled in and sent."""
        page = self.client.get("/login")
        data = {"email": user.email, "password": password, "csrf_token": self.csrf(page.text)}
        return self.client.post("/login", data=data, follow_redirects=False)

    def signed_in(self, role: Role = Role.CASEWORKER) -> User:
        """A fully signed-in person who chose the visitor's language on their account."""
        user = self.person(role)
        user.language = self.locale
        self.db.flush()
        assert self.password_step(user).headers["location"] == "/login/totp"
        page = self.client.get("/login/totp")
        data = {"code": code_for(user, self.clock), "csrf_token": self.csrf(page.text)}
        assert self.client.post("/login/totp", data=data, follow_redirects=False).is_redirect
        return user


@dataclass(frozen=True)
class PageVisit:
    """One page in one state: the route it comes from, how to reach it, what it answers."""

    name: str
    method: str
    route: str  # the route's path as the app declares it; "*" for any path (error pages)
    reach: Callable[[Visitor], httpx.Response]
    status: int = 200


def _login_wrong_password(v: Visitor) -> httpx.Response:
    return v.password_step(v.person(), password="not-the-password-at-all")


def _login_expired(v: Visitor) -> httpx.Response:
    v.client.get("/login")
    data = {"email": "someone@example.invalid", "password": "x", "csrf_token": "stale"}
    return v.client.post("/login", data=data)


def _totp(v: Visitor) -> httpx.Response:
    v.password_step(v.person())
    return v.client.get("/login/totp")


def _totp_wrong_code(v: Visitor) -> httpx.Response:
    page = _totp(v)
    return v.client.post("/login/totp", data={"code": "000000", "csrf_token": v.csrf(page.text)})


def _enrol(v: Visitor) -> httpx.Response:
    v.password_step(v.person(Role.COORDINATOR, enrolled=False))
    return v.client.get("/login/enrol")


def _recovery_codes(v: Visitor) -> httpx.Response:
    user = v.person(Role.COORDINATOR, enrolled=False)
    v.password_step(user)
    page = v.client.get("/login/enrol")
    data = {"code": code_for(user, v.clock), "csrf_token": v.csrf(page.text)}
    return v.client.post("/login/enrol", data=data)


def _new_password(v: Visitor) -> httpx.Response:
    v.password_step(v.person(Role.VOLUNTEER, enrolled=False, one_time=True))
    return v.client.get("/login/new-password")


def _new_password_mismatch(v: Visitor) -> httpx.Response:
    page = _new_password(v)
    data = {
        "new_password": "quiet-otter-paints-31",
        "new_password_again": "quiet-otter-paints-13",
        "csrf_token": v.csrf(page.text),
    }
    return v.client.post("/login/new-password", data=data)


def _new_password_weak(v: Visitor) -> httpx.Response:
    page = _new_password(v)
    data = {"new_password": "short", "new_password_again": "short"}
    return v.client.post("/login/new-password", data=data | {"csrf_token": v.csrf(page.text)})


def _reauth(v: Visitor) -> httpx.Response:
    v.signed_in()
    return v.client.get("/account/reauth?next=/")


def _reauth_wrong(v: Visitor) -> httpx.Response:
    page = _reauth(v)
    data = {"password": "not-the-password", "code": "000000", "next": "/"}
    return v.client.post("/account/reauth", data=data | {"csrf_token": v.csrf(page.text)})


def _request_with_errors(v: Visitor) -> httpx.Response:
    page = v.client.get("/request")
    data = {
        "csrf_token": v.csrf(page.text),
        "pseudonym": "",
        "contact_channel": "phone",
        "contact_value": "not a number",
        "message": "x" * 5001,
        "citizenship": "XX",
    }
    return v.client.post("/request", data=data)


def _request_expired(v: Visitor) -> httpx.Response:
    v.client.get("/request")
    return v.client.post("/request", data={"csrf_token": "stale", "pseudonym": "Лесник"})


def _csrf_refused(v: Visitor) -> httpx.Response:
    v.signed_in()
    return v.client.post("/logout", data={"csrf_token": "not-the-token"})


def _sealed(v: Visitor) -> httpx.Response:
    v.client.app.state.keyring.seal()  # type: ignore[attr-defined]
    return v.client.get("/request")


# The sign-in pages, the public request form and the error pages; every other area's pages
# are in tests/pages/visits/ (one module per area, listed in its __init__).
CORE_PAGES: tuple[PageVisit, ...] = (
    PageVisit("login", "GET", "/login", lambda v: v.client.get("/login")),
    PageVisit("login-wrong-password", "POST", "/login", _login_wrong_password, 401),
    PageVisit("login-expired-form", "POST", "/login", _login_expired, 403),
    PageVisit("totp", "GET", "/login/totp", _totp),
    PageVisit("totp-wrong-code", "POST", "/login/totp", _totp_wrong_code, 401),
    PageVisit("enrol", "GET", "/login/enrol", _enrol),
    PageVisit("recovery-codes", "POST", "/login/enrol", _recovery_codes),
    PageVisit("new-password", "GET", "/login/new-password", _new_password),
    PageVisit("new-password-mismatch", "POST", "/login/new-password", _new_password_mismatch, 422),
    PageVisit("new-password-weak", "POST", "/login/new-password", _new_password_weak, 422),
    PageVisit("reauth", "GET", "/account/reauth", _reauth),
    PageVisit("reauth-wrong-password", "POST", "/account/reauth", _reauth_wrong, 401),
    PageVisit("request", "GET", "/request", lambda v: v.client.get("/request")),
    PageVisit("request-errors", "POST", "/request", _request_with_errors, 422),
    PageVisit("request-expired-form", "POST", "/request", _request_expired, 403),
    PageVisit("request-sent", "GET", "/request/sent", lambda v: v.client.get("/request/sent")),
    PageVisit("not-found", "GET", "*", lambda v: v.client.get("/no-such-page"), 404),
    PageVisit(
        "sign-in-first",
        "POST",
        "*",
        lambda v: v.client.post("/account/language", data={"language": "ru"}),
        401,
    ),
    PageVisit("csrf-refused", "POST", "*", _csrf_refused, 403),
    PageVisit("sealed", "GET", "*", _sealed, 503),
)

# Browser-facing GET routes that never render a page of their own, and why.
CORE_NOT_PAGES = {
    "/language/{locale}": "sets the language cookie and redirects (tests/pages/test_language)",
}


def _collect() -> tuple[tuple[PageVisit, ...], dict[str, str]]:
    from tests.pages.visits import AREAS

    pages = list(CORE_PAGES)
    not_pages = dict(CORE_NOT_PAGES)
    for area in AREAS:
        pages.extend(area.PAGES)
        not_pages.update(getattr(area, "NOT_PAGES", {}))
    return tuple(pages), not_pages


PAGES, NOT_PAGES = _collect()
