"""Partners and referrals through the API: consent per partner, ticked fields only, a packet
the partner opens with `haven referral open`, the status machine, consent withdrawal, the
follow-up gate, and scope (404), role (403) and anonymous (401) refusals."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.cases.models import Case
from app.cli import cli
from app.crypto.keyring import Keyring
from app.policy.permissions import Visibility
from app.referrals import service
from app.referrals.errors import ReferralStatusNotAllowed
from app.referrals.models import Referral
from app.referrals.rules import ReferralStatus
from app.security.clock import FrozenClock
from tests.factories import CaseWorld, actor_of, changed_meanwhile

GIVEN = "2026-11-01T10:00:00+00:00"
WITHDRAWN = "2026-11-20T10:00:00+00:00"
CHOSEN = ["legal_name", "date_of_birth", "situation", "criminal_case"]
PERSON = {
    "legal_name": "Арсений Вымышленный-Тестов",
    "date_of_birth": "1999-03-14",
    "situation": "deserted",
    "criminal_case": {"article": "337", "status": "opened", "notes": "Synthetic case file"},
    "unit": "Synthetic unit 00000",
    "intake_notes": "Invented interview text, never shared",
}
NOTE = "Asylum hearing in three weeks; please call the caseworker first."


def keygen(tmp_path: Path, name: str = "partner.key") -> tuple[str, Path]:
    """A partner key pair made the way a partner makes it: public key text and key file."""
    key_file = tmp_path / name
    result = CliRunner().invoke(cli, ["partner", "keygen", "--out", str(key_file)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1], key_file


def add_partner(
    client: TestClient,
    world: CaseWorld,
    public_key: str,
    *,
    who: str = "coord",
    extra: dict[str, Any] | None = None,
) -> httpx.Response:
    body = {
        "name": f"Synthetic Legal Aid {uuid.uuid4().hex[:6]}",
        "services": ["legal", "asylum"],
        "countries": ["DE", "LT"],
        "public_key": public_key,
        **(extra or {}),
    }
    return client.post("/api/v1/partners", json=body, headers=world.headers[who])


def consent_id(*parts: str) -> str:
    """A stable id per consent, so a list sent again names the same consents (a consent is
    never dropped from a case: it is withdrawn, and a consent given again is a new one)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "haven-test-consent:" + ":".join(parts)))


def share(partner_id: str, *, withdrawn: bool = False, again: int = 0) -> dict[str, Any]:
    return {
        "id": consent_id("share", partner_id, str(again)),
        "purpose": "share_with_partner",
        "partner": partner_id,
        "legal_basis": "consent",
        "given_at": GIVEN,
        "withdrawn_at": WITHDRAWN if withdrawn else None,
    }


def store(*, withdrawn: bool = False) -> dict[str, Any]:
    return {
        "id": consent_id("store"),
        "purpose": "store",
        "legal_basis": "consent",
        "given_at": GIVEN,
        "withdrawn_at": WITHDRAWN if withdrawn else None,
    }


def patch_case(
    client: TestClient, world: CaseWorld, changes: dict[str, Any], *, case: Case | None = None,
    who: str = "worker",
) -> httpx.Response:  # fmt: skip
    url = f"/api/v1/cases/{(case or world.case_a).id}"
    version = client.get(url, headers=world.headers[who]).json()["version"]
    r = client.patch(url, json={"version": version, **changes}, headers=world.headers[who])
    assert r.status_code == 200, r.text
    return r


def refer(
    client: TestClient, world: CaseWorld, partner_id: str, *, fields: list[str] | None = None,
    case: Case | None = None, who: str = "worker", note: str | None = NOTE,
) -> httpx.Response:  # fmt: skip
    body = {"partner_id": partner_id, "fields": fields or CHOSEN, "note": note}
    url = f"/api/v1/cases/{(case or world.case_a).id}/referrals"
    return client.post(url, json=body, headers=world.headers[who])


