"""The auditor's pages: only the auditor reads them; filters (actor, case id, action,
days) with errors beside their fields; paging; actors named; the CSV neutralises
formula-like cells and is itself audited; verify says plainly when a row was tampered
with; the checkpoint and verifier key download; the log page in constant SQL."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.checkpoints import take_checkpoint, verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.models import AuditEntry
from app.config import Environment, Settings
from app.crypto.keyring import Keyring
from app.db import transaction
from app.main import create_app
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.audit.conftest import ORIGIN, AuditLog, audit_log  # noqa: F401 - the fixture
from tests.conftest import StatementCounter
from tests.factories import By, auth, bearer, make_case, make_team, make_user
from tests.pages.helpers_admin import browser, error_beside, sign_in

PAGES = ("/audit", "/audit/verify", "/audit/alerts", "/audit/export.csv", "/audit/checkpoint.txt")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COORDINATOR, Role.CASEWORKER, Role.VOLUNTEER])
def test_only_the_auditor_opens_the_log(
    client: TestClient, db: Session, clock: FrozenClock, role: Role
) -> None:
    v = browser(client, db, clock)
    sign_in(v, role)
    for path in (*PAGES, "/audit/verifier-key.txt"):
        r = client.get(path)
        assert r.status_code == 403, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html")


def test_filters_paging_and_actor_names(
    client: TestClient, db: Session, clock: FrozenClock, keyring: Keyring
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.AUDITOR)
    worker = make_user(db, Role.CASEWORKER, teams=[make_team(db)])
    worker.display_name = "Olena Synthetic"
    case = make_case(db, keyring=keyring, team=make_team(db))
    for _ in range(55):
        record(db, AuditAction.CASE_READ, by=By(worker.id), on=("case", case.id), fields=["unit"])
    record(db, AuditAction.CASE_UPDATED, by=By(worker.id), on=("case", uuid.uuid4()))
    record(db, AuditAction.CASE_READ, by=By(uuid.uuid4()), on=("case", uuid.uuid4()))
    db.flush()
    page = client.get(f"/audit?actor={worker.id}&action=case.read")
    assert page.status_code == 200
    assert "55 entries" in page.text
    assert page.text.count("Olena Synthetic") >= 50
    assert "Page 1 of 2" in page.text
    assert f"actor={worker.id}&amp;action=case.read&amp;page=2" in page.text
    second = client.get(f"/audit?actor={worker.id}&action=case.read&page=2")
    assert second.text.count("<code>case.read</code>") == 5
    by_case = client.get(f"/audit?case={case.id}&action=case.read")
    assert "55 entries" in by_case.text
    # Each case entry links to that case's own entries: how an auditor filters by case.
    assert f'href="/audit?case={case.id}"' in page.text
    today = clock.now().date()
    days = f"since={today - timedelta(days=1)}&until={today}"
    assert "56 entries" in client.get(f"/audit?actor={worker.id}&{days}").text
    past = f"since={today - timedelta(days=9)}&until={today - timedelta(days=8)}"
    assert "0 entries" in client.get(f"/audit?actor={worker.id}&{past}").text
    # The last day counts whole, and no more: until yesterday holds nothing of today's.
    yesterday = f"since={today - timedelta(days=2)}&until={today - timedelta(days=1)}"
    assert "0 entries" in client.get(f"/audit?actor={worker.id}&{yesterday}").text
    # From tomorrow on: nothing yet (a filter that forgot `since` would show all 56).
    tomorrow = today + timedelta(days=1)
    assert "0 entries" in client.get(f"/audit?actor={worker.id}&since={tomorrow}").text
    assert "0 entries" in client.get(f"/audit?since={tomorrow}&until={tomorrow}").text


def test_bad_filters_are_named_beside_their_fields(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.AUDITOR)
    r = client.get("/audit?actor=nobody&case=HV-1999-ZZZZZZ&action=case.eaten&since=3%20May")
    assert r.status_code == 422
    assert error_beside(r.text, "actor")
    assert "Enter a case id" in error_beside(r.text, "case")
    assert error_beside(r.text, "action")
    assert "YYYY-MM-DD" in error_beside(r.text, "since")
    assert 'value="HV-1999-ZZZZZZ"' in r.text  # kept as typed
    for until in ("2026-03-01", "2026-03-09"):  # far before, and the day before the start
        r = client.get(f"/audit?since=2026-03-10&until={until}")
        assert r.status_code == 422
        assert "after the start" in error_beside(r.text, "until")
    assert client.get("/audit?since=2026-03-10&until=2026-03-10").status_code == 200  # one day
    r = client.get("/audit?since=nope&until=3%20May")  # both wrong: both named
    assert r.status_code == 422
    assert "YYYY-MM-DD" in error_beside(r.text, "since")
    assert "YYYY-MM-DD" in error_beside(r.text, "until")
    assert client.get("/audit/export.csv?since=nope").status_code == 422


def test_a_full_case_code_opens_no_trail_for_the_auditor(
    client: TestClient, db: Session, clock: FrozenClock, keyring: Keyring
) -> None:
    """The policy shows an auditor case codes masked: a full code (read off a seized
    volunteer's task) must not open that case's trail, nor tell a real code from an invented
    one."""
    v = browser(client, db, clock)
    sign_in(v, Role.AUDITOR)
    case = make_case(db, keyring=keyring, team=make_team(db))
    record(db, AuditAction.CASE_READ, by=By(uuid.uuid4()), on=("case", case.id))
    db.flush()
    real = client.get(f"/audit?case={case.case_code}")
    made_up = client.get("/audit?case=HV-2099-ZZZZZZ")
    assert real.status_code == made_up.status_code == 422
    assert error_beside(real.text, "case") == error_beside(made_up.text, "case")
    assert str(case.id)[:8] not in real.text, "the code was turned into its case"
    assert client.get(f"/audit?case={case.id}").text.count(str(case.id)[:8]) >= 1


def test_the_csv_neutralises_formulas_and_is_itself_audited(
    client: TestClient, db: Session, clock: FrozenClock
) -> None:
    v = browser(client, db, clock)
    auditor, _ = sign_in(v, Role.AUDITOR)
    actor = By(uuid.uuid4())
    for reason in ("=HYPERLINK(1)", "+1+1", "-2-2", "@SUM(A1)"):
        record(db, AuditAction.CASE_READ, by=actor, on=("case", uuid.uuid4()), reason=reason)
    db.flush()
    r = client.get(f"/audit/export.csv?actor={actor.id}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    reasons = sorted(row["reason_code"] for row in rows)
    assert reasons == ["'+1+1", "'-2-2", "'=HYPERLINK(1)", "'@SUM(A1)"]
    exported = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == AuditAction.AUDIT_EXPORTED.value,
            AuditEntry.actor_id == auditor.id,
        )
    ).all()
    assert [e.fields for e in exported] == [["actor"]]


def test_the_log_page_runs_a_constant_number_of_statements(
    client: TestClient, db: Session, clock: FrozenClock, sql_statements: StatementCounter
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.AUDITOR)

    def grow(n: int) -> None:
        for _ in range(n):
            someone = make_user(db, Role.VOLUNTEER)
            record(db, AuditAction.TASK_LISTED, by=By(someone.id, "volunteer"))
        db.flush()

    def count() -> int:
        with sql_statements.counting() as seen:
            assert client.get("/audit").status_code == 200
        return len(seen)

    grow(3)
    few = count()
    grow(30)
    assert count() == few


def test_checkpoint_and_key_downloads(
    client: TestClient, db: Session, clock: FrozenClock, keyring: Keyring, settings: Settings
) -> None:
    v = browser(client, db, clock)
    sign_in(v, Role.AUDITOR)
    assert "No checkpoint yet" in client.get("/audit/checkpoint.txt").text
    row = take_checkpoint(db, keyring=keyring, origin=settings.audit_origin)
    r = client.get("/audit/checkpoint.txt")
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == row.note
    key = client.get("/audit/verifier-key.txt")
    assert key.text.strip() == verifier_key(keyring, settings.audit_origin).encode()
    assert "Download the checkpoint" in client.get("/audit/verify").text


@pytest.fixture
def log_browser(audit_log: AuditLog) -> Iterator[tuple[TestClient, AuditLog]]:  # noqa: F811
    """The app on a database whose append-only triggers an attacker can drop, with an
    auditor's token (the pages take it as they take a session)."""
    settings = Settings(
        env=Environment.TEST,
        database_url=audit_log.engine.url.render_as_string(hide_password=False),
        audit_origin=ORIGIN,
        audit_checkpoint_poll_seconds=0,
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
        c.headers.update(auth(token) | {"accept-language": "en"})
        yield c, audit_log


def test_verify_says_plainly_that_a_tampered_row_was_changed(
    log_browser: tuple[TestClient, AuditLog],
) -> None:
    client, log = log_browser
    log.write(12)
    log.checkpoint_note()
    intact = client.get("/audit/verify")
    assert intact.status_code == 200
    assert "The log is intact" in intact.text
    log.drop_triggers()
    log.edit_body(7, '"case.read"', '"case.updated"')
    changed = client.get("/audit/verify")
    assert changed.status_code == 200
    message = re.search(r'id="verify-result">([^<]+)</p>', changed.text)
    assert message
    assert "The log has been changed: entry number 7" in message.group(1)
    assert "intact" not in changed.text
