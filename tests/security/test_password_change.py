"""Changing one's password proves the current password and TOTP code under the very
sign-in lockout, and is audited, so a stolen token cannot guess the password without limit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.policy.permissions import Role
from app.security import throttle
from app.security.clock import FrozenClock
from tests.factories import PASSWORD, auth, bearer, code_for, make_user

NEW = "amber-kettle-morning-42"


def _actions(db: Session, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_guessing_through_password_change_meets_the_sign_in_lockout(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.CASEWORKER)
    stolen = auth(bearer(db, user, clock=clock, settings=settings))
    statuses = []
    for i in range(throttle.PAIR_MAX_FAILURES + 2):
        r = client.post(
            "/api/v1/me/password",
            json={"current_password": f"guess-{i}-xyz", "new_password": NEW},
            headers=stolen,
        )
        statuses.append(r.status_code)
    assert statuses[: throttle.PAIR_MAX_FAILURES - 1] == [401] * 4
    assert statuses[throttle.PAIR_MAX_FAILURES - 1 :] == [423] * 3
    # Locked means locked: now even the right password and code are refused, here and at
    # sign-in, until the lock passes or a coordinator or admin lifts it.
    right = {"current_password": PASSWORD, "new_password": NEW, "totp": code_for(user, clock)}
    assert client.post("/api/v1/me/password", json=right, headers=stolen).status_code == 423
    token = client.post(
        "/api/v1/auth/token", json={"email": user.email, "password": PASSWORD, "totp": "123456"}
    )
    assert token.status_code == 423
    failed = _actions(db, "auth.password_change_failed")
    assert len(failed) == throttle.PAIR_MAX_FAILURES
    assert {e.actor_id for e in failed} == {user.id}
    assert _actions(db, "auth.account_locked")
    assert not _actions(db, "auth.password_changed")


def test_password_change_needs_the_current_totp_code(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.COORDINATOR)
    token = auth(bearer(db, user, clock=clock, settings=settings))
    body = {"current_password": PASSWORD, "new_password": NEW}
    for code in (None, "000000", code_for(user, clock, offset=5)):
        r = client.post("/api/v1/me/password", json={**body, "totp": code}, headers=token)
        assert r.status_code == 401, code
    reasons = [e.reason_code for e in _actions(db, "auth.password_change_failed")]
    assert reasons == ["totp"] * 3
    ok = client.post(
        "/api/v1/me/password", json={**body, "totp": code_for(user, clock)}, headers=token
    )
    assert ok.status_code == 204
    changed = _actions(db, "auth.password_changed")
    assert [e.actor_id for e in changed] == [user.id]
    # The success cleared the failure count; the new password signs in.
    clock.advance(throttle.WINDOW / 15)
    signed = client.post(
        "/api/v1/auth/token",
        json={"email": user.email, "password": NEW, "totp": code_for(user, clock)},
    )
    assert signed.status_code == 200, signed.text


def test_password_change_guesses_meet_a_lockout_within_eight_tries(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    """Whatever the lockout threshold becomes, eight wrong current passwords through
    POST /me/password end in 423 or 429, never in an endless series of 401s."""
    user = make_user(db, Role.CASEWORKER)
    stolen = auth(bearer(db, user, clock=clock, settings=settings))
    statuses = []
    for i in range(8):
        r = client.post(
            "/api/v1/me/password",
            json={"current_password": f"guess-number-{i}", "new_password": "x" * 20},
            headers=stolen,
        )
        statuses.append(r.status_code)
    assert 423 in statuses or 429 in statuses, f"no lockout after 8 wrong guesses: {statuses}"


def test_a_weak_new_password_is_refused_naming_the_field_and_nothing_changes(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    user = make_user(db, Role.CASEWORKER)
    token = auth(bearer(db, user, clock=clock, settings=settings))
    for weak in ("short-1", "password1234"):  # too short; on the common-passwords list
        body = {"current_password": PASSWORD, "new_password": weak, "totp": code_for(user, clock)}
        r = client.post("/api/v1/me/password", json=body, headers=token)
        assert r.status_code == 422, r.text
        answer = r.json()
        assert answer["code"] == "invalid"
        assert answer["detail"].startswith("new_password: "), answer
        [error] = answer["errors"]
        assert error["field"] == "new_password"
        assert error["message"]
        assert answer["detail"] == f"new_password: {error['message']}"
        assert weak not in r.text  # the refused password is never echoed
        clock.advance(throttle.WINDOW / 15)  # a fresh TOTP step for the next try
    assert not _actions(db, "auth.password_changed")