def set_status(
    client: TestClient, world: CaseWorld, ref_id: str, status: str, who: str = "worker"
) -> httpx.Response:
    return client.patch(
        f"/api/v1/referrals/{ref_id}", json={"status": status}, headers=world.headers[who]
    )


@pytest.fixture
def partner(client: TestClient, world: CaseWorld, tmp_path: Path) -> tuple[str, Path]:
    """A partner made through the API with a key pair from `haven partner keygen`; the
    person consented to store and to share with it. Returns its id and private key file."""
    public_key, key_file = keygen(tmp_path)
    r = add_partner(client, world, public_key)
    assert r.status_code == 201, r.text
    patch_case(client, world, {**PERSON, "consents": [store(), share(r.json()["id"])]})
    return r.json()["id"], key_file


def _entries(db: Session, action: AuditAction) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action.value)))


# --- partners -------------------------------------------------------------------------


def test_partner_routes_by_role(
    client: TestClient, db: Session, world: CaseWorld, tmp_path: Path
) -> None:
    public_key, _ = keygen(tmp_path)
    for who in ("coord", "admin"):
        r = add_partner(client, world, public_key, who=who)
        assert r.status_code == 201, r.text
        assert r.json()["key_id"]
    for who in ("worker", "volunteer", "auditor"):
        assert add_partner(client, world, public_key, who=who).status_code == 403
    assert client.post("/api/v1/partners", json={}).status_code == 401
    for who in ("coord", "admin", "worker"):
        listed = client.get("/api/v1/partners", headers=world.headers[who])
        assert listed.status_code == 200
        assert len(listed.json()["items"]) == 2
    for who in ("volunteer", "auditor"):
        assert client.get("/api/v1/partners", headers=world.headers[who]).status_code == 403
    assert client.get("/api/v1/partners").status_code == 401
    created = _entries(db, AuditAction.PARTNER_CREATED)
    assert len(created) == 2
    assert created[0].fields == ["countries", "name", "public_key", "services"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"public_key": "not-a-key"}, "public_key"),
        ({"public_key": "haven-partner-x25519:AAAA"}, "public_key"),
        ({"services": ["legal aid"]}, "services.0"),
        ({"countries": ["XX"]}, "countries.0"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_partner_input_is_validated(
    client: TestClient, world: CaseWorld, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    public_key, _ = keygen(tmp_path)
    r = add_partner(client, world, public_key, extra=change)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_partner_names_are_unique(client: TestClient, world: CaseWorld, tmp_path: Path) -> None:
    public_key, _ = keygen(tmp_path)
    same = {"name": "Synthetic Shelter"}
    assert add_partner(client, world, public_key, extra=same).status_code == 201
    r = add_partner(client, world, public_key, extra=same)
    assert r.status_code == 409
    assert r.json()["code"] == "partner_exists"


# --- referrals: consent and fields ----------------------------------------------------


def _referral_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Referral)) or 0)


