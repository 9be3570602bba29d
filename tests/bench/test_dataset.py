"""bench/dataset.py makes real data: a log that verifies, cases that decrypt and list and
are found by name through the API, and history, tasks, documents and audit entries in the
proportions the generator promises (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry, AuditLeaf
from app.audit.service import verify
from app.cases import record as rec
from app.cases.models import Case, CaseDeadline, CaseIndex, CaseRevision, StageChange
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker
from app.documents.models import Document
from app.main import create_app
from app.migrate import upgrade
from app.security import totp
from app.tasks.models import Task
from bench import dataset
from bench.dataset import Dataset
from tests.conftest import BACKENDS, POSTGRES_URL, new_database

CASES = 300


@pytest.fixture(scope="module", params=BACKENDS)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dataset]:
    """A 300-case dataset of its own (its own PostgreSQL database), removed afterwards."""
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip("PostgreSQL tests skipped: HAVEN_TEST_POSTGRES_URL is not set")
    root = tmp_path_factory.mktemp("datasets")
    ds = dataset.ensure(request.param, CASES, root)
    yield ds
    dataset.remove(request.param, CASES, root)


def _settings(ds: Dataset) -> Settings:
    values: dict[str, Any] = {k.removeprefix("HAVEN_").lower(): v for k, v in ds.env.items()}
    values |= {
        "audit_checkpoint_poll_seconds": 0,
        "seal_follow_poll_seconds": 0,
        "movement_purge_poll_seconds": 0,
    }
    return Settings(**values)


@pytest.fixture(scope="module")
def client(built: Dataset) -> Iterator[TestClient]:
    """The app on the dataset, unsealed from the dataset's dev key file."""
    settings = _settings(built)
    engine = make_engine(settings.database_url)
    keyring = Keyring()
    with make_sessionmaker(engine)() as db:
        keyring.unseal_from_key_file(db, settings.key_file)
    app = create_app(settings, engine=engine, keyring=keyring)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c
    engine.dispose()


def _sign_in(client: TestClient, ds: Dataset, role: str) -> dict[str, str]:
    acc = ds.accounts[role]
    body: dict[str, Any] = {"email": acc.email, "password": acc.password}
    if acc.totp_secret is not None:
        body["totp"] = totp.code_at(acc.totp_secret, totp.current_step(datetime.now(UTC)))
    got = client.post("/api/v1/auth/token", json=body)
    assert got.status_code == 200, got.text
    return {"Authorization": f"Bearer {got.json()['access_token']}"}


def test_the_audit_log_verifies(built: Dataset) -> None:
    settings = _settings(built)
    engine = make_engine(settings.database_url)
    keyring = Keyring()
    try:
        with make_sessionmaker(engine)() as db:
            keyring.unseal_from_key_file(db, settings.key_file)
            report = verify(db, keyring=keyring, settings=settings)
            entries = db.scalar(select(func.count()).select_from(AuditEntry))
            leaves = db.scalar(select(func.count()).select_from(AuditLeaf))
    finally:
        engine.dispose()
    assert report["ok"] is True, report
    assert report["entries"] == entries == leaves
    assert entries > 5 * CASES


