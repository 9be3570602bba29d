"""The page /reports and its CSV: who may open it, what it shows, filters typed wrong."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.conftest import StatementCounter
from tests.factories import auth, bearer, make_case, make_team, make_user
from tests.pages.registry import Visitor
from tests.pages.test_canaries import CANARIES, SECRETS
from tests.reports.conftest import Spec, add_cases


def _as(
    db: Session, role: Role, teams: list, clock: FrozenClock, settings: Settings
) -> dict[str, str]:  # type: ignore[type-arg]
    return auth(bearer(db, make_user(db, role, teams=teams), clock=clock, settings=settings))


def test_the_page_shows_suppressed_tables_and_charts(
    client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    team = make_team(db)
    add_cases(
        db, keyring, team, [Spec(moves=[("documentation", 4)]) for _ in range(9)], now=clock.now()
    )
    add_cases(db, keyring, team, [Spec(citizenship="BY", situation="awol")], now=clock.now())
    r = client.get("/reports", headers=_as(db, Role.COORDINATOR, [team], clock, settings))
    assert r.status_code == 200, r.text[:400]
    html = r.text
    assert html.count("<svg") == 9
    assert 'role="img"' in html
    assert "&lt;5" in html
    assert "Belarus" not in html  # one case from there: pooled into "Other countries"
    assert "<script" not in html
    assert ' style="' not in html


def test_wrong_filters_come_back_beside_their_fields(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    headers = _as(db, Role.AUDITOR, [], clock, settings)
    r = client.get("/reports?since=2026-13&until=2026-02&team=nope", headers=headers)
    assert r.status_code == 422
    assert 'id="f-since-error"' in r.text
    assert 'id="f-team-error"' in r.text
    assert 'value="2026-13"' in r.text
    r = client.get("/reports?since=2026-05&until=2026-02", headers=headers)
    assert r.status_code == 422
    assert 'id="f-since-error"' in r.text


def test_roles_and_scope_of_the_page(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    mine, theirs = make_team(db), make_team(db)
    coordinator = _as(db, Role.COORDINATOR, [mine], clock, settings)
    assert client.get(f"/reports?team={theirs.id}", headers=coordinator).status_code == 404
    assert (
        client.get(f"/reports/export.csv?team={theirs.id}", headers=coordinator).status_code == 404
    )
    assert client.get(f"/reports?team={uuid.uuid4()}", headers=coordinator).status_code == 404
    for role in (Role.CASEWORKER, Role.VOLUNTEER):
        headers = _as(db, role, [mine], clock, settings)
        assert client.get("/reports", headers=headers).status_code == 403
        assert client.get("/reports/export.csv", headers=headers).status_code == 403
    r = client.get("/reports", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def test_the_page_runs_as_many_statements_for_many_cases_as_for_few(
    client: TestClient,
    db: Session,
    keyring: Keyring,
    clock: FrozenClock,
    settings: Settings,
    sql_statements: StatementCounter,
) -> None:
    few, many = make_team(db), make_team(db)
    add_cases(db, keyring, few, [Spec()] * 2, now=clock.now())
    add_cases(
        db, keyring, many, [Spec(situation="awol", moves=[("closed", 3)])] * 25, now=clock.now()
    )
    counts = []
    for team in (few, many):
        headers = _as(db, Role.COORDINATOR, [team], clock, settings)
        with sql_statements.counting() as seen:
            assert client.get("/reports", headers=headers).status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1]


def test_the_csv_of_the_page_is_the_tables_it_shows(
    client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    team = make_team(db)
    add_cases(db, keyring, team, [Spec()] * 6, now=clock.now())
    headers = _as(db, Role.COORDINATOR, [team], clock, settings)
    r = client.get("/reports/export.csv?table=citizenship_by_situation", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    rows = r.text.splitlines()[2:]
    assert "citizenship_by_situation,RU,deserted,5,5," in rows
    assert all(line.startswith("citizenship_by_situation,") for line in rows)


def test_no_encrypted_value_reaches_a_report_its_chart_or_its_csv(
    client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    team = make_team(db)
    for _ in range(6):  # enough for the case's categories to be shown, not pooled
        make_case(db, keyring=keyring, team=team, values=CANARIES, now=clock.now())
    coordinator = _as(db, Role.COORDINATOR, [team], clock, settings)
    auditor = _as(db, Role.AUDITOR, [], clock, settings)
    for headers in (coordinator, auditor):
        for url in (
            "/reports",
            "/reports/export.csv",
            "/api/v1/reports/summary",
            "/api/v1/reports/summary?format=csv",
        ):
            r = client.get(url, headers=headers)
            assert r.status_code == 200, url
            leaked = [s for s in SECRETS if s in r.text]
            assert not leaked, (url, leaked)
        assert (
            "5" in client.get("/api/v1/reports/summary", headers=headers).json()["total"]["shown"]
        )


def test_a_stale_session_is_sent_to_sign_in(
    client: TestClient, db: Session, clock: FrozenClock, settings: Settings
) -> None:
    visitor = Visitor(client=client, db=db, clock=clock, locale="en")
    visitor.signed_in(Role.COORDINATOR)
    assert client.get("/reports").status_code == 200
    clock.advance(timedelta(minutes=settings.session_idle_minutes + 1))
    r = client.get("/reports", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