def test_a_referral_needs_share_consent_for_exactly_that_partner(
    client: TestClient, db: Session, world: CaseWorld, tmp_path: Path
) -> None:
    one = add_partner(client, world, keygen(tmp_path, "1.key")[0]).json()["id"]
    two = add_partner(client, world, keygen(tmp_path, "2.key")[0]).json()["id"]
    r = refer(client, world, one)
    assert r.status_code == 409
    assert r.json()["code"] == "share_consent_required"
    patch_case(client, world, {"consents": [store(), share(two)]})  # another partner only
    assert refer(client, world, one).json()["code"] == "share_consent_required"
    patch_case(client, world, {"consents": [store(), share(two), share(one, withdrawn=True)]})
    assert refer(client, world, one).json()["code"] == "share_consent_required"
    assert _referral_count(db) == 0
    r = refer(client, world, two)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft"
    assert r.json()["fields"] == CHOSEN
    assert r.json()["note"] == NOTE
    (entry,) = _entries(db, AuditAction.REFERRAL_CREATED)
    assert entry.fields == sorted([*CHOSEN, "note"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": ["vetting"]}, "fields.0"),
        ({"fields": ["legal_name", "movement"]}, "fields.1"),
        ({"fields": ["intake_notes"]}, "fields.0"),
        ({"fields": ["no_such_field"]}, "fields.0"),
        ({"fields": []}, "fields"),
        ({"fields": ["legal_name", "legal_name"]}, "body"),
        ({"partner_id": "not-a-uuid"}, "partner_id"),
    ],
)
def test_referral_fields_must_be_shareable_case_fields(
    client: TestClient,
    db: Session,
    world: CaseWorld,
    partner: tuple[str, Path],
    body: dict[str, Any],
    field: str,
) -> None:
    payload = {"partner_id": partner[0], "fields": CHOSEN, **body}
    r = client.post(
        f"/api/v1/cases/{world.case_a.id}/referrals", json=payload, headers=world.headers["worker"]
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert _referral_count(db) == 0


def test_an_unknown_partner_is_422_naming_partner_id(
    client: TestClient, world: CaseWorld, partner: tuple[str, Path]
) -> None:
    r = refer(client, world, str(uuid.uuid4()))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "partner_id"


def test_only_fields_the_senders_role_may_see(
    client: TestClient, world: CaseWorld, partner: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def hide_name(role: object, field: str) -> Visibility:
        return Visibility.HIDDEN if field == "legal_name" else Visibility.FULL

    monkeypatch.setattr("app.referrals.service.visibility", hide_name)
    r = refer(client, world, partner[0])
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "fields", "message": "your role may not see legal_name"}
    ]
    assert refer(client, world, partner[0], fields=["situation"]).status_code == 201


# --- the packet -----------------------------------------------------------------------


def test_sent_packet_opens_with_the_partners_key_and_holds_exactly_the_chosen_fields(
    client: TestClient, db: Session, world: CaseWorld, partner: tuple[str, Path], tmp_path: Path
) -> None:
    partner_id, key_file = partner
    ref = refer(client, world, partner_id).json()
    packet_url = f"/api/v1/referrals/{ref['id']}/packet"
    r = client.get(packet_url, headers=world.headers["worker"])
    assert r.status_code == 409
    assert r.json()["code"] == "referral_not_sent"

    sent = set_status(client, world, ref["id"], "sent")
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    assert sent.json()["has_packet"] is True
    r = client.get(packet_url, headers=world.headers["coord"])
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"].startswith('attachment; filename="referral-HV-')
    assert "Вымышленный".encode() not in r.content
    assert "Вымышленный".encode("unicode_escape") not in r.content

    packet_file = tmp_path / "packet.json"
    packet_file.write_bytes(r.content)
    opened = CliRunner().invoke(cli, ["referral", "open", str(packet_file), "--key", str(key_file)])
    assert opened.exit_code == 0, opened.output
    content = json.loads(opened.stdout)
    assert set(content["fields"]) == set(CHOSEN)
    assert content["fields"] == {name: PERSON[name] for name in CHOSEN}
    assert content["case_code"] == world.case_a.case_code
    assert content["note"] == NOTE
    assert content["referral_id"] == ref["id"]
    assert "Synthetic unit" not in opened.stdout  # not ticked: not in the packet
    assert "Invented interview" not in opened.stdout

    (read,) = _entries(db, AuditAction.REFERRAL_PACKET_READ)
    assert read.fields == sorted(CHOSEN)
    # The stored packet is wrapped again under the case key: not the bytes handed out.
    row = db.get_one(Referral, uuid.UUID(ref["id"]))
    assert row.packet is not None
    assert r.content not in row.packet


def test_another_partners_key_cannot_open_the_packet(
    client: TestClient, world: CaseWorld, partner: tuple[str, Path], tmp_path: Path
) -> None:
    ref = refer(client, world, partner[0]).json()
    set_status(client, world, ref["id"], "sent")
    packet = client.get(f"/api/v1/referrals/{ref['id']}/packet", headers=world.headers["worker"])
    (tmp_path / "p.json").write_bytes(packet.content)
    _, other_key = keygen(tmp_path, "other.key")
    result = CliRunner().invoke(
        cli, ["referral", "open", str(tmp_path / "p.json"), "--key", str(other_key)]
    )
    assert result.exit_code == 1
    assert "Вымышленный" not in result.output


