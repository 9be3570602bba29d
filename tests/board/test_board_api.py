"""GET /api/v1/board and POST /api/v1/cases/{id}/vetting: the triage board and a request's
judgement as JSON, from the same services as the pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases import record as rec
from app.cases import service as case_service
from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.intake.service import SOURCE
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import User
from tests.factories import auth, bearer, make_case, make_team, make_user


@dataclass
class TeamWorld:
    """A coordinator's team with a new request and a case waiting; another team's case."""

    coordinator: User
    request: Case
    waiting: Case
    theirs: Case


@pytest.fixture
def team_world(db: Session, keyring: Keyring, clock: FrozenClock) -> TeamWorld:
    """A team with a coordinator, a new request and an unassigned case; another team's case."""
    team = make_team(db)
    request = case_service.create_case(
        db, keyring=keyring, actor=None, team_id=team.id, now=clock.now(), source=SOURCE,
        values=case_service.validate_fields(
            {"aliases": ["Лесник"], "vetting": {"status": "unverified"}}
        ),
    )  # fmt: skip
    return TeamWorld(
        coordinator=make_user(db, Role.COORDINATOR, teams=[team]),
        request=request,
        waiting=make_case(db, keyring=keyring, team=team),
        theirs=make_case(db, keyring=keyring, team=make_team(db)),
    )


def _headers(db: Session, user: User, clock: FrozenClock, settings: Settings) -> dict[str, str]:
    return auth(bearer(db, user, clock=clock, settings=settings))


def test_the_board_as_json(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    team_world: TeamWorld,
) -> None:
    r = client.get("/api/v1/board", headers=_headers(db, team_world.coordinator, clock, settings))
    assert r.status_code == 200
    body = r.json()
    codes = [c["case_code"] for c in body["requests"]]
    assert codes == [team_world.request.case_code]
    assert body["requests"][0]["vetting"] == "unverified"
    assert [c["case_code"] for c in body["unassigned"]] == [team_world.waiting.case_code]
    assert body["stages"]["intake"] == 2
    assert team_world.theirs.case_code not in r.text
    assert "Лесник" not in r.text


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.VOLUNTEER, Role.ADMIN, Role.AUDITOR])
def test_only_coordinators_have_a_board(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings, role: Role
) -> None:
    user = make_user(db, role, teams=[make_team(db)] if role is not Role.ADMIN else [])
    r = client.get("/api/v1/board", headers=_headers(db, user, clock, settings))
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"


def test_judging_a_request(
    client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings,
    team_world: TeamWorld,
) -> None:  # fmt: skip
    headers = _headers(db, team_world.coordinator, clock, settings)
    case = team_world.request
    url = f"/api/v1/cases/{case.id}/vetting"
    stale = client.post(url, json={"status": "verified", "version": 99}, headers=headers)
    assert stale.status_code == 409
    r = client.post(url, json={"status": "verified", "version": 1}, headers=headers)
    assert r.status_code == 200, r.text
    db.refresh(case)
    vetting = rec.read(case, rec.case_key(db, keyring=keyring, case=case), ["vetting"])["vetting"]
    assert vetting["status"] == "verified"
    assert vetting["by"]
    assert (
        client.post(url, json={"status": "maybe", "version": 2}, headers=headers).status_code == 422
    )
    for other in (team_world.theirs.id, uuid.uuid4()):
        r = client.post(
            f"/api/v1/cases/{other}/vetting",
            json={"status": "verified", "version": 1},
            headers=headers,
        )
        assert r.status_code == 404


def test_the_api_names_the_reauthentication_call(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings, team_world: TeamWorld
) -> None:
    """A page says what to do in plain words; the API names the call that re-authenticates."""
    token = bearer(db, team_world.coordinator, clock=clock, settings=settings, reauth=False)
    r = client.post(f"/api/v1/access-requests/{uuid.uuid4()}/approve", headers=auth(token))
    assert r.status_code == 403
    assert r.json()["code"] == "reauth_required"
    assert "POST /api/v1/auth/reauth" in r.json()["detail"]
