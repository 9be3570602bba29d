"""Review findings on access control, proven by attacking them (synthetic data only).

Each test FAILS on the reviewed code and passes once the finding is fixed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.cases.retention import purge_due_movements
from app.config import Settings
from app.crypto.keyring import Keyring
from app.security.clock import FrozenClock
from tests.cases.conftest import Org
from tests.factories import auth, bearer, make_case

CANARY_NAME = "Zakhar Revizorov"


def test_admin_cannot_promote_itself_into_case_content(
    client: TestClient,
    db: Session,
    org: Org,
    keyring: Keyring,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    """F1: an admin (no case content, by separation of duties) re-authenticates, PATCHes its
    OWN account to coordinator of team A, signs in again and reads a case in full."""
    case = make_case(db, keyring=keyring, team=org.team_a, values={"legal_name": CANARY_NAME})
    patched = client.patch(
        f"/api/v1/users/{org.admin.id}",
        json={"role": "coordinator", "team_ids": [str(org.team_a.id)]},
        headers=org.headers["admin"],
    )
    if patched.status_code == 200:
        # The role change ended the admin's sessions; it simply signs in again.
        token = bearer(db, org.admin, clock=clock, settings=settings)
        got = client.get(f"/api/v1/cases/{case.id}", headers=auth(token))
        assert CANARY_NAME not in got.text, "admin promoted itself and read the legal name"
    assert patched.status_code in (403, 409, 422), "an admin may change its own role"


def test_movement_plan_does_not_outlive_its_destroy_after_in_history(
    client: TestClient,
    db: Session,
    org: Org,
    clock: FrozenClock,
    keyring: Keyring,
    settings: Settings,
) -> None:
    """F4: the movement plan (a meeting point) must be erased when destroy_after passes,
    from the case and from every encrypted revision GET /history decrypts."""
    plan = "Meet at the north pier, bench 7, Thursday 14:00"
    created = client.post(
        "/api/v1/cases",
        json={
            "movement": {
                "plan": plan,
                "destroy_after": (clock.now() + timedelta(days=1)).isoformat(),
            }
        },
        headers=org.headers["caseworker"],
    )
    assert created.status_code == 201, created.text
    case = db.get(Case, uuid.UUID(created.json()["id"]))
    assert case is not None
    before = client.get(f"/api/v1/cases/{case.id}/history", headers=org.headers["caseworker"])
    assert plan in before.text  # still due tomorrow: the team can read it
    clock.advance(timedelta(days=2))
    assert purge_due_movements(db, keyring=keyring, now=clock.now()) == [case.case_code]
    fresh = auth(bearer(db, org.caseworker, clock=clock, settings=settings))  # two days later
    history = client.get(f"/api/v1/cases/{case.id}/history", headers=fresh)
    assert history.status_code == 200
    assert plan not in history.text, "the destroyed movement plan is still readable in history"


def test_password_change_is_throttled(client: TestClient, org: Org) -> None:
    """F7 (medium): with a stolen session or token, the current password can be guessed
    through POST /me/password without ever meeting the sign-in lockout (nor an audit entry)."""
    statuses = []
    for i in range(8):
        r = client.post(
            "/api/v1/me/password",
            json={"current_password": f"guess-number-{i}", "new_password": "x" * 20},
            headers=org.headers["caseworker"],
        )
        statuses.append(r.status_code)
    assert 423 in statuses or 429 in statuses, f"no lockout after 8 wrong guesses: {statuses}"


def test_oversized_unauthenticated_body_is_refused_early(client: TestClient) -> None:
    """F10 (medium): no request-size limit: an anonymous 32 MiB JSON body is read whole into
    memory (and parsed) before anything refuses it."""
    body = b'{"email": "a@example.invalid", "password": "' + b"p" * (32 * 1024 * 1024) + b'"}'
    r = client.post(
        "/api/v1/auth/token", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413, r.status_code
