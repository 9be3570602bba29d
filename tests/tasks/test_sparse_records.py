"""Data minimisation with sparse records: the volunteer's view is checked with the case and
the task each full and each nearly empty, so that no default ever pulls a case value into
what a volunteer receives (a task with only a title and instructions shows nothing else)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.cases.test_canary_case import canary_case
from tests.crypto.canary import hits
from tests.factories import auth, bearer, make_team, make_user

CONTRACT = {"id", "case_code", "title", "instructions", "place", "due", "status", "note"}
TITLE, INSTRUCTIONS = "Meet at the station", "Thursday at two by the clock."
FULL_TASK = {"place": "North bus station", "due": "2026-12-20T14:00:00Z"}
CASES: dict[str, dict[str, Any]] = {"full case": canary_case(), "empty case": {}}
TASKS: dict[str, dict[str, Any]] = {"full task": FULL_TASK, "bare task": {}}


@pytest.mark.parametrize("task_kind", list(TASKS))
@pytest.mark.parametrize("case_kind", list(CASES))
def test_the_volunteer_gets_the_task_and_the_code_only(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    case_kind: str,
    task_kind: str,
) -> None:
    team = make_team(db)
    coordinator = make_user(db, Role.COORDINATOR, teams=[team])
    volunteer = make_user(db, Role.VOLUNTEER, teams=[team])
    staff = auth(bearer(db, coordinator, clock=clock, settings=settings))
    made = client.post(
        "/api/v1/cases", json={**CASES[case_kind], "team_id": str(team.id)}, headers=staff
    )
    assert made.status_code == 201, made.text
    case = made.json()
    body = {
        "case_id": case["id"],
        "assigned_to": str(volunteer.id),
        "title": TITLE,
        "instructions": INSTRUCTIONS,
        **TASKS[task_kind],
    }
    task = client.post("/api/v1/tasks", json=body, headers=staff)
    assert task.status_code == 201, task.text

    mine = auth(bearer(db, volunteer, clock=clock, settings=settings))
    listed = client.get("/api/v1/tasks", headers=mine)
    accepted = client.patch(
        f"/api/v1/tasks/{task.json()['id']}", json={"status": "accepted"}, headers=mine
    )
    for r in (listed, accepted):
        assert r.status_code == 200, r.text
        assert not hits(r.content), r.text
        assert case["id"] not in r.text
    (row,) = listed.json()["items"]
    assert set(row) == CONTRACT
    assert (row["title"], row["instructions"], row["case_code"]) == (
        TITLE,
        INSTRUCTIONS,
        case["case_code"],
    )
    if task_kind == "bare task":
        # Nothing filled in from the case (its city, its deadlines): empty stays empty.
        assert (row["place"], row["due"], row["note"]) == (None, None, None)
    else:
        assert row["place"] == FULL_TASK["place"]
    assert set(accepted.json()) == CONTRACT
