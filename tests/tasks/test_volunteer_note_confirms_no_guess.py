"""A volunteer's own note cannot confirm guesses about the person behind a task: were it run
through the person-specific leak guard, whose 422 says which kind of identifier matched, a
phished or planted volunteer could test guesses ("is the person behind HV-... called
Przhevaltsev? born 1991-07-23?") against the decrypted case, without limit and without an
audit entry. Invented people only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.security.clock import FrozenClock
from tests.casework import Staff, make_staff, new_case

TASK = {
    "title": "Meet at the railway station",
    "instructions": "Thursday 14:00 under the clock; bring a SIM card.",
}


@pytest.fixture
def staff(db: Session, clock: FrozenClock, settings: Settings) -> Staff:
    return make_staff(db, clock=clock, settings=settings)


@pytest.fixture
def task_url(client: TestClient, staff: Staff) -> str:
    case: dict[str, Any] = new_case(client, staff)
    body = {"case_id": case["id"], "assigned_to": str(staff.volunteer.id), **TASK}
    r = client.post("/api/v1/tasks", json=body, headers=staff.h("caseworker"))
    assert r.status_code == 201, r.text
    return f"/api/v1/tasks/{r.json()['id']}"


@pytest.mark.parametrize(
    ("right", "wrong"),
    [
        ("He said he is Przhevaltsev", "He said he is Kuznetsov"),  # surname guess
        ("Birthday 23.07.1991, he says", "Birthday 24.07.1991, he says"),  # birth date guess
        ("His nick is sevazhuk_tg", "His nick is ivanov_tg"),  # handle guess
    ],
)
def test_volunteer_note_does_not_confirm_guesses(
    client: TestClient, staff: Staff, task_url: str, right: str, wrong: str
) -> None:
    vol = staff.h("volunteer")
    hit = client.patch(task_url, json={"note": right}, headers=vol)
    miss = client.patch(task_url, json={"note": wrong}, headers=vol)
    # The answer to a right guess must not differ from the answer to a wrong one.
    assert (hit.status_code, hit.json().get("code")) == (miss.status_code, miss.json().get("code"))
