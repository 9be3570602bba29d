"""Separation of duties: an admin (no case content) cannot make itself a coordinator and
read a case in full, even by re-authenticating and signing in again. Synthetic data only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.security.clock import FrozenClock
from tests.factories import auth, bearer, make_case
from tests.users.conftest import Org

CANARY_NAME = "Zakhar Revizorov"


def test_admin_cannot_promote_itself_into_case_content(
    client: TestClient,
    db: Session,
    org: Org,
    keyring: Keyring,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    """An admin PATCHes its OWN account to coordinator of team A, signs in again and asks for
    a case of that team: the change is refused, and the legal name never reaches it."""
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
