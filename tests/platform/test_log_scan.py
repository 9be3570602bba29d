"""No personal value reaches a log, whatever the level: every route that takes personal data
is exercised with canaries — sign-in (right and wrong, API and form), the public request,
case create, update, search by name, phone and birth date, duplicate check, export,
consents, tasks (accepted and refused by the leak guard), the volunteer's note and a
referral sent — with every logger at DEBUG, SQLAlchemy's included, and the records scanned
(message, arguments and any exception text)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.cases.test_canary_case import canary_case
from tests.casework import make_staff, new_case
from tests.crypto.canary import CANARIES, hits
from tests.factories import PASSWORD, code_for, make_partner, make_user

A, C = CANARIES
EMAIL = "canary.signin.q7zx@example.invalid"
WRONG = "canary-wrong-password-q7zx"
PHONE = "+7 916 555 77 31"


@pytest.fixture
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger that exists (and the root) at DEBUG, propagating to the capture."""
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]
    saved = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.propagate = True
    with caplog.at_level(logging.DEBUG):
        yield caplog
    for lg, level, propagate in saved:
        lg.setLevel(level)
        lg.propagate = propagate


def _text(records: list[logging.LogRecord]) -> bytes:
    parts = []
    for r in records:
        parts.append(r.getMessage())
        parts.append(repr(r.args))
        parts.append(r.exc_text or "")
        if r.exc_info and r.exc_info[1] is not None:
            parts.append(repr(r.exc_info[1]))
    return "\n".join(parts).encode()


def test_no_route_logs_a_personal_value(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    every_logger_at_debug: pytest.LogCaptureFixture,
) -> None:
    staff = make_staff(db, clock=clock, settings=settings)
    signer = make_user(db, Role.CASEWORKER, teams=[staff.team], email=EMAIL)
    db.commit()
    # Sign-in: wrong password, then right (API), then the form.
    wrong = {"email": EMAIL, "password": WRONG, "totp": code_for(signer, clock)}
    assert client.post("/api/v1/auth/token", json=wrong).status_code == 401
    right = {**wrong, "password": PASSWORD}
    assert client.post("/api/v1/auth/token", json=right).status_code == 200
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {"email": EMAIL, "password": WRONG, "csrf_token": token.group(1)}
    assert client.post("/login", data=form, follow_redirects=False).status_code in (200, 401, 422)
    # The public request.
    request = {
        "pseudonym": A,
        "contacts": [{"channel": "signal", "value": f"{A}.42"}],
        "message": f"{C} {A}",
    }
    assert client.post("/api/v1/requests", json=request).status_code == 202
    # Case create and update.
    values = canary_case()
    values["contacts"] = [*values["contacts"], {"channel": "phone", "value": PHONE}]
    case = new_case(client, staff, **values)
    url = f"/api/v1/cases/{case['id']}"
    patch = {"version": case["version"], "family": f"{C} changed {A}"}
    assert client.patch(url, json=patch, headers=staff.h("caseworker")).status_code == 200
    # Searches and the duplicate check.
    for terms in ({"name": C}, {"phone": PHONE}, {"date_of_birth": "1991-07-09"}):
        r = client.post("/api/v1/cases/search", json=terms, headers=staff.h("caseworker"))
        assert r.status_code == 200, (terms, r.text)
    dup = {"legal_name": f"{C} {A}", "date_of_birth": "1991-07-09"}
    r = client.post("/api/v1/cases/duplicates", json=dup, headers=staff.h("caseworker"))
    assert r.status_code == 200, r.text
    # Export (the coordinator, re-authenticated).
    assert client.get(f"{url}/export", headers=staff.h("coordinator")).status_code == 200
    # Tasks: one refused by the leak guard (it names the person), one accepted; a note.
    task = {"case_id": case["id"], "assigned_to": str(staff.volunteer.id), "title": "Meet"}
    leaky = {**task, "instructions": f"Ask for {C} {A}"}
    r = client.post("/api/v1/tasks", json=leaky, headers=staff.h("caseworker"))
    assert r.status_code == 422, r.text
    made = client.post(
        "/api/v1/tasks",
        json={**task, "instructions": "At the clock."},
        headers=staff.h("caseworker"),
    )
    assert made.status_code == 201, made.text
    note = {"status": "done", "note": f"Met {A}"}
    client.patch(f"/api/v1/tasks/{made.json()['id']}", json=note, headers=staff.h("volunteer"))
    # A referral: consent to share with a partner, the referral, sent.
    partner, _key = make_partner(db)
    db.commit()
    consent = {
        "purpose": "share_with_partner",
        "partner": str(partner.id),
        "legal_basis": "consent",
        "given_at": "2026-11-01T10:00:00Z",
    }
    r = client.post(f"{url}/consents", json=consent, headers=staff.h("caseworker"))
    assert r.status_code in (200, 201), r.text
    ref = client.post(
        f"{url}/referrals",
        json={"partner_id": str(partner.id), "fields": ["legal_name", "unit"], "note": A},
        headers=staff.h("caseworker"),
    )
    assert ref.status_code == 201, ref.text
    sent = client.patch(
        f"/api/v1/referrals/{ref.json()['id']}",
        json={"status": "sent"},
        headers=staff.h("caseworker"),
    )
    assert sent.status_code == 200, sent.text

    records = every_logger_at_debug.records
    assert records, "nothing was logged at all: the capture is not working"
    blob = _text(records)
    found = hits(blob)
    found += [w for w in (EMAIL, WRONG, PASSWORD, PHONE, "1991-07-09") if w.encode() in blob]
    assert found == [], found


def test_the_engine_never_logs_or_raises_with_its_parameters(
    tmp_path: Path, every_logger_at_debug: pytest.LogCaptureFixture
) -> None:
    """SQLAlchemy at DEBUG logs every statement; Haven's engine keeps the bound values (an
    e-mail at sign-in, a search term's index) out of those lines and out of its errors."""
    engine = make_engine(f"sqlite:///{tmp_path / 'logs.db'}")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT :who"), {"who": EMAIL})
            with pytest.raises(DBAPIError) as failed:
                conn.execute(text("SELECT * FROM no_such_table WHERE x = :who"), {"who": EMAIL})
    finally:
        engine.dispose()
    logged = _text(every_logger_at_debug.records)
    assert b"SELECT" in logged  # the statements were logged...
    assert EMAIL.encode() not in logged  # ...without their values
    assert EMAIL not in str(failed.value)