def test_cases_read_list_and_are_found_through_the_api(built: Dataset, client: TestClient) -> None:
    coordinator = _sign_in(client, built, "coordinator")
    case_id = built.sample_case_ids[-1]
    got = client.get(f"/api/v1/cases/{case_id}", headers=coordinator)
    assert got.status_code == 200, got.text
    case = got.json()
    assert re.search(r"[А-Яа-яІіЎў]", case["legal_name"])  # decrypted: a Cyrillic name
    assert case["aliases"]
    assert case["contacts"][0]["value"].split(".")[0].endswith("_demo")
    listed = client.get("/api/v1/cases?per_page=50", headers=coordinator)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert len(page["items"]) == 50
    assert 0 < page["total"] < CASES  # the coordinator's team only
    # A name search by a generated person's whole name finds that person.
    name = built.search_names[0]
    found = client.post("/api/v1/cases/search", json={"name": name}, headers=coordinator)
    assert found.status_code == 200, found.text
    assert str(built.sample_case_ids[0]) in {c["id"] for c in found.json()["items"]}
    dup = client.post("/api/v1/cases/duplicates", json=built.duplicate_probe, headers=coordinator)
    assert dup.status_code == 200, dup.text
    assert built.sample_case_ids[0] in {c["id"] for c in dup.json()["matches"]}
    # The caseworker reads a case assigned to them (the first samples are theirs).
    caseworker = _sign_in(client, built, "caseworker")
    mine = client.get(f"/api/v1/cases/{built.sample_case_ids[0]}", headers=caseworker)
    assert mine.status_code == 200, mine.text
    assert mine.json()["legal_name"] == name
    # The volunteer (no TOTP) signs in and sees tasks; the auditor reads the log.
    volunteer = _sign_in(client, built, "volunteer")
    assert client.get("/api/v1/tasks", headers=volunteer).status_code == 200
    auditor = _sign_in(client, built, "auditor")
    verified = client.get("/api/v1/audit/verify", headers=auditor)
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True


