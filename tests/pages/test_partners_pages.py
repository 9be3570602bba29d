"""The partners page: fingerprints to read aloud, a coordinator's confirmation (refused when
the fingerprint differs), and the form that adds a partner (errors beside their fields,
nothing written on a refusal)."""

from __future__ import annotations

import re
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.policy.permissions import Role
from app.referrals.models import Partner
from app.referrals.packet import encode_public_key, key_id
from app.security.clock import FrozenClock
from tests.factories import make_partner
from tests.pages.registry import Visitor


@pytest.fixture
def v(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    """A browser in English."""
    client.headers["accept-language"] = "en"
    return Visitor(client=client, db=db, clock=clock, locale="en")


def _fingerprint(partner: Partner, private: X25519PrivateKey) -> str:
    return key_id(private.public_key())


def _partners(db: Session) -> int:
    return len(db.scalars(select(Partner.id)).all())


def test_partners_show_their_fingerprint_in_groups(v: Visitor, db: Session) -> None:
    partner, private = make_partner(db, "Example Legal Aid", confirmed=False)
    v.signed_in(Role.COORDINATOR)
    html = v.client.get("/partners").text
    fp = _fingerprint(partner, private)
    assert " ".join(fp[i : i + 4] for i in range(0, 16, 4)) in html
    assert "Key not confirmed yet" in html
    assert f'action="/partners/{partner.id}/confirm"' in html
    assert 'action="/partners"' in html


def test_a_caseworker_reads_the_partners_but_neither_adds_nor_confirms(
    v: Visitor, db: Session
) -> None:
    partner, _ = make_partner(db, confirmed=False)
    v.signed_in(Role.CASEWORKER)
    r = v.client.get("/partners")
    assert r.status_code == 200
    assert partner.name in r.text
    assert '<form method="post" action="/partners' not in r.text
    csrf = v.csrf(r.text)  # the sign-out form's token is the session's
    data = {"csrf_token": csrf, "key_id": _fingerprint(partner, _)}
    assert v.client.post(f"/partners/{partner.id}/confirm", data=data).status_code == 403
    assert v.client.post("/partners", data={"csrf_token": csrf, "name": "X"}).status_code == 403


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.AUDITOR])
def test_roles_without_partner_work_get_the_refusal_page(v: Visitor, role: Role) -> None:
    v.signed_in(role)
    r = v.client.get("/partners")
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")


def test_confirming_the_fingerprint_read_aloud(v: Visitor, db: Session) -> None:
    partner, private = make_partner(db, confirmed=False)
    v.signed_in(Role.COORDINATOR)
    token = v.csrf(v.client.get("/partners").text)
    url = f"/partners/{partner.id}/confirm"
    wrong = {"csrf_token": token, "key_id": "0123 4567 89ab cdef"}
    r = v.client.post(url, data=wrong)
    assert r.status_code == 422
    field = f"f-key_id-{partner.id}"
    assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-error"', r.text)
    assert 'value="0123 4567 89ab cdef"' in r.text
    assert "Do not send anything to this partner" in r.text
    db.refresh(partner)
    assert partner.confirmed_at is None
    assert v.client.post(url, data={"key_id": _fingerprint(partner, private)}).status_code == 403
    spoken = " ".join(_fingerprint(partner, private).upper()[i : i + 4] for i in range(0, 16, 4))
    r = v.client.post(url, data={"csrf_token": token, "key_id": spoken}, follow_redirects=False)
    assert r.headers["location"] == "/partners?done=partner_confirmed"
    db.refresh(partner)
    assert partner.confirmed_at is not None


def test_a_forged_partner_id_answers_not_found(v: Visitor) -> None:
    v.signed_in(Role.COORDINATOR)
    token = v.csrf(v.client.get("/partners").text)
    r = v.client.post(
        f"/partners/{uuid.uuid4()}/confirm",
        data={"csrf_token": token, "key_id": "0123456789abcdef"},
    )
    assert r.status_code == 404


def test_adding_a_partner_keeps_the_form_on_an_error(v: Visitor, db: Session) -> None:
    v.signed_in(Role.COORDINATOR)
    token = v.csrf(v.client.get("/partners").text)
    before = _partners(db)
    data = {
        "csrf_token": token,
        "name": "",
        "services": ["legal", "asylum"],
        "country": "DE",
        "public_key": "not a key",
    }
    r = v.client.post("/partners", data=data)
    assert r.status_code == 422
    for name in ("name", "public_key"):
        assert (
            f'aria-describedby="f-{name}-error"' in r.text
            or f'aria-describedby="f-{name}-hint f-{name}-error"' in r.text
        )
    assert "Paste the key exactly" in r.text
    assert ">not a key</textarea>" in r.text
    assert 'id="f-services-legal" name="services" value="legal" checked' in r.text
    assert '<option value="DE" selected>' in r.text
    assert _partners(db) == before
    del data["csrf_token"]
    assert v.client.post("/partners", data=data | {"name": "Ok"}).status_code == 403
    assert _partners(db) == before


@pytest.mark.parametrize(("role", "confirmed"), [(Role.COORDINATOR, True), (Role.ADMIN, False)])
def test_adding_a_partner(v: Visitor, db: Session, role: Role, confirmed: bool) -> None:
    v.signed_in(role)
    token = v.csrf(v.client.get("/partners").text)
    public = encode_public_key(X25519PrivateKey.generate().public_key())
    data = {
        "csrf_token": token,
        "name": "Beispiel Rechtshilfe",
        "services": ["asylum"],
        "country": "DE",
        "public_key": public,
    }
    r = v.client.post("/partners", data=data, follow_redirects=False)
    assert r.headers["location"] == "/partners?done=partner_added"
    partner = db.scalars(select(Partner).where(Partner.name == "Beispiel Rechtshilfe")).one()
    assert partner.services == ["asylum"]
    assert partner.countries == ["DE"]
    # A coordinator vouches for the key they entered; an admin's waits for a coordinator.
    assert (partner.confirmed_at is not None) is confirmed
    again = v.client.post("/partners", data=data)
    assert again.status_code == 409
    assert 'aria-describedby="f-name-error"' in again.text
