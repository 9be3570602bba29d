"""The seal panic button: coordinators and admins only, audited, ends every session."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.factories import auth, bearer, make_user


def test_only_coordinators_and_admins_seal(
    app: FastAPI, client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    for role in (Role.CASEWORKER, Role.VOLUNTEER, Role.AUDITOR):
        token = bearer(db, make_user(db, role), clock=clock, settings=settings)
        assert client.post("/api/v1/sys/seal", headers=auth(token)).status_code == 403
        assert not app.state.keyring.sealed
    assert client.post("/api/v1/sys/seal").status_code == 401
    admin = make_user(db, Role.ADMIN)
    r = client.post(
        "/api/v1/sys/seal", headers=auth(bearer(db, admin, clock=clock, settings=settings))
    )
    assert r.status_code == 200
    assert app.state.keyring.sealed
    sealed = db.scalars(select(AuditEntry).where(AuditEntry.action == "sys.sealed")).all()
    assert [e.actor_role for e in sealed if e.actor_id == admin.id] == ["admin"]
    assert client.get("/api/v1/sys/health").json()["sealed"] is True
