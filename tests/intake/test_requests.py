"""Public self-referral: the API and the /request page store the request encrypted as an
unverified, unassigned intake case, answer nothing about it, and are throttled per address
(kept as a keyed hash) and globally. Invented people only."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.intake import service
from app.intake.schemas import RequestIn
from app.security.clock import FrozenClock
from app.security.models import LoginThrottle
from tests.casework import Staff, make_staff
from tests.factories import make_team

REQUEST: dict[str, Any] = {
    "pseudonym": "Лесник",
    "contacts": [{"channel": "signal", "value": "lesnik_safe.42"}],
    "message": "Ушёл из части в Белгородской области, нужна помощь с документами.",
    "citizenship": "RU",
    "current_country": "GE",
}


@pytest.fixture
def staff(db: Session, clock: FrozenClock, settings: Settings) -> Staff:
    made = make_staff(db, clock=clock, settings=settings)
    settings.intake_team = made.team.name
    return made


def _cases(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Case)) or 0)


def test_request_lands_in_the_triage_queue_unverified(
    client: TestClient, db: Session, staff: Staff
) -> None:
    r = client.post("/api/v1/requests", json=REQUEST)
    assert r.status_code == 202, r.text
    assert set(r.json()) == {"status", "detail"}
    db.expire_all()
    case = db.scalars(select(Case)).one()
    assert case.case_code not in r.text
    assert str(case.id) not in r.text
    assert (case.stage, case.assigned_to, case.source) == ("intake", None, "self_referral")
    assert case.team_id == staff.team.id
    queue = client.get("/api/v1/cases?assigned_to=none", headers=staff.h("coordinator")).json()
    assert [c["id"] for c in queue["items"]] == [str(case.id)]
    full = client.get(f"/api/v1/cases/{case.id}", headers=staff.h("coordinator")).json()
    assert full["aliases"] == ["Лесник"]
    assert full["vetting"]["status"] == "unverified"
    assert full["intake_notes"] == REQUEST["message"]
    assert full["contacts"] == REQUEST["contacts"]
    assert full["citizenship"] == "RU"
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "request.received")).one()
    assert entry.actor_id is None
    assert entry.object_id == str(case.id)
    assert "Лесник" not in str(entry.fields)


@pytest.mark.parametrize("judged", ["verified", "suspicious"])
def test_a_request_goes_to_a_caseworker_only_once_judged(
    client: TestClient, db: Session, staff: Staff, judged: str
) -> None:
    """An unchecked request may be a trap laid to find the network: nobody is sent to
    contact the person until a coordinator has judged it, genuine or suspicious."""
    assert client.post("/api/v1/requests", json=REQUEST).status_code == 202
    case = db.scalars(select(Case)).one()
    assign = f"/api/v1/cases/{case.id}/assign"
    to_worker = {"user_id": str(staff.caseworker.id)}
    refused = client.post(assign, json=to_worker, headers=staff.h("coordinator"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "vetting_required"
    db.expire_all()
    assert db.get_one(Case, case.id).assigned_to is None
    version = client.get(f"/api/v1/cases/{case.id}", headers=staff.h("coordinator")).json()
    judge = {"status": judged, "version": version["version"]}
    vetted = client.post(
        f"/api/v1/cases/{case.id}/vetting", json=judge, headers=staff.h("coordinator")
    )
    assert vetted.status_code == 200, vetted.text
    assigned = client.post(assign, json=to_worker, headers=staff.h("coordinator"))
    assert assigned.status_code == 200, assigned.text
    db.expire_all()
    assert db.get_one(Case, case.id).assigned_to == staff.caseworker.id


def test_request_is_encrypted_on_arrival(client: TestClient, db: Session, staff: Staff) -> None:
    assert client.post("/api/v1/requests", json=REQUEST).status_code == 202
    db.expire_all()
    case = db.scalars(select(Case)).one()
    for column in (case.aliases, case.contacts, case.intake_notes):
        assert column is not None
        assert "Лесник".encode() not in column.data
        assert b"lesnik_safe" not in column.data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pseudonym": ""}, "pseudonym"),
        ({"contacts": []}, "contacts"),
        ({"contacts": [{"channel": "phone", "value": "not a phone"}]}, "contacts.0"),
        ({"contacts": [{"channel": "pigeon", "value": "x"}]}, "contacts.0.channel"),
        ({"message": "x" * 5001}, "message"),
        ({"citizenship": "XX"}, "citizenship"),
        ({"legal_name": "Иван Иванов"}, "legal_name"),
    ],
)
def test_bad_request_names_the_field_and_writes_nothing(
    client: TestClient, db: Session, staff: Staff, change: dict[str, Any], field: str
) -> None:
    r = client.post("/api/v1/requests", json={**REQUEST, **change})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field
    assert _cases(db) == 0


def test_default_intake_team_is_the_first_by_name(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_team(db, "Zz last team")
    first = make_team(db, "Aa first team")
    db.flush()
    settings.intake_team = None
    assert client.post("/api/v1/requests", json=REQUEST).status_code == 202
    db.expire_all()
    assert db.scalars(select(Case)).one().team_id == first.id


def test_no_intake_team_is_503_not_500(client: TestClient, db: Session, settings: Settings) -> None:
    settings.intake_team = "No such team"
    r = client.post("/api/v1/requests", json=REQUEST)
    assert r.status_code == 503
    assert r.json()["code"] == "intake_unavailable"
    assert _cases(db) == 0


def test_throttled_per_address_then_free_after_the_window(
    client: TestClient, db: Session, staff: Staff, settings: Settings, clock: FrozenClock
) -> None:
    settings.request_limit_per_address = 2
    for _ in range(2):
        assert client.post("/api/v1/requests", json=REQUEST).status_code == 202
    r = client.post("/api/v1/requests", json=REQUEST)
    assert r.status_code == 429
    assert _cases(db) == 2
    clock.advance(timedelta(minutes=settings.request_window_minutes + 1))
    assert client.post("/api/v1/requests", json=REQUEST).status_code == 202


def test_throttled_globally_across_addresses(
    db: Session, keyring: Keyring, staff: Staff, settings: Settings, clock: FrozenClock
) -> None:
    settings.request_limit_global = 3
    data = RequestIn.model_validate(REQUEST)
    for n in range(3):
        service.receive_request(
            db,
            keyring=keyring,
            settings=settings,
            data=data,
            address=f"198.51.100.{n}",
            now=clock.now(),
        )
    with pytest.raises(Exception, match="Too many requests") as caught:
        service.receive_request(
            db,
            keyring=keyring,
            settings=settings,
            data=data,
            address="203.0.113.9",
            now=clock.now(),
        )
    assert getattr(caught.value, "status", None) == 429


def test_client_address_is_never_stored(client: TestClient, db: Session, staff: Staff) -> None:
    assert client.post("/api/v1/requests", json=REQUEST).status_code == 202
    db.expire_all()
    keys = list(db.scalars(select(LoginThrottle.key).where(LoginThrottle.key.like("req:%"))))
    assert len(keys) == 2  # the address's and the global counter
    plain_hash = hashlib.sha256(b"testclient").hexdigest()
    for key in keys:
        assert "testclient" not in key
        assert plain_hash not in key  # keyed: not brute-forceable without the root key


# --- the page -----------------------------------------------------------------------------


def _form(client: TestClient) -> tuple[str, str]:
    page = client.get("/request")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return page.text, match.group(1)


def _fields(token: str, **over: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "pseudonym": "Лесник",
        "contact_channel": "signal",
        "contact_value": "lesnik_safe.42",
        "contact2_channel": "telegram",
        "contact2_value": "",
        "message": "Нужна помощь с документами.",
        "citizenship": "RU",
        "current_country": "",
        **over,
    }


def test_page_is_plain_html_that_loads_nothing_from_elsewhere(client: TestClient) -> None:
    html, _token = _form(client)
    assert "<script" not in html
    assert "<style" not in html
    assert "style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert not re.search(r'(src|href|action)="(https?:)?//', html)
    assert '<form method="post" action="/request"' in html


def test_page_submission_stores_and_redirects(
    client: TestClient, db: Session, staff: Staff
) -> None:
    _html, token = _form(client)
    r = client.post("/request", data=_fields(token), follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/request/sent"
    assert client.get("/request/sent").status_code == 200
    assert _cases(db) == 1


def test_page_error_comes_back_filled_in_with_the_message_by_the_field(
    client: TestClient, db: Session, staff: Staff
) -> None:
    _html, token = _form(client)
    r = client.post("/request", data=_fields(token, contact_channel="phone", contact_value="nope"))
    assert r.status_code == 422
    assert 'id="f-contact_value-error"' in r.text
    assert 'value="Лесник"' in r.text
    assert "Нужна помощь с документами." in r.text
    assert _cases(db) == 0


def test_page_refuses_without_a_valid_form_token(
    client: TestClient, db: Session, staff: Staff, clock: FrozenClock
) -> None:
    _html, token = _form(client)
    forged = token.rsplit(".", 1)[0] + ".AAAA"
    client.cookies.set("__Host-haven_request_form", forged)
    r = client.post("/request", data=_fields(forged))
    assert r.status_code == 403
    assert 'value="Лесник"' in r.text  # nothing typed is lost
    _html, token = _form(client)
    r = client.post("/request", data=_fields("another-token"))
    assert r.status_code == 403
    _html, token = _form(client)
    clock.advance(timedelta(hours=3))
    r = client.post("/request", data=_fields(token))
    assert r.status_code == 403
    client.cookies.clear()
    r = client.post("/request", data=_fields(token))
    assert r.status_code == 403
    assert _cases(db) == 0


def test_page_shows_throttling_beside_the_form(
    client: TestClient, db: Session, staff: Staff, settings: Settings
) -> None:
    settings.request_limit_per_address = 1
    _html, token = _form(client)
    assert client.post("/request", data=_fields(token), follow_redirects=False).status_code == 303
    _html, token = _form(client)
    r = client.post("/request", data=_fields(token))
    assert r.status_code == 429
    assert 'value="Лесник"' in r.text
    assert _cases(db) == 1