def test_status_machine(
    client: TestClient, db: Session, world: CaseWorld, partner: tuple[str, Path]
) -> None:
    ref = refer(client, world, partner[0]).json()["id"]
    r = set_status(client, world, ref, "accepted")
    assert r.status_code == 409
    assert r.json()["code"] == "referral_status_not_allowed"
    assert r.json()["allowed"] == ["sent"]
    assert set_status(client, world, ref, "sent").status_code == 200
    assert set_status(client, world, ref, "sent").status_code == 409
    assert set_status(client, world, ref, "accepted").status_code == 200
    assert set_status(client, world, ref, "completed", who="coord").status_code == 200
    r = set_status(client, world, ref, "declined")
    assert (r.status_code, r.json()["allowed"]) == (409, [])
    assert set_status(client, world, ref, "draft").status_code == 409
    assert set_status(client, world, ref, "bogus").status_code == 422
    codes = [e.reason_code for e in _entries(db, AuditAction.REFERRAL_UPDATED)]
    hexid = uuid.UUID(ref).hex
    assert sorted(codes) == sorted(
        f"referral:{hexid}:{t}" for t in ("draft->sent", "sent->accepted", "accepted->completed")
    )
    listed = client.get(
        f"/api/v1/cases/{world.case_a.id}/referrals", headers=world.headers["coord"]
    )
    assert [(x["id"], x["status"], x["note"]) for x in listed.json()["items"]] == [
        (ref, "completed", NOTE)
    ]


def test_a_move_from_a_status_already_left_is_refused_not_repeated(
    client: TestClient,
    db: Session,
    world: CaseWorld,
    partner: tuple[str, Path],
    keyring: Keyring,
    clock: FrozenClock,
) -> None:
    """Two sends at once (two tabs, two colleagues): each move is made in the database only
    from the status read, so the second finds it gone and is refused before it seals a
    second packet. Here another request has sent it while this one holds it as read."""
    ref_id = refer(client, world, partner[0]).json()["id"]
    held = db.get_one(Referral, uuid.UUID(ref_id))
    assert held.status == "draft"  # as this request read it
    changed_meanwhile(db, held, status="sent")
    with pytest.raises(ReferralStatusNotAllowed):
        service.change_status(
            db, keyring=keyring, actor=actor_of(db, world.users["worker"]), case=world.case_a,
            ref=held, status=ReferralStatus.SENT, now=clock.now(),
        )  # fmt: skip
    moves = [e.reason_code for e in _entries(db, AuditAction.REFERRAL_UPDATED)]
    assert not [m for m in moves if m and held.id.hex in m], "moved again from a stale read"
    assert held.status == "sent"  # read again: the stored status, not the one held


# --- consent effects (issue 6, item 9) ------------------------------------------------


def test_withdrawing_share_consent_blocks_pending_referrals(
    client: TestClient, world: CaseWorld, partner: tuple[str, Path]
) -> None:
    partner_id = partner[0]
    draft = refer(client, world, partner_id).json()["id"]
    sent = refer(client, world, partner_id).json()["id"]
    assert set_status(client, world, sent, "sent").status_code == 200
    patch_case(client, world, {"consents": [store(), share(partner_id, withdrawn=True)]})

    listed = client.get(
        f"/api/v1/cases/{world.case_a.id}/referrals", headers=world.headers["worker"]
    )
    assert {x["id"]: x["blocked"] for x in listed.json()["items"]} == {draft: True, sent: True}
    r = set_status(client, world, draft, "sent")
    assert (r.status_code, r.json()["code"]) == (409, "referral_blocked")
    r = client.get(f"/api/v1/referrals/{sent}/packet", headers=world.headers["worker"])
    assert (r.status_code, r.json()["code"]) == (409, "referral_blocked")
    # Consent given again does not revive a blocked referral; a new one is needed.
    again = [store(), share(partner_id, withdrawn=True), share(partner_id, again=1)]
    patch_case(client, world, {"consents": again})
    assert set_status(client, world, draft, "sent").json()["code"] == "referral_blocked"
    assert refer(client, world, partner_id).status_code == 201


