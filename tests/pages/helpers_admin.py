"""Helpers of the admin's page tests: a browser signed in as a role, form posts, and the
checks an error beside its field needs."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import User
from tests.pages.registry import Visitor

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    """An English-speaking browser on the test client."""
    client.headers["accept-language"] = "en"
    return Visitor(client=client, db=db, clock=clock, locale="en")


def sign_in(v: Visitor, role: Role) -> tuple[User, str]:
    """A signed-in person of role and the session's CSRF token."""
    user = v.signed_in(role)
    page = v.client.get("/account")
    match = CSRF.search(page.text)
    assert match, page.text[:300]
    return user, match.group(1)


def post(v: Visitor, url: str, csrf: str | None, **data: str) -> httpx.Response:
    """A form post (with the token unless csrf is None), redirects not followed."""
    if csrf is not None:
        data["csrf_token"] = csrf
    return v.client.post(url, data=data, follow_redirects=False)


def error_beside(html: str, field: str) -> str:
    """The error message beside a field (its input names it with aria-describedby)."""
    error = re.search(rf'<strong id="f-{field}-error"[^>]*>([^<]+)</strong>', html)
    assert error, f"no error beside {field}"
    control = re.search(rf'id="f-{field}"[^>]*aria-describedby="([^"]+)"', html, re.S)
    assert control, f"no control {field}"
    assert f"f-{field}-error" in control.group(1), f"{field} does not name its error"
    return error.group(1).strip()
