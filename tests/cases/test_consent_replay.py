"""A withdrawn consent cannot be revived by replaying its ciphertext: the field AAD binds
case and field but no version, so someone with write access to the database can put back an
older ciphertext of `consents`. Attacked: the replayed consent must not let a referral be
created or sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.config import Settings
from app.crypto.keyring import Keyring
from app.security.clock import FrozenClock
from tests.factories import CaseWorld, case_world
from tests.referrals.test_api import PERSON, add_partner, keygen, patch_case, refer, share, store


@pytest.fixture
def world(db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings) -> CaseWorld:
    """Two teams, every role, one case per team."""
    return case_world(db, keyring=keyring, clock=clock, settings=settings)


def test_a_replayed_consent_ciphertext_cannot_send_a_referral(
    client: TestClient, db: Session, world: CaseWorld, tmp_path: Path
) -> None:
    public_key, _ = keygen(tmp_path)
    partner = add_partner(client, world, public_key).json()["id"]
    patch_case(client, world, {**PERSON, "consents": [store(), share(partner)]})
    draft = refer(client, world, partner)
    assert draft.status_code == 201, draft.text
    db.expire_all()
    given = db.get_one(Case, world.case_a.id).consents  # the ciphertext while consent stood
    patch_case(client, world, {"consents": [store(), share(partner, withdrawn=True)]})
    assert refer(client, world, partner).status_code == 409  # withdrawn: refused, as designed

    # The attacker writes the old ciphertext back (same case, same field: it decrypts).
    db.execute(update(Case).where(Case.id == world.case_a.id).values(consents=given))
    db.flush()

    again = refer(client, world, partner)
    assert again.status_code == 500, again.text
    assert again.json()["code"] == "case_damaged"
    sent = client.patch(
        f"/api/v1/referrals/{draft.json()['id']}",
        json={"status": "sent"},
        headers=world.headers["worker"],
    )
    assert sent.status_code in (409, 500), sent.text
    assert "has_packet" not in sent.text
    read = client.get(f"/api/v1/cases/{world.case_a.id}", headers=world.headers["worker"])
    assert read.status_code == 500
    assert PERSON["legal_name"] not in read.text
