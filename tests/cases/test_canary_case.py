"""The canary test over the whole case record: a canary in every encrypted field, note and
revision, written through the real API with real commits, is found nowhere at rest: not in
the SQLite file or its WAL/journal, not in PostgreSQL's tables or a pg_dump, not in the logs
or the temporary folder (as UTF-8, UTF-16 or base64)."""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import transaction
from app.main import create_app
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.conftest import ScratchDatabase
from tests.crypto.canary import CANARIES, hits, postgres_contents, scan_files
from tests.factories import auth, bearer, make_team, make_user

A, C = CANARIES  # one ASCII, one Cyrillic
NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC).isoformat()


def canary_case() -> dict[str, Any]:
    """Every encrypted field, and every free-text part of the structured ones, holds a canary."""
    note = f"{A} {C}"
    return {
        "legal_name": f"{C} {A}",
        "aliases": [A, C],
        "date_of_birth": "1991-07-09",
        "languages": ["ru", "uk"],
        "current_city": note,
        "contacts": [
            {"channel": "telegram", "value": f"@{A}"},
            {"channel": "other", "value": note},
        ],
        "service_status": "contract",
        "unit": note,
        "left_service_on": "2025-01-02",
        "criminal_case": {"article": "338", "status": note, "notes": note},
        "wanted": {"status": "national", "notes": note},
        "documents_held": [{"type": "military_id", "notes": note}],
        "family": note,
        "risk_flags": [note],
        "vetting": {"status": "verified", "by": note, "notes": note},
        "consents": [{"purpose": "store", "legal_basis": "consent", "given_at": NOW}],
        "protection": {
            "visa": note,
            "lawyer": note,
            "decision": note,
            "hearings": [{"on": "2026-06-01", "place": note, "notes": note}],
            "deadlines": [{"on": "2026-06-02", "what": note}],
        },
        "movement": {"plan": note, "destroy_after": "2027-01-01T00:00:00+00:00"},
        "intake_notes": note,
        "outcome": note,
        "closing_note": note,
    }


def _exercise(engine: Engine, factory: sessionmaker[Session], settings: Settings) -> None:
    keyring, clock = Keyring(), FrozenClock()
    keyring.unseal_with_root(b"\x05" * 32)
    with transaction(factory) as s:
        team = make_team(s, "Canary team")
        worker = make_user(s, Role.CASEWORKER, teams=[team], keyring=keyring)
        headers = auth(bearer(s, worker, clock=clock, settings=settings))
    app = create_app(settings, engine=engine, session_factory=factory, keyring=keyring, clock=clock)
    with TestClient(app, base_url="https://testserver") as client:
        created = client.post("/api/v1/cases", json=canary_case(), headers=headers)
        assert created.status_code == 201, created.text
        case = created.json()
        assert case["legal_name"] == f"{C} {A}"  # the API does return it to the team
        url = f"/api/v1/cases/{case['id']}"
        patch = {"version": case["version"], "family": f"{C} changed {A}"}
        assert client.patch(url, json=patch, headers=headers).status_code == 200
        assert client.get(f"{url}/history", headers=headers).status_code == 200
        found = client.post("/api/v1/cases/search", json={"name": C}, headers=headers)
        assert found.json()["total"] == 1


def test_case_canaries_appear_nowhere_at_rest(
    committed: tuple[Engine, sessionmaker[Session]],
    fresh_db: ScratchDatabase,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, factory = committed
    settings = settings.model_copy(update={"database_url": fresh_db.url})
    before_tmp = set(Path(tempfile.gettempdir()).iterdir())
    with caplog.at_level(logging.DEBUG):
        _exercise(engine, factory, settings)
    found: list[str] = []
    if fresh_db.path is not None:
        wal = Path(f"{fresh_db.path}-wal")
        assert wal.exists()  # scanned before any checkpoint moves rows into the main file
        found += scan_files([fresh_db.path, wal, Path(f"{fresh_db.path}-journal")])
    else:
        found += hits(postgres_contents(fresh_db, engine))
    new_tmp = set(Path(tempfile.gettempdir()).iterdir()) - before_tmp
    found += scan_files(p for p in new_tmp if p.is_file())
    found += hits("\n".join(r.getMessage() for r in caplog.records).encode())
    assert found == []
