"""The referrals tab of a case: only confirmed partners are offered, each with its key's
fingerprint; the fields are ticked one by one (none ticked by default) from those the role may
share; the service's consent check refuses beside the partner with nothing written; sending
seals a packet that holds exactly the ticked fields; the packet downloads only once sent;
roles, scopes and CSRF answer as the policy says; the list's SQL does not grow with rows."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.cases.fields import SHAREABLE_FIELDS
from app.policy.permissions import Role
from app.referrals import packet as packets
from app.referrals.models import Referral
from app.security.clock import FrozenClock
from tests.conftest import StatementCounter
from tests.factories import make_case, make_draft_referral, make_partner, make_team
from tests.pages.registry import Visitor
from tests.pages.visits.attachments import Desk, desk, keyring_of

CHECKBOX = re.compile(r'<input type="checkbox"[^>]*name="fields"[^>]*>')


@pytest.fixture
def v(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    """A browser in English."""
    return Visitor(client=client, db=db, clock=clock, locale="en")


def _count(db: Session, d: Desk) -> int:
    return db.scalar(select(func.count()).where(Referral.case_id == d.case.id)) or 0


def _draft(v: Visitor, d: Desk, fields: list[str], note: str = "") -> None:
    page = v.client.get(d.url + "/referrals")
    assert d.partner is not None
    data: dict[str, object] = {
        "csrf_token": v.csrf(page.text),
        "partner_id": str(d.partner.id),
        "fields": fields,
        "note": note,
    }
    r = v.client.post(d.url + "/referrals", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text[:400]


def test_the_form_offers_confirmed_partners_with_their_fingerprint_and_ticks_nothing(
    v: Visitor, db: Session
) -> None:
    d = desk(v, Role.CASEWORKER, partner=True)
    unconfirmed, _ = make_partner(db, "Unvetted Help Desk", confirmed=False)
    html = v.client.get(d.url + "/referrals").text
    assert d.partner is not None
    assert d.partner.name in html
    fingerprint = packets.key_id(packets.decode_public_key(d.partner.public_key))
    assert f"<code>{fingerprint}</code>" in html
    assert unconfirmed.name not in html
    boxes = CHECKBOX.findall(html)
    assert boxes, "no field to tick"
    assert not [b for b in boxes if "checked" in b], "a field is ticked by default"
    offered = re.findall(r'name="fields" value="([a-z_]+)"', html)
    assert offered == list(SHAREABLE_FIELDS), "offered fields differ from the policy's"
    assert "movement" not in offered, "the movement plan is never shareable"


def test_tick_two_fields_send_and_the_packet_holds_exactly_them(v: Visitor, db: Session) -> None:
    d = desk(v, Role.COORDINATOR, partner=True)
    # desk() recorded the person's consent to share with exactly this partner.
    _draft(v, d, ["date_of_birth", "situation"], note="Hearing in March.")
    page = v.client.get(d.url + "/referrals")
    assert "Prepared, not sent" in page.text
    ref = db.scalars(select(Referral).where(Referral.case_id == d.case.id)).one()
    # No packet before it is sent.
    assert f"/referrals/{ref.id}/packet" not in page.text
    assert v.client.get(f"/referrals/{ref.id}/packet").status_code == 409
    sent = v.client.post(
        f"/referrals/{ref.id}/status",
        data={"csrf_token": v.csrf(page.text), "status": "sent"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"].endswith("/referrals?done=referral_sent")
    listed = v.client.get(d.url + "/referrals").text
    assert f"/referrals/{ref.id}/packet" in listed
    got = v.client.get(f"/referrals/{ref.id}/packet")
    assert got.status_code == 200
    assert got.headers["content-disposition"].startswith("attachment;")
    assert d.partner_key is not None
    opened = packets.open_packet(got.content, d.partner_key)
    assert set(opened.body["fields"]) == {"date_of_birth", "situation"}
    assert opened.body["note"] == "Hearing in March."
    assert opened.body["case_code"] == d.case.case_code


def test_status_moves_follow_the_service(v: Visitor, db: Session) -> None:
    d = desk(v, Role.CASEWORKER, partner=True)
    _draft(v, d, ["situation"])
    ref = db.scalars(select(Referral).where(Referral.case_id == d.case.id)).one()
    token = v.csrf(v.client.get(d.url + "/referrals").text)
    # Straight from draft to completed: refused at the top of the page, nothing changed.
    r = v.client.post(
        f"/referrals/{ref.id}/status", data={"csrf_token": token, "status": "completed"}
    )
    assert r.status_code == 409
    assert 'id="f-status-error"' in r.text
    db.refresh(ref)
    assert ref.status == "draft"
    for status in ("sent", "accepted", "completed"):
        data = {"csrf_token": token, "status": status}
        assert v.client.post(f"/referrals/{ref.id}/status", data=data).status_code == 200
        db.refresh(ref)
        assert ref.status == status
    assert "Completed" in v.client.get(d.url + "/referrals").text


def test_errors_are_beside_their_fields_input_is_kept_and_nothing_is_written(
    v: Visitor, db: Session
) -> None:
    d = desk(v, Role.CASEWORKER, partner=True)
    token = v.csrf(v.client.get(d.url + "/referrals").text)
    r = v.client.post(d.url + "/referrals", data={"csrf_token": token, "note": "Keep this note"})
    assert r.status_code == 422
    assert 'id="f-partner_id-error"' in r.text
    assert 'id="f-fields-error"' in r.text
    assert "f-fields-hint f-fields-error" in r.text
    assert "Keep this note" in r.text
    # A partner the person has not consented to: refused beside the partner, ticks kept.
    stranger, _ = make_partner(db, "Other Aid Network")
    data = {"csrf_token": token, "partner_id": str(stranger.id), "fields": ["situation", "unit"]}
    r = v.client.post(d.url + "/referrals", data=data)
    assert r.status_code == 422
    assert "has not agreed to sharing with this partner" in r.text
    ticked = [b for b in CHECKBOX.findall(r.text) if "checked" in b]
    assert len(ticked) == 2
    # A forged field name and a forged partner id.
    assert d.partner is not None
    data = {"csrf_token": token, "partner_id": str(d.partner.id), "fields": ["movement"]}
    assert v.client.post(d.url + "/referrals", data=data).status_code == 422
    data = {"csrf_token": token, "partner_id": str(uuid.uuid4()), "fields": ["situation"]}
    assert v.client.post(d.url + "/referrals", data=data).status_code == 422
    assert _count(db, d) == 0


def test_csrf_is_required(v: Visitor, db: Session) -> None:
    d = desk(v, Role.CASEWORKER, partner=True)
    assert d.partner is not None
    data = {"partner_id": str(d.partner.id), "fields": "situation"}
    assert v.client.post(d.url + "/referrals", data=data).status_code == 403
    assert v.client.post(d.url + "/referrals", data=data | {"csrf_token": "x"}).status_code == 403
    assert _count(db, d) == 0
    _draft(v, d, ["situation"])
    ref = db.scalars(select(Referral).where(Referral.case_id == d.case.id)).one()
    assert v.client.post(f"/referrals/{ref.id}/status", data={"status": "sent"}).status_code == 403
    db.refresh(ref)
    assert ref.status == "draft"


def test_roles_and_scopes(v: Visitor, db: Session) -> None:
    partner, _ = make_partner(db)
    other_case = make_case(db, keyring=keyring_of(v), team=make_team(db))
    other_ref = make_draft_referral(db, case=other_case, partner=partner)
    d = desk(v, Role.COORDINATOR, partner=True)
    token = v.csrf(v.client.get(d.url + "/referrals").text)
    assert v.client.get(f"/cases/{other_case.id}/referrals").status_code == 404
    assert v.client.get(f"/cases/{uuid.uuid4()}/referrals").status_code == 404
    data = {"csrf_token": token, "status": "sent"}
    assert v.client.post(f"/referrals/{other_ref.id}/status", data=data).status_code == 404
    assert v.client.post(f"/referrals/{uuid.uuid4()}/status", data=data).status_code == 404
    assert v.client.get(f"/referrals/{other_ref.id}/packet").status_code == 404
    post = {"csrf_token": token, "partner_id": str(partner.id), "fields": "situation"}
    assert v.client.post(f"/cases/{other_case.id}/referrals", data=post).status_code == 404
    for role in (Role.VOLUNTEER, Role.ADMIN, Role.AUDITOR):
        v.client.cookies.clear()
        v.signed_in(role)
        assert v.client.get(d.url + "/referrals").status_code == 403


def test_the_list_sends_as_many_statements_for_five_referrals_as_for_one(
    v: Visitor, db: Session, sql_statements: StatementCounter
) -> None:
    d = desk(v, Role.CASEWORKER, partner=True)
    assert d.partner is not None
    make_draft_referral(db, case=d.case, partner=d.partner)
    with sql_statements.counting() as one:
        assert v.client.get(d.url + "/referrals").status_code == 200
    for _ in range(4):
        make_draft_referral(db, case=d.case, partner=make_partner(db)[0])
    with sql_statements.counting() as five:
        assert v.client.get(d.url + "/referrals").text.count("<h3>") == 5
    assert len(five) == len(one), "\n".join(five)