def _count(db: Session, model: Any, *where: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_counts_per_table_match_the_proportions(built: Dataset) -> None:
    engine = make_engine(built.env["HAVEN_DATABASE_URL"])
    try:
        with make_sessionmaker(engine)() as db:
            cases = list(db.scalars(select(Case)))
            n = len(cases)
            stages = Counter(c.stage for c in cases)
            moves = _count(db, StageChange, StageChange.from_stage.is_not(None))
            revisions = _count(db, CaseRevision)
            actions = Counter(db.scalars(select(AuditEntry.action)))
            tasks, documents = _count(db, Task), _count(db, Document)
            indexes, dates = _count(db, CaseIndex), _count(db, CaseDeadline)
            teams = Counter(c.team_id for c in cases)
            months = {(c.created_at.year, c.created_at.month) for c in cases}
            versions = dict(
                db.execute(
                    select(CaseRevision.case_id, func.count()).group_by(CaseRevision.case_id)
                ).all()
            )
    finally:
        engine.dispose()
    assert n == CASES
    # The structure: each case's history is whole, and every event has its audit entry.
    assert _stage_changes_total(engine_url=built.env["HAVEN_DATABASE_URL"]) == n + moves
    assert all(versions[c.id] == c.version for c in cases)
    updates = revisions - n - moves
    assert actions["case.created"] == n
    assert actions["case.transitioned"] == moves
    assert actions["case.updated"] == updates
    assert actions["task.created"] == tasks
    assert actions["document.uploaded"] == documents
    past_intake = n - stages["intake"]
    # The proportions (bench/README.md), with room for 300 cases' chance.
    assert 0.55 < stages["closed"] / n < 0.9
    assert stages.keys() == {"intake", "documentation", "referral", "closed"}
    assert 0.25 < tasks / past_intake < 0.55
    assert 0.75 < documents / past_intake < 1.25
    assert 0.8 < actions["case.read"] / n < 1.4
    assert 6 < sum(actions.values()) / n < 9
    assert 4 <= indexes / n <= 9  # name words in two scripts, birth date, handle
    assert dates == 2 * (stages["documentation"] + stages["referral"])
    assert len(teams) == len(dataset.TEAM_WEIGHTS)
    assert max(teams.values()) > 3 * min(teams.values())  # teams of different sizes
    assert len(months) >= 15


def _stage_changes_total(engine_url: str) -> int:
    engine = make_engine(engine_url)
    try:
        with make_sessionmaker(engine)() as db:
            return _count(db, StageChange)
    finally:
        engine.dispose()


def test_the_dataset_is_cached_and_keyed_on_schema_and_generator(built: Dataset) -> None:
    root = Path(built.env["HAVEN_KEY_FILE"]).parent.parent
    again = dataset.ensure(built.backend, CASES, root)
    assert again == built  # the same accounts and samples: nothing was rebuilt
    paths = dataset._paths(built.backend, CASES, root)
    key = dataset.cache_key()
    assert dataset._cached(built.backend, CASES, paths, key) == built
    # Another schema, catalogue or generator (another key) is not this dataset.
    assert dataset._cached(built.backend, CASES, paths, key[::-1]) is None
    # The manifest says where the build's serial tail went, step by step.
    finish = json.loads(paths["manifest"].read_text())["finish_seconds"]
    assert set(finish) == {"checkpoint", "report counts", "statistics"}
    assert all(seconds >= 0 for seconds in finish.values())


def test_sample_cases_decrypt_with_the_record_module(built: Dataset) -> None:
    settings = _settings(built)
    engine = make_engine(settings.database_url)
    keyring = Keyring()
    try:
        with make_sessionmaker(engine)() as db:
            keyring.unseal_from_key_file(db, settings.key_file)
            for case_id in built.sample_case_ids[:20]:
                case = db.get_one(Case, uuid.UUID(case_id))
                fields = rec.read(case, rec.case_key(db, keyring=keyring, case=case))
                assert fields["legal_name"]
                assert fields["date_of_birth"]
                if case.stage != "intake":
                    assert fields["consents"][0]["purpose"] == "store"
    finally:
        engine.dispose()


def _where(text: str) -> str:
    """A partial index's condition without PostgreSQL's casts and brackets: rebuilt from
    its own definition it is spelled again (`ARRAY[('open'::character varying)::text]` for
    `(ARRAY['open'::character varying])::text[]`), the same condition."""
    return re.sub(r"::[a-z ]+(\[\])?|[()\s]", "", text)


def _comparable(index: Any) -> dict[str, str]:
    """A reflected index as text: a partial index's WHERE is reflected as a clause object,
    equal to another reflection of it only as text."""
    options = {key: _where(str(value)) for key, value in index.get("dialect_options", {}).items()}
    return {
        key: str(value)
        for key, value in sorted((dict(index) | {"dialect_options": options}).items())
    }


def test_the_schema_is_the_migrations_and_every_reference_holds(
    built: Dataset, tmp_path: Path
) -> None:
    """The generator drops indexes and foreign-key checks while it loads: afterwards the
    indexes are exactly those the migrations make, and no row points at nothing."""
    fresh = new_database(built.backend, tmp_path)
    engines: tuple[Engine, ...] = ()
    try:
        upgrade(fresh.url)
        engines = make_engine(fresh.url), make_engine(built.env["HAVEN_DATABASE_URL"])
        tables = [*dataset.COLUMNS, "audit_entries", "audit_leaves"]
        with warnings.catch_warnings():
            # SQLite's reflection skips an index on an expression (the task list's
            # `(due IS NULL)`, app/tasks/models.py), on both sides alike.
            warnings.filterwarnings("ignore", message=r".*expression-based index")
            want, got = (
                {t: sorted(map(_comparable, inspect(e).get_indexes(t)), key=str) for t in tables}
                for e in engines
            )
        assert got == want
        with engines[1].connect() as conn:
            for table in dataset.TABLES.values():
                for fk in table.foreign_keys:
                    parent = fk.column.table
                    orphans = conn.execute(
                        select(func.count())
                        .select_from(table.outerjoin(parent, fk.parent == fk.column))
                        .where(fk.parent.is_not(None), fk.column.is_(None))
                    ).scalar_one()
                    assert orphans == 0, f"{table.name}.{fk.parent.name}"
    finally:
        # Also when an assertion fails: a connection left to the garbage collector is
        # reported against whichever later test it is collected in.
        for e in engines:
            e.dispose()
        fresh.drop()


def test_generated_people_are_in_the_case_schemas_own_form() -> None:
    """The loader lets the case schema check only every SCHEMA_EVERY-th person: that holds
    because the generator makes each one exactly as the schema gives it back (every field
    and nested key, defaults included), checked here on a thousand of them."""
    import random
    from datetime import date

    from app.cases.service import validate_fields

    people = dataset.People(random.Random(7))
    for _ in range(1000):
        person = people.person(date(2026, 12, 1))
        assert validate_fields(person) == person
