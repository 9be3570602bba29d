"""Who is signed in, below every route's permission: only a session at its last stage
(every factor proven) signs a request in, and only when it is presented the way it was
issued — a browser's cookie as a cookie, a bearer token in the Authorization header. A
session waiting for its TOTP code, for enrolment or for a new password, or a token carried
the other way, is nobody (401), whichever route it asks for."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.config import Settings
from app.i18n.negotiation import viewer_of
from app.policy.deps import authenticate
from app.policy.permissions import Role
from app.security import csrf, sessions
from app.security.clock import FrozenClock
from app.security.models import AuthSession, CredentialKind, SessionStage
from app.users.models import shown_name
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


@pytest.mark.parametrize("kind", list(CredentialKind))
def test_the_caller_is_known_by_how_they_signed_in(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings, kind: CredentialKind
) -> None:
    """Ending "the credential this request was made with" ends that session and no other,
    records a sign-out for a browser and a revoked token for a script, and tells only the
    browser to drop its cookie: the signed-in caller carries its session and how it came."""
    user = make_user(db, Role.COORDINATOR, teams=[make_team(db)])
    made = [
        sessions.create(db, user_id=user.id, kind=kind, stage=SessionStage.FULL,
                        now=clock.now(), settings=settings)
        for _ in range(2)
    ]  # fmt: skip
    db.commit()
    used, other = made
    used_id, other_id = used.session.id, other.session.id
    if kind is CredentialKind.COOKIE:
        headers = {
            "Cookie": f"{sessions.cookie_name(settings)}={used.token}",
            csrf.HEADER: used.session.csrf_token or "",
        }
    else:
        headers = {"Authorization": f"Bearer {used.token}"}
    r = client.delete("/api/v1/auth/token", headers=headers)
    assert r.status_code == 204, r.text
    cleared = sessions.cookie_name(settings) in r.headers.get("set-cookie", "")
    assert cleared is (kind is CredentialKind.COOKIE)
    db.expire_all()
    left = set(db.scalars(select(AuthSession.id).where(AuthSession.user_id == user.id)))
    assert left == {other_id}
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.actor_id == user.id).order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None
    want = AuditAction.SIGN_OUT if kind is CredentialKind.COOKIE else AuditAction.TOKEN_REVOKED
    assert (entry.action, entry.object_id) == (want.value, str(used_id))


@pytest.mark.parametrize("kind", list(CredentialKind))
def test_what_the_pages_are_told_of_the_caller_comes_from_their_own_session(
    db: Session, clock: FrozenClock, settings: Settings, kind: CredentialKind
) -> None:
    """The page layer renders in the caller's language, shows their role and name, and puts
    their session's CSRF token in every form: each read from the signed-in account and its
    session row. A script (bearer token) has no forms, so it is given no CSRF token."""
    user = make_user(db, Role.CASEWORKER, teams=[make_team(db)])
    user.language = "uk"
    issued = sessions.create(
        db, user_id=user.id, kind=kind, stage=SessionStage.FULL, now=clock.now(), settings=settings
    )
    db.flush()
    if kind is CredentialKind.COOKIE:
        headers = [(b"cookie", f"{sessions.cookie_name(settings)}={issued.token}".encode())]
    else:
        headers = [(b"authorization", f"Bearer {issued.token}".encode())]
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, clock=clock))
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "app": app}
    request = Request(scope)
    found = authenticate(request, db)
    assert found is not None
    row, who = found
    assert who.id == user.id
    viewer = viewer_of(request)
    assert viewer is not None
    token = row.csrf_token if kind is CredentialKind.COOKIE else None
    assert kind is CredentialKind.BEARER or token
    assert (viewer.language, viewer.csrf_token, viewer.role, viewer.name) == (
        "uk",
        token,
        Role.CASEWORKER.value,
        shown_name(user),
    )
