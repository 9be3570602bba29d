"""`/` is where each role's day starts: signed out, the sign-in page; signed in, the role's
own home (app.web.HOME) once this app serves it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.web import HOME, home_of
from tests.pages.registry import Visitor


@pytest.fixture
def v(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    """A browser in English."""
    return Visitor(client=client, db=db, clock=clock, locale="en")


def test_signed_out_goes_to_sign_in(v: Visitor) -> None:
    r = v.client.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def test_the_coordinator_starts_on_the_board(v: Visitor) -> None:
    v.signed_in(Role.COORDINATOR)
    r = v.client.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/board"


@pytest.mark.parametrize("role", list(Role))
def test_every_role_goes_home_or_sees_the_start_page(v: Visitor, app: FastAPI, role: Role) -> None:
    v.signed_in(role)
    r = v.client.get("/", follow_redirects=False)
    if home_of(app, role) is None:  # that area's page is not part of this app yet
        assert r.status_code == 200
        assert "Sign out" in r.text
    else:
        assert r.status_code == 303
        assert r.headers["location"] == HOME[role]


def test_a_home_this_app_does_not_serve_is_not_offered(app: FastAPI) -> None:
    assert home_of(app, Role.COORDINATOR) == "/board"
    served = {ctx.path for ctx in iter_route_contexts(app.routes)}
    for role, target in HOME.items():
        assert (home_of(app, role) is not None) is (target.split("?")[0] in served)
