"""Where a property rests on two mechanisms, each is tested alone: the first is bypassed and
the second must still hold.

- Field ciphertexts: per-case keys, and the case id (and field name) in the associated data.
- A disabled account: its sessions end at once, and a session of a disabled account is
  refused wherever it comes from.
- A TOTP code works once: the in-memory check of the last step used, and the conditional
  claim in the database.
- A stored column that fails to decrypt fails the read: never a 200 with a gap.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.cases.models import Case
from app.config import Settings
from app.crypto import aead
from app.crypto.ciphertext import Ciphertext
from app.crypto.envelope import OpenDataKey, decrypt_text, encrypt_text
from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.security import sessions, totp
from app.security.clock import FrozenClock
from tests.factories import PASSWORD, auth, bearer, code_for, make_case, make_team, make_user


def _key(keyring: Keyring, owner: uuid.UUID, raw: bytes) -> OpenDataKey:
    return OpenDataKey(
        key_id=uuid.uuid4(), owner_id=owner, cipher=aead.aesgcm(raw), keyring=keyring
    )


def test_with_one_key_for_two_cases_the_associated_data_still_binds_each_case(
    keyring: Keyring,
) -> None:
    """First layer bypassed: both cases share one data key. A ciphertext of case A still
    fails as case B's (the case id is in the associated data), and as another field of A."""
    raw = aead.new_key()
    a, b = _key(keyring, uuid.uuid4(), raw), _key(keyring, uuid.uuid4(), raw)
    sealed = encrypt_text(a, field="legal_name", value="Canary Person")
    assert decrypt_text(a, field="legal_name", ciphertext=sealed) == "Canary Person"
    with pytest.raises(aead.DecryptionFailed):
        decrypt_text(b, field="legal_name", ciphertext=sealed)
    with pytest.raises(aead.DecryptionFailed):
        decrypt_text(a, field="aliases", ciphertext=sealed)


def test_with_the_case_id_left_out_of_the_associated_data_the_key_still_binds_each_case(
    keyring: Keyring,
) -> None:
    """Second layer bypassed: both keys claim the same owner (so the associated data is the
    same). The other case's own key still cannot open the ciphertext."""
    owner = uuid.uuid4()
    a, b = _key(keyring, owner, aead.new_key()), _key(keyring, owner, aead.new_key())
    sealed = encrypt_text(a, field="legal_name", value="Canary Person")
    with pytest.raises(aead.DecryptionFailed):
        decrypt_text(b, field="legal_name", ciphertext=sealed)


def test_a_column_that_fails_to_decrypt_fails_the_read(
    client: TestClient, db: Session, keyring: Keyring, clock: FrozenClock, settings: Settings
) -> None:
    """One flipped byte in one stored field: the case read answers a clean error — never a
    200 with that field missing or empty, and never the other fields without it."""
    team = make_team(db)
    worker = make_user(db, Role.CASEWORKER, teams=[team])
    case = make_case(
        db,
        keyring=keyring,
        team=team,
        assigned_to=worker,
        values={"legal_name": "Canary Legalname", "current_city": "Canarytown"},
    )
    headers = auth(bearer(db, worker, clock=clock, settings=settings))
    before = client.get(f"/api/v1/cases/{case.id}", headers=headers)
    assert before.status_code == 200
    assert before.json()["legal_name"] == "Canary Legalname"
    stored = db.get_one(Case, case.id)
    data = bytearray(stored.legal_name.data)
    data[-1] ^= 0x01
    stored.legal_name = Ciphertext(bytes(data))
    db.flush()
    after = client.get(f"/api/v1/cases/{case.id}", headers=headers)
    assert after.status_code >= 500, after.text
    assert "Canarytown" not in after.text
    assert "Traceback" not in after.text
    assert after.json()["code"]


def test_a_disabled_accounts_session_is_refused_even_if_it_was_not_ended(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """First layer bypassed: disabling no longer ends the account's sessions. The session
    check still refuses a disabled account's bearer token."""
    admin = make_user(db, Role.ADMIN)
    team = make_team(db)
    worker = make_user(db, Role.CASEWORKER, teams=[team])
    worker_headers = auth(bearer(db, worker, clock=clock, settings=settings))
    assert client.get("/api/v1/me", headers=worker_headers).status_code == 200
    monkeypatch.setattr(sessions, "end_for_user", lambda *_a, **_k: None)
    r = client.patch(
        f"/api/v1/users/{worker.id}",
        json={"disabled": True},
        headers=auth(bearer(db, admin, clock=clock, settings=settings)),
    )
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/me", headers=worker_headers).status_code == 401


def test_a_used_totp_code_is_refused_by_the_claim_alone(
    client: TestClient,
    db: Session,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """First layer bypassed: the code check forgets the last step used. The conditional
    claim in the database still lets the same code through only once."""
    user = make_user(db, Role.CASEWORKER, teams=[make_team(db)])
    code = code_for(user, clock)
    body = {"email": user.email, "password": PASSWORD, "totp": code}
    assert client.post("/api/v1/auth/token", json=body).status_code == 200
    real, matched = totp.match_step, []

    def forgetful(secret: str, code: str, *, now: object, last_used_step: object) -> int | None:
        step = real(secret, code, now=now, last_used_step=None)  # type: ignore[arg-type]
        matched.append(step)
        return step

    monkeypatch.setattr(totp, "match_step", forgetful)
    assert client.post("/api/v1/auth/token", json=body).status_code == 401
    assert matched
    assert matched[-1] is not None  # the check let it by: the claim refused it