def test_withdrawing_store_consent_flags_the_case_for_an_erasure_decision(
    client: TestClient, db: Session, world: CaseWorld
) -> None:
    patch_case(client, world, {"consents": [store()]})
    db.refresh(world.case_a)
    assert world.case_a.erasure_decision_due is False
    patch_case(client, world, {"consents": [store(withdrawn=True)]})
    db.refresh(world.case_a)
    assert world.case_a.erasure_decision_due is True


# --- the follow-up gate ---------------------------------------------------------------


def test_follow_up_needs_a_sent_referral(
    client: TestClient, world: CaseWorld, partner: tuple[str, Path]
) -> None:
    url = f"/api/v1/cases/{world.case_a.id}/transition"
    headers = world.headers["worker"]
    patch_case(client, world, {"risk_level": "high", "needs": ["legal", "asylum"]})
    for stage in ("documentation", "referral"):
        assert client.post(url, json={"to": stage}, headers=headers).status_code == 200
    refused = client.post(url, json={"to": "follow_up"}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["missing"] == ["referrals: a referral that was sent"]
    ref = refer(client, world, partner[0]).json()["id"]
    assert client.post(url, json={"to": "follow_up"}, headers=headers).status_code == 409
    set_status(client, world, ref, "sent")
    moved = client.post(url, json={"to": "follow_up"}, headers=headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["stage"] == "follow_up"


# --- scope, roles, anonymous ----------------------------------------------------------


def test_referrals_are_reachable_only_through_a_readable_case(
    client: TestClient, world: CaseWorld, partner: tuple[str, Path]
) -> None:
    partner_id = partner[0]
    patch_case(client, world, {"consents": [share(partner_id)]}, case=world.case_b, who="worker_b")
    theirs = refer(client, world, partner_id, case=world.case_b, who="worker_b").json()["id"]
    mine = refer(client, world, partner_id).json()["id"]
    set_status(client, world, mine, "sent")
    for who in ("worker", "worker2", "coord"):  # case B is outside all of them
        assert set_status(client, world, theirs, "sent", who=who).status_code == 404
        url = f"/api/v1/referrals/{theirs}/packet"
        assert client.get(url, headers=world.headers[who]).status_code == 404
    assert set_status(client, world, mine, "accepted", who="worker2").status_code == 404
    for forged in (uuid.uuid4(), world.case_a.id):
        assert set_status(client, world, str(forged), "sent").status_code == 404
    # The case routes: another team's case answers 404 for its list and for a new referral.
    for who, case in (("worker", world.case_b), ("coord_b", world.case_a)):
        url = f"/api/v1/cases/{case.id}/referrals"
        assert client.get(url, headers=world.headers[who]).status_code == 404
        assert refer(client, world, partner_id, case=case, who=who).status_code == 404
    packet = client.get(f"/api/v1/referrals/{mine}/packet", headers=world.headers["coord"])
    assert packet.status_code == 200


@pytest.mark.parametrize("who", ["admin", "auditor", "volunteer"])
def test_roles_without_referral_permissions_get_403(
    client: TestClient, world: CaseWorld, partner: tuple[str, Path], who: str
) -> None:
    ref = refer(client, world, partner[0]).json()["id"]
    headers = world.headers[who]
    assert refer(client, world, partner[0], who=who).status_code == 403
    assert (
        client.get(f"/api/v1/cases/{world.case_a.id}/referrals", headers=headers).status_code == 403
    )
    assert set_status(client, world, ref, "sent", who=who).status_code == 403
    assert client.get(f"/api/v1/referrals/{ref}/packet", headers=headers).status_code == 403


def test_anonymous_gets_401(
    client: TestClient, world: CaseWorld, partner: tuple[str, Path]
) -> None:
    ref = refer(client, world, partner[0]).json()["id"]
    case_url = f"/api/v1/cases/{world.case_a.id}/referrals"
    assert client.post(case_url, json={}).status_code == 401
    assert client.get(case_url).status_code == 401
    assert client.patch(f"/api/v1/referrals/{ref}", json={"status": "sent"}).status_code == 401
    assert client.get(f"/api/v1/referrals/{ref}/packet").status_code == 401


# --- partners: a coordinator vouches for the key -------------------------------------


def _confirm(
    client: TestClient, world: CaseWorld, partner_id: str, key_id: str, who: str = "coord"
) -> httpx.Response:
    return client.post(
        f"/api/v1/partners/{partner_id}/confirm",
        json={"key_id": key_id},
        headers=world.headers[who],
    )


def test_nothing_goes_to_a_partner_an_admin_registered_until_a_coordinator_confirms_it(
    client: TestClient, db: Session, world: CaseWorld, tmp_path: Path
) -> None:
    """An admin sees no case content; registering a partner whose key the admin holds must
    not let them read the packets. The coordinator compares the fingerprint with the
    partner over another channel first."""
    public_key, _ = keygen(tmp_path)
    made = add_partner(client, world, public_key, who="admin").json()
    assert made["confirmed"] is False
    patch_case(client, world, {**PERSON, "consents": [store(), share(made["id"])]})
    ref = refer(client, world, made["id"])
    assert ref.status_code == 201, ref.text  # a draft is harmless
    refused = set_status(client, world, ref.json()["id"], "sent")
    assert refused.status_code == 409
    assert refused.json()["code"] == "partner_unconfirmed"
    row = db.get_one(Referral, uuid.UUID(ref.json()["id"]))
    db.refresh(row)
    assert (row.status, row.packet) == ("draft", None)  # nothing sealed, nothing half-done

    assert _confirm(client, world, made["id"], made["key_id"], who="admin").status_code == 403
    assert _confirm(client, world, made["id"], made["key_id"], who="worker").status_code == 403
    wrong = _confirm(client, world, made["id"], "0" * 16)
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.json()["errors"]] == ["key_id"]
    assert _entries(db, AuditAction.PARTNER_CONFIRMED) == []

    spaced = " ".join(made["key_id"][i : i + 4] for i in range(0, 16, 4)).upper()
    ok = _confirm(client, world, made["id"], spaced)  # as read out over the phone
    assert ok.status_code == 200, ok.text
    assert ok.json()["confirmed"] is True
    (entry,) = _entries(db, AuditAction.PARTNER_CONFIRMED)
    assert (entry.actor_id, entry.object_id) == (world.users["coord"].id, made["id"])
    assert set_status(client, world, ref.json()["id"], "sent").status_code == 200


def test_a_partner_a_coordinator_registered_is_confirmed_by_them(
    client: TestClient, world: CaseWorld, tmp_path: Path
) -> None:
    made = add_partner(client, world, keygen(tmp_path)[0], who="coord").json()
    assert made["confirmed"] is True
    listed = client.get("/api/v1/partners", headers=world.headers["worker"]).json()["items"]
    assert [p["confirmed"] for p in listed if p["id"] == made["id"]] == [True]


@pytest.mark.parametrize("key_id", ["ключ-ключ-ключ-ключ", "0123", "g" * 16, "0" * 41])
def test_a_malformed_fingerprint_is_422_naming_key_id(
    client: TestClient, world: CaseWorld, tmp_path: Path, key_id: str
) -> None:
    made = add_partner(client, world, keygen(tmp_path)[0], who="admin").json()
    r = _confirm(client, world, made["id"], key_id)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["key_id"]


def test_confirming_an_unknown_partner_is_404(client: TestClient, world: CaseWorld) -> None:
    assert _confirm(client, world, str(uuid.uuid4()), "0" * 16).status_code == 404
