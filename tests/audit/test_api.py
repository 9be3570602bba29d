"""The auditor's HTTP API: who may call it, filters, CSV, verify naming a tampered entry,
alerts, the latest checkpoint with its key, and that every call is itself audited."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import workers
from app.audit.checkpoints import take_checkpoint, verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.merkle import StreamingTree
from app.audit.models import AuditEntry
from app.audit.note import NoteError, open_checkpoint, parse_verifier_key
from app.audit.scanner import Summary
from app.audit.tree import sequence_now
from app.config import Environment, Settings
from app.crypto.keyring import Keyring
from app.db import transaction, utcnow
from app.main import create_app
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.audit.conftest import ORIGIN, AuditLog
from tests.factories import By, auth, bearer, make_user

ROUTES = (
    "/api/v1/audit",
    "/api/v1/audit/export.csv",
    "/api/v1/audit/verify",
    "/api/v1/audit/alerts",
    "/api/v1/audit/checkpoints/latest",
    "/api/v1/audit/verifier-key",
)


@pytest.fixture
def as_auditor(db: Session, clock: FrozenClock, settings: Settings) -> dict[str, str]:
    auditor = make_user(db, Role.AUDITOR)
    return auth(bearer(db, auditor, clock=clock, settings=settings))


def _own_entries(db: Session, actions: set[str]) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action.in_(actions)).order_by(AuditEntry.id)
    return list(db.scalars(stmt))


@pytest.mark.parametrize("path", ROUTES)
def test_only_the_auditor_may_read_the_log(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    keyring: Keyring,
    path: str,
) -> None:
    take_checkpoint(db, keyring=keyring, origin=settings.audit_origin)
    assert client.get(path).status_code == 401
    for role in Role:
        user = make_user(db, role)
        r = client.get(path, headers=auth(bearer(db, user, clock=clock, settings=settings)))
        want = 200 if role is Role.AUDITOR else 403
        assert r.status_code == want, (role, r.text)


def test_filters_and_pages(client: TestClient, db: Session, as_auditor: dict[str, str]) -> None:
    anna, boris, case = uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4())
    for actor in (anna, anna, boris):
        record(db, AuditAction.CASE_READ, by=By(actor), on=("case", case))
    record(db, AuditAction.CASE_UPDATED, by=By(anna), on=("case", case))
    db.commit()

    def total(**params: str) -> int:
        r = client.get("/api/v1/audit", params=params, headers=as_auditor)
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    assert total(actor=str(anna)) == 3
    assert total(case=case) == 4
    assert total(case=case, action="case.read") == 3
    assert total(actor=str(anna), action="case.updated") == 1
    future = (utcnow() + timedelta(minutes=5)).isoformat()
    assert total(case=case, since=future) == 0
    assert total(case=case, until=future) == 4
    past = (utcnow() - timedelta(minutes=5)).isoformat()
    assert total(case=case, until=past) == 0  # until is a bound, not ignored
    assert total(case=case, since=past) == 4
    body = client.get(
        "/api/v1/audit", params={"case": case, "page": 2, "per_page": 3}, headers=as_auditor
    ).json()
    assert (len(body["items"]), body["page"], body["total"]) == (1, 2, 4)
    assert set(body["items"][0]) >= {"seq", "at", "actor_id", "action", "object_id", "fields"}
    bad = client.get("/api/v1/audit", params={"action": "no.such"}, headers=as_auditor)
    assert bad.status_code == 422
    inverted = client.get(
        "/api/v1/audit", params={"since": future, "until": utcnow().isoformat()}, headers=as_auditor
    )
    assert inverted.status_code == 422
    for since, until in ((future, utcnow().isoformat()), (future, future)):  # until must be after
        r = client.get("/api/v1/audit", params={"since": since, "until": until}, headers=as_auditor)
        assert r.status_code == 422, (since, until)
        assert r.json()["errors"] == [{"field": "until", "message": "must be after since"}]


@pytest.mark.parametrize(
    ("path", "extra"), [("/api/v1/audit", {"format": "csv"}), ("/api/v1/audit/export.csv", {})]
)
def test_csv_export_neutralises_formulas_and_is_audited(
    client: TestClient, db: Session, as_auditor: dict[str, str], path: str, extra: dict[str, str]
) -> None:
    mallory = uuid.uuid4()
    for payload in ('=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tx"):
        record(
            db, AuditAction.ACCESS_DENIED, by=By(mallory), on=("case", payload), outcome="denied"
        )
    db.commit()
    r = client.get(path, params={"actor": str(mallory), **extra}, headers=as_auditor)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="haven-audit.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][6] == "object_id"
    cells = [row[6] for row in rows[1:]]
    assert len(cells) == 5
    assert all(c.startswith("'") for c in cells), cells
    exported = _own_entries(db, {AuditAction.AUDIT_EXPORTED.value})
    assert exported
    assert exported[-1].fields == ["actor"]
    # The export's own entry names who exported (an export by nobody could not be followed up).
    me = client.get("/api/v1/me", headers=as_auditor)
    assert (str(exported[-1].actor_id), exported[-1].actor_role) == (me.json()["id"], "auditor")


def test_reads_of_the_log_are_audited(
    client: TestClient, db: Session, as_auditor: dict[str, str], keyring: Keyring,
    settings: Settings,
) -> None:  # fmt: skip
    take_checkpoint(db, keyring=keyring, origin=settings.audit_origin)
    before = len(_own_entries(db, {AuditAction.AUDIT_READ.value, AuditAction.AUDIT_VERIFIED.value}))
    for path in ("/api/v1/audit", "/api/v1/audit/alerts", "/api/v1/audit/verify",
                 "/api/v1/audit/checkpoints/latest", "/api/v1/audit/verifier-key"):  # fmt: skip
        assert client.get(path, headers=as_auditor).status_code == 200
    after = _own_entries(db, {AuditAction.AUDIT_READ.value, AuditAction.AUDIT_VERIFIED.value})
    assert len(after) == before + 5
    assert {e.actor_role for e in after[before:]} == {"auditor"}


def test_verify_shape_on_an_intact_log(
    client: TestClient, db: Session, as_auditor: dict[str, str]
) -> None:
    db.commit()  # the auditor's account creation is audited: sequence it first
    sequence_now(db)
    r = client.get("/api/v1/audit/verify", headers=as_auditor)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"ok", "entries", "first_bad"}
    assert body["ok"] is True
    assert body["first_bad"] is None
    assert body["entries"] > 0


def test_alerts_show_break_glass(
    client: TestClient, db: Session, as_auditor: dict[str, str]
) -> None:
    boris = uuid.uuid4()
    record(
        db, AuditAction.BREAK_GLASS, by=By(boris), on=("case", str(uuid.uuid4())), reason="granted"
    )
    db.commit()
    r = client.get("/api/v1/audit/alerts", headers=as_auditor)
    assert r.status_code == 200
    kinds = {(a["kind"], a["actor_id"]) for a in r.json()["alerts"]}
    assert ("break_glass", str(boris)) in kinds


def test_latest_checkpoint_verifies_off_the_server(
    client: TestClient, db: Session, as_auditor: dict[str, str], keyring: Keyring,
    settings: Settings,
) -> None:  # fmt: skip
    empty = client.get("/api/v1/audit/checkpoints/latest", headers=as_auditor).json()
    assert empty["checkpoint"] is None
    assert empty["verifier_key"]
    record(db, AuditAction.CASE_READ, on=("case", str(uuid.uuid4())))
    db.commit()
    row = take_checkpoint(db, keyring=keyring, origin=settings.audit_origin)
    body = client.get("/api/v1/audit/checkpoints/latest", headers=as_auditor).json()
    latest = body["checkpoint"]
    assert latest["tree_size"] == row.tree_size
    # What a lawyer does with the two strings, without Haven's database or keyring:
    key = parse_verifier_key(body["verifier_key"])
    cp = open_checkpoint(latest["note"], [key])
    assert (cp.size, cp.root.hex()) == (row.tree_size, latest["root_hash"])
    other = client.get("/api/v1/audit/verifier-key", headers=as_auditor).json()["verifier_key"]
    assert other == body["verifier_key"]
    # A key from another installation does not open it.
    stranger = Keyring()
    stranger.unseal_with_root(b"\x01" * 32)
    with pytest.raises(NoteError):
        open_checkpoint(latest["note"], [verifier_key(stranger, settings.audit_origin)])


@pytest.fixture
def log_client(audit_log: AuditLog, tmp_path: object) -> Iterator[tuple[TestClient, AuditLog]]:
    """The app on the attacker's database (triggers droppable), with an auditor's token."""
    settings = Settings(
        env=Environment.TEST,
        database_url=audit_log.engine.url.render_as_string(hide_password=False),
        audit_origin=ORIGIN,
        audit_checkpoint_poll_seconds=0,
        audit_sequence_poll_seconds=0,  # sequenced by each test, when it says so
    )
    clock = FrozenClock()
    app = create_app(
        settings,
        engine=audit_log.engine,
        session_factory=audit_log.factory,
        keyring=audit_log.keyring,
        clock=clock,
    )
    with transaction(audit_log.factory) as s:
        auditor = make_user(s, Role.AUDITOR, keyring=audit_log.keyring)
        token = bearer(s, auditor, clock=clock, settings=settings)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        c.headers.update(auth(token))
        yield c, audit_log


def test_verify_names_a_tampered_entry(log_client: tuple[TestClient, AuditLog]) -> None:
    client, log = log_client
    log.write(12)
    log.checkpoint_note()
    first = client.get("/api/v1/audit/verify").json()
    assert first["ok"] is True, first
    sequence_now(log.factory)  # the verification's own entry
    log.drop_triggers()
    victim = 7
    log.edit_body(victim, '"case.read"', '"case.updated"')
    body = client.get("/api/v1/audit/verify").json()
    assert body == {"ok": False, "entries": first["entries"] + 1, "first_bad": victim}
    failed = log.sql(
        "SELECT outcome, reason_code FROM audit_entries WHERE action = 'audit.verified'"
    )
    assert ("failed", f"first_bad:{victim}") in failed


def test_verify_through_the_api_uses_a_worker_in_the_request_transaction(
    log_client: tuple[TestClient, AuditLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request's own transaction (which has written by then on PostgreSQL) exports its
    snapshot to the worker processes; their answer agrees with the in-process one."""
    client, log = log_client
    monkeypatch.setattr(StreamingTree, "CHUNK", 4)
    log.write(13)
    log.checkpoint_note()
    alone = client.get("/api/v1/audit/verify").json()
    sequence_now(log.factory)  # the verification's own entry
    answered: list[int] = []
    real = workers.run

    def spy(*args: Any, **kwargs: Any) -> list[Summary]:
        out = real(*args, **kwargs)
        answered.append(len(out))
        return out

    monkeypatch.setattr(workers, "run", spy)
    monkeypatch.setattr(workers, "PARALLEL_MIN", 1)
    shared = client.get("/api/v1/audit/verify").json()
    assert answered == [4]  # 14 entries (13 and the first verification's): chunks of 4
    assert alone["ok"] is shared["ok"] is True
    assert shared["entries"] == alone["entries"] + 1
