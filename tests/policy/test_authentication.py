"""Who is signed in, below every route's permission: only a session at its last stage
(every factor proven) signs a request in, and only when it is presented the way it was
issued — a browser's cookie as a cookie, a bearer token in the Authorization header. A
session waiting for its TOTP code, for enrolment or for a new password, or a token carried
the other way, is nobody (401), whichever route it asks for."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.policy.permissions import Role
from app.security import sessions
from app.security.clock import FrozenClock
from app.security.models import CredentialKind, SessionStage
from tests.factories import make_team, make_user

ROUTE = "/api/v1/cases"  # any signed-in route: a coordinator's case list


def _issued(
    db: Session, clock: FrozenClock, settings: Settings, kind: CredentialKind, stage: SessionStage
) -> str:
    user = make_user(db, Role.COORDINATOR, teams=[make_team(db)])
    issued = sessions.create(
        db, user_id=user.id, kind=kind, stage=stage, now=clock.now(), settings=settings
    )
    db.commit()
    return issued.token


def _as_cookie(client: TestClient, settings: Settings, token: str) -> int:
    cookie = f"{sessions.cookie_name(settings)}={token}"
    return client.get(ROUTE, headers={"Cookie": cookie}).status_code


def _as_bearer(client: TestClient, token: str) -> int:
    return client.get(ROUTE, headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.mark.parametrize("kind", list(CredentialKind))
def test_a_full_session_signs_in_only_the_way_it_was_issued(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings, kind: CredentialKind
) -> None:
    token = _issued(db, clock, settings, kind, SessionStage.FULL)
    as_cookie, as_bearer = _as_cookie(client, settings, token), _as_bearer(client, token)
    if kind is CredentialKind.COOKIE:
        assert (as_cookie, as_bearer) == (200, 401)
    else:
        assert (as_cookie, as_bearer) == (401, 200)


@pytest.mark.parametrize("stage", [s for s in SessionStage if s is not SessionStage.FULL])
@pytest.mark.parametrize("kind", list(CredentialKind))
def test_a_session_short_of_its_last_factor_signs_nobody_in(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    kind: CredentialKind,
    stage: SessionStage,
) -> None:
    token = _issued(db, clock, settings, kind, stage)
    assert _as_cookie(client, settings, token) == 401
    assert _as_bearer(client, token) == 401
