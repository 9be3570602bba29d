"""The duplicate check looks across the organisation, so it must not become an oracle ("is
this phone a client?"). Attacked: a wordless name turning name+birth date into a birth-date
probe, an enumeration of phones past the per-account throttle, and the audit trail and
alerts that must show both (never the terms)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.audit.service import DUPLICATE_BURST, DUPLICATE_OUTSIDE, alerts
from app.cases import duplicates
from app.config import Settings
from app.crypto.keyring import Keyring
from app.db import utcnow
from app.errors import Throttled
from app.security.clock import FrozenClock
from tests.cases.conftest import Org
from tests.factories import make_case

URL = "/api/v1/cases/duplicates"
PHONE = "+7 921 555 40 17"
PERSON = {
    "legal_name": "Radoslav Pereverzev",
    "date_of_birth": "1993-05-02",
    "contacts": [{"channel": "phone", "value": PHONE}],
}


def _checks(db: Session) -> list[AuditEntry]:
    return list(
        db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "case.searched")
            .where(AuditEntry.reason_code.like("duplicates%"))
            .order_by(AuditEntry.id)
        )
    )


@pytest.mark.parametrize("name", ["R", "R.", " - ", "q"])
def test_a_name_without_a_word_is_refused_not_turned_into_a_birth_date_probe(
    client: TestClient, db: Session, org: Org, keyring: Keyring, name: str
) -> None:
    make_case(db, keyring=keyring, team=org.team_a, assigned_to=org.caseworker, values=PERSON)
    probe = {"legal_name": name, "date_of_birth": PERSON["date_of_birth"]}
    r = client.post(URL, json=probe, headers=org.headers["outsider"])
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["legal_name"]
    assert "outside_scope" not in r.text
    assert _checks(db) == []  # refused before it counts or looks
    search = client.post(
        "/api/v1/cases/search", json={"name": name}, headers=org.headers["caseworker"]
    )
    assert search.status_code == 422
    assert [e["field"] for e in search.json()["errors"]] == ["name"]


def test_each_check_is_audited_with_its_outcome_never_its_terms(
    client: TestClient, db: Session, org: Org, keyring: Keyring
) -> None:
    make_case(db, keyring=keyring, team=org.team_a, assigned_to=org.caseworker, values=PERSON)
    hit = client.post(URL, json={"phone": PHONE}, headers=org.headers["outsider"])
    assert hit.json() == {"matches": [], "outside_scope": True}
    miss = client.post(URL, json={"phone": "+7 921 555 99 99"}, headers=org.headers["outsider"])
    assert miss.json() == {"matches": [], "outside_scope": False}
    first, second = _checks(db)
    assert (first.outcome, first.fields, first.actor_id) == (
        "outside_scope",
        ["phone"],
        org.outsider.id,
    )
    assert (second.outcome, second.fields) == ("ok", ["phone"])
    for entry in (first, second):
        r = entry.recorded()  # random ids and the time left out: they may hold any digits
        text = str([r.actor_role, r.action, r.object_type, r.object_id, r.fields, r.outcome,
                    r.reason_code])  # fmt: skip
        assert "555" not in text
        assert "921" not in text
        assert not any(p in entry.body for p in ("79215559999", "921 555", "+7"))


def test_enumerating_phones_is_throttled_per_account_in_the_database(
    client: TestClient, db: Session, org: Org, keyring: Keyring, clock: FrozenClock
) -> None:
    make_case(db, keyring=keyring, team=org.team_a, assigned_to=org.caseworker, values=PERSON)
    h = org.headers["outsider"]
    for i in range(duplicates.CHECKS_PER_WINDOW):
        r = client.post(URL, json={"phone": f"+7 921 555 {i:02d} 00"}, headers=h)
        assert r.status_code == 200, (i, r.text)
    r = client.post(URL, json={"phone": PHONE}, headers=h)
    assert r.status_code == 429
    assert r.json()["code"] == "throttled"
    assert "outside_scope" not in r.text  # the refused probe learned nothing
    assert _checks(db)[-1].outcome == "denied"
    assert _checks(db)[-1].reason_code == duplicates.REASON_THROTTLED
    # The count is in the database: another process (here: a direct call) is refused too.
    with pytest.raises(Throttled), db.begin_nested():
        duplicates.admit(db, actor_id=org.outsider.id, now=clock.now())
    # Per account: a colleague is not throttled by the outsider's probing.
    ok = client.post(URL, json={"phone": PHONE}, headers=org.headers["caseworker"])
    assert ok.status_code == 200
    clock.advance(timedelta(hours=1))
    assert client.post(URL, json={"phone": PHONE}, headers=h).status_code == 200


def test_a_burst_of_checks_and_outside_scope_hits_raise_alerts(
    client: TestClient, db: Session, org: Org, keyring: Keyring, settings: Settings
) -> None:
    start = utcnow() - timedelta(seconds=1)
    make_case(db, keyring=keyring, team=org.team_a, assigned_to=org.caseworker, values=PERSON)
    h = org.headers["outsider"]
    for _ in range(DUPLICATE_OUTSIDE):
        assert client.post(URL, json={"phone": PHONE}, headers=h).json()["outside_scope"]
    kinds = {a.kind for a in alerts(db, settings=settings, since=start)}
    assert "duplicate_outside_scope" in kinds
    assert "duplicate_burst" not in kinds
    for i in range(DUPLICATE_BURST - DUPLICATE_OUTSIDE):
        client.post(URL, json={"phone": f"+7 921 555 {i:02d} 11"}, headers=h)
    found = [a for a in alerts(db, settings=settings, since=start) if a.kind == "duplicate_burst"]
    assert [(a.actor_id, a.count) for a in found] == [(org.outsider.id, DUPLICATE_BURST)]
    # A caseworker's ordinary intake checks (in scope, few) raise nothing.
    client.post(URL, json={"phone": PHONE}, headers=org.headers["caseworker"])
    mine = [
        a for a in alerts(db, settings=settings, since=start) if a.actor_id == org.caseworker.id
    ]
    assert mine == []
