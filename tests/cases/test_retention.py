"""Data that must not outlive its use: movement plans destroyed after destroy_after (from the
case and its history, by the purge and by the background scheduler, driven by the frozen
clock); closed cases past retention crypto-shredded unless on legal hold; legal hold set by
coordinators only; `haven retention purge` dry by default. Invented people only."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.audit.models import AuditEntry
from app.cases import retention
from app.cases.models import Case
from app.cli import cli
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import upgrade
from app.security.clock import FrozenClock
from tests.cases.conftest import Org
from tests.casework import PERSON, Staff, audit_count, make_staff, new_case
from tests.conftest import ScratchDatabase
from tests.factories import auth, bearer, make_case, make_team

PLAN = "Автобус до Ларса в 06:40, встреча у заправки"


@pytest.fixture
def staff(db: Session, clock: FrozenClock, settings: Settings) -> Staff:
    return make_staff(db, clock=clock, settings=settings)


def _movement(clock: FrozenClock, days: int, plan: str = PLAN) -> dict[str, Any]:
    return {"plan": plan, "destroy_after": (clock.now() + timedelta(days=days)).isoformat()}


def test_months_before_clamps_the_day() -> None:
    t = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert retention.months_before(t, 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert retention.months_before(t, 24) == datetime(2024, 3, 31, 12, tzinfo=UTC)
    assert retention.months_before(t, 3) == datetime(2025, 12, 31, 12, tzinfo=UTC)


def test_movement_destroyed_from_case_and_history_when_due(
    client: TestClient,
    db: Session,
    staff: Staff,
    keyring: Keyring,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    case = new_case(client, staff, **PERSON, movement=_movement(clock, 2, "Первый план"))
    url, cw = f"/api/v1/cases/{case['id']}", staff.h("caseworker")
    patched = client.patch(url, json={"version": 1, "movement": _movement(clock, 2)}, headers=cw)
    assert patched.status_code == 200, patched.text
    clock.advance(timedelta(days=1))
    assert retention.purge_due_movements(db, keyring=keyring, now=clock.now()) == []
    clock.advance(timedelta(days=1, seconds=1))
    assert retention.purge_due_movements(db, keyring=keyring, now=clock.now()) == [
        case["case_code"]
    ]
    db.commit()
    cw = auth(bearer(db, staff.caseworker, clock=clock, settings=settings))  # tokens expired
    got = client.get(url, headers=cw)
    assert got.status_code == 200, got.text
    assert got.json()["movement"] is None
    history = client.get(f"{url}/history", headers=cw)
    assert PLAN not in history.text
    assert "Первый план" not in history.text
    newest = history.json()["items"][0]
    assert newest["fields"] == ["movement"]
    assert newest["actor_id"] is None
    assert newest["changes"]["movement"] == retention.DESTROYED
    db.expire_all()
    row = db.get_one(Case, uuid.UUID(case["id"]))
    assert row.movement_destroy_after is None
    assert audit_count(db, "sys.retention_purged") == 1
    # A writer holding the old version learns that movement changed under them.
    stale = client.patch(url, json={"version": 2, "unit": "other"}, headers=cw)
    assert stale.status_code == 409
    assert "movement" in stale.json()["changed_fields"]


def test_scheduler_destroys_due_plans_in_the_background(
    fresh_db: ScratchDatabase, keyring: Keyring, clock: FrozenClock
) -> None:
    upgrade(fresh_db.url)
    engine = make_engine(fresh_db.url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as db:
        case = make_case(
            db, keyring=keyring, team=make_team(db), values={"movement": _movement(clock, 1)}
        )
    scheduler = retention.MovementPurgeScheduler(
        factory, keyring=keyring, clock=clock, interval=0.02
    )
    scheduler.start()
    try:
        time.sleep(0.1)
        with transaction(factory) as db:
            assert db.get_one(Case, case.id).movement is not None  # not due yet
        clock.advance(timedelta(days=1, minutes=1))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with transaction(factory) as db:
                if db.get_one(Case, case.id).movement is None:
                    break
            time.sleep(0.02)
        with transaction(factory) as db:
            assert db.get_one(Case, case.id).movement is None
    finally:
        scheduler.stop()
        engine.dispose()


def _closed_case(client: TestClient, staff: Staff, *, hold: bool = False) -> dict[str, Any]:
    values = {
        **PERSON,
        "risk_level": "high",
        "consents": [
            {"purpose": "store", "legal_basis": "consent", "given_at": "2026-01-01T10:00:00+00:00"}
        ],
        "outcome": "Reached safety.",
        "closing_note": "Closed after referral.",
    }
    case = new_case(client, staff, **values)
    move = client.post(
        f"/api/v1/cases/{case['id']}/transition",
        json={"to": "closed"},
        headers=staff.h("caseworker"),
    )
    assert move.status_code == 200, move.text
    if hold:
        r = client.patch(
            f"/api/v1/cases/{case['id']}",
            json={"version": move.json()["version"], "legal_hold": True},
            headers=staff.h("coordinator"),
        )
        assert r.status_code == 200, r.text
    return case


def test_closed_cases_past_retention_are_shredded_unless_on_hold(
    client: TestClient, db: Session, staff: Staff, keyring: Keyring, clock: FrozenClock
) -> None:
    kept = _closed_case(client, staff, hold=True)
    gone = _closed_case(client, staff)
    recent_check = retention.plan(db, now=clock.now() + timedelta(days=700), months=24)
    assert recent_check.expired == []
    later = clock.now() + timedelta(days=24 * 31)
    plan = retention.plan(db, now=later, months=24)
    assert plan.expired == [gone["case_code"]]
    assert plan.on_hold == 1
    report = retention.execute(db, keyring=keyring, now=later, months=24, blob_store=None)
    assert report.cases_erased == [gone["case_code"]]
    db.expire_all()
    assert db.get(Case, uuid.UUID(gone["id"])) is None
    assert db.get(Case, uuid.UUID(kept["id"])) is not None
    assert audit_count(db, "case.erased") == 1


def test_only_coordinators_set_legal_hold(client: TestClient, db: Session, staff: Staff) -> None:
    case = new_case(client, staff)
    url = f"/api/v1/cases/{case['id']}"
    r = client.patch(url, json={"version": 1, "legal_hold": True}, headers=staff.h("caseworker"))
    assert r.status_code == 403
    refused = select(AuditEntry.reason_code).where(
        AuditEntry.action == "access.denied", AuditEntry.object_id == case["id"]
    )
    assert list(db.scalars(refused)) == ["lacks:case:legal_hold"]  # recorded, as any refusal
    r = client.patch(url, json={"version": 1, "legal_hold": None}, headers=staff.h("coordinator"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "legal_hold"
    r = client.patch(url, json={"version": 1, "legal_hold": True}, headers=staff.h("coordinator"))
    assert r.status_code == 200
    assert r.json()["legal_hold"] is True
    history = client.get(f"{url}/history", headers=staff.h("coordinator")).json()["items"]
    assert history[0]["fields"] == ["legal_hold"]
    assert audit_count(db, "case.updated") == 1


def test_cli_purge_is_dry_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyring: Keyring
) -> None:
    url = f"sqlite:///{tmp_path}/haven.db"
    for k, v in {
        "HAVEN_DATABASE_URL": url,
        "HAVEN_KEY_FILE": str(tmp_path / "dev-root.key"),
        "HAVEN_BLOB_DIR": str(tmp_path / "blobs"),
        "HAVEN_SEAL_MODE": "dev",
        "HAVEN_RETENTION_MONTHS": "1",
    }.items():
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--seal-mode", "dev"]).exit_code == 0
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    ring = Keyring()
    long_ago = datetime.now(UTC) - timedelta(days=90)
    with transaction(factory) as db:
        ring.unseal_from_key_file(db, tmp_path / "dev-root.key")
        case = make_case(db, keyring=ring, team=make_team(db), now=long_ago)
        case.stage, case.closed_at = "closed", long_ago
        code = case.case_code
    dry = runner.invoke(cli, ["retention", "purge"])
    assert dry.exit_code == 0, dry.output
    assert code in dry.output
    assert "Dry run" in dry.output
    with transaction(factory) as db:
        assert db.get(Case, case.id) is not None
    done = runner.invoke(cli, ["retention", "purge", "--execute"])
    assert done.exit_code == 0, done.output
    assert "crypto-shredded 1 case" in done.output
    with transaction(factory) as db:
        assert db.get(Case, case.id) is None
    engine.dispose()


def test_movement_given_at_intake_leaves_history_when_due(
    client: TestClient,
    db: Session,
    org: Org,
    clock: FrozenClock,
    keyring: Keyring,
    settings: Settings,
) -> None:
    """A plan (a meeting point) recorded with the new case is erased when destroy_after
    passes, from the case and from the first revision GET /history decrypts."""
    plan = "Meet at the north pier, bench 7, Thursday 14:00"
    created = client.post(
        "/api/v1/cases",
        json={"movement": _movement(clock, 1, plan)},
        headers=org.headers["caseworker"],
    )
    assert created.status_code == 201, created.text
    case = db.get(Case, uuid.UUID(created.json()["id"]))
    assert case is not None
    before = client.get(f"/api/v1/cases/{case.id}/history", headers=org.headers["caseworker"])
    assert plan in before.text  # still due tomorrow: the team can read it
    clock.advance(timedelta(days=2))
    assert retention.purge_due_movements(db, keyring=keyring, now=clock.now()) == [case.case_code]
    fresh = auth(bearer(db, org.caseworker, clock=clock, settings=settings))  # two days later
    history = client.get(f"/api/v1/cases/{case.id}/history", headers=fresh)
    assert history.status_code == 200
    assert plan not in history.text, "the destroyed movement plan is still readable in history"
