"""GET /api/v1/reports/summary: who may ask, what scope they get, what it answers."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.config import Settings
from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.factories import auth, bearer, make_team, make_user
from tests.reports.conftest import Spec, add_cases


def _headers(
    db: Session, role: Role, teams: list, clock: FrozenClock, settings: Settings
) -> dict[str, str]:  # type: ignore[type-arg]
    return auth(bearer(db, make_user(db, role, teams=teams), clock=clock, settings=settings))


def test_summary_counts_the_coordinators_teams_only(
    client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    a, b = make_team(db), make_team(db)
    add_cases(db, keyring, a, [Spec() for _ in range(12)], now=clock.now())
    add_cases(db, keyring, b, [Spec(citizenship="BY") for _ in range(30)], now=clock.now())
    coordinator = _headers(db, Role.COORDINATOR, [a], clock, settings)
    r = client.get("/api/v1/reports/summary", headers=coordinator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == {"value": 10, "shown": "10", "hidden": None}
    citizenship = {
        row["key"]: row["shown"]
        for row in next(t for t in body["tables"] if t["name"] == "citizenship")["rows"]
    }
    assert citizenship == {"RU": "10", "other": "<5", "unknown": "<5"}
    # Another team's id is out of scope: 404, like a case, and recorded like one.
    r = client.get(f"/api/v1/reports/summary?team={b.id}", headers=coordinator)
    assert r.status_code == 404
    denied = select(AuditEntry).where(
        AuditEntry.action == AuditAction.ACCESS_DENIED.value, AuditEntry.object_id == str(b.id)
    )
    assert [(e.reason_code, e.object_type) for e in db.scalars(denied)] == [
        ("out_of_scope", "team")
    ]


def test_auditor_and_admin_count_every_team_and_any_one(
    client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    a, b = make_team(db), make_team(db)
    add_cases(db, keyring, a, [Spec() for _ in range(12)], now=clock.now())
    add_cases(db, keyring, b, [Spec(citizenship="BY") for _ in range(30)], now=clock.now())
    for role in (Role.AUDITOR, Role.ADMIN):
        headers = _headers(db, role, [], clock, settings)
        whole = client.get("/api/v1/reports/summary", headers=headers).json()
        assert whole["total"]["value"] == 40
        one = client.get(f"/api/v1/reports/summary?team={b.id}", headers=headers).json()
        assert one["total"]["value"] == 30
        assert (
            client.get(f"/api/v1/reports/summary?team={uuid.uuid4()}", headers=headers).status_code
            == 404
        )


def test_roles_without_report_read_are_refused(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    team = make_team(db)
    for role in (Role.CASEWORKER, Role.VOLUNTEER):
        r = client.get(
            "/api/v1/reports/summary", headers=_headers(db, role, [team], clock, settings)
        )
        assert r.status_code == 403
    assert client.get("/api/v1/reports/summary").status_code == 401


def test_bad_filters_answer_422_naming_the_field(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    headers = _headers(db, Role.AUDITOR, [], clock, settings)
    for query in (
        "since=2026-13",
        "until=yesterday",
        "since=2026-05&until=2026-01",
        "since=2000-01&until=2026-01",
    ):
        r = client.get(f"/api/v1/reports/summary?{query}", headers=headers)
        assert r.status_code == 422, query


def test_csv_is_formula_neutral_and_the_export_audited(
    client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    team = make_team(db)
    add_cases(db, keyring, team, [Spec() for _ in range(7)], now=clock.now())
    headers = _headers(db, Role.AUDITOR, [], clock, settings)
    r = client.get("/api/v1/reports/summary?format=csv&since=2026-01", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0] == "table,row,column,shown,value,hidden"
    assert "total,,,5,5," in lines
    assert "stage,intake,,5,5," in lines
    assert "stage,closed,,<5,,small" in lines
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.action.like("report.%"))).all()
    assert AuditAction.REPORT_EXPORTED.value in actions
    one = client.get("/api/v1/reports/summary?format=csv&table=need", headers=headers).text
    assert {line.split(",")[0] for line in one.splitlines()[2:]} == {"need"}
    assert (
        client.get("/api/v1/reports/summary?format=csv&table=nope", headers=headers).status_code
        == 422
    )
