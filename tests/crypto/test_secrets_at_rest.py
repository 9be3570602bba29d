"""Secrets that belong to no case field: a TOTP secret and a break-glass reason are stored
only as ciphertext (raw SQLite file + WAL; PostgreSQL rows and pg_dump), still work through
the real sign-in and review paths, and refuse to open on another row."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.cases import break_glass
from app.config import Environment, Settings
from app.crypto.aead import DecryptionFailed
from app.crypto.keyring import Keyring
from app.crypto.system_keys import open_totp_secret
from app.db import transaction
from app.main import create_app
from app.policy.deps import Actor, AuthMethod
from app.policy.permissions import Role
from app.security import totp
from app.security.clock import FrozenClock
from app.users.models import User
from tests.conftest import ScratchDatabase
from tests.crypto.canary import hits, postgres_contents, scan_files
from tests.factories import PASSWORD, make_case, make_team, make_user

# Base32 (A-Z, 2-7), 32 characters: a valid TOTP secret that is also a unique canary.
TOTP_CANARY = "HAVENCANARYTOTPQXZWSECRETVKJMNBD"
REASON_CANARY = ("HAVENCANARYreasonQx7", "ПричинаКанарейкаЖЪ9")


def _store_canaries(factory: sessionmaker[Session], keyring: Keyring) -> tuple[User, User]:
    with transaction(factory) as s:
        s.info["keyring"] = keyring
        team = make_team(s)
        worker = make_user(s, Role.CASEWORKER, teams=[team])
        case = make_case(s, keyring=keyring, team=make_team(s))
        actor = Actor(worker.id, Role.CASEWORKER, frozenset({team.id}), AuthMethod.BEARER,
                      uuid.uuid4(), None)  # fmt: skip
        reason = f"{REASON_CANARY[0]} night call, {REASON_CANARY[1]}"
        grant = break_glass.open_grant(
            s, actor=actor, case=case, reason=reason, now=FrozenClock().now(), keyring=keyring
        )
        assert break_glass.reason_text(s, keyring=keyring, grant=grant) == reason
        coordinator = make_user(s, Role.COORDINATOR, teams=[team])
    return worker, coordinator


def test_totp_secret_and_break_glass_reason_are_ciphertext_at_rest(
    committed: tuple[Engine, sessionmaker[Session]],
    fresh_db: ScratchDatabase,
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, factory = committed
    monkeypatch.setattr(totp, "new_secret", lambda: TOTP_CANARY)
    worker, _ = _store_canaries(factory, keyring)
    # The real sign-in path decrypts the secret: a bearer token for password + code.
    settings = Settings(env=Environment.TEST, database_url=fresh_db.url,
                        audit_checkpoint_poll_seconds=0)  # fmt: skip
    clock = FrozenClock()
    app = create_app(settings, engine=engine, session_factory=factory, keyring=keyring, clock=clock)
    code = totp.code_at(TOTP_CANARY, totp.current_step(clock.now()))
    with TestClient(app, base_url="https://testserver") as client:
        r = client.post(
            "/api/v1/auth/token", json={"email": worker.email, "password": PASSWORD, "totp": code}
        )
    assert r.status_code == 200, r.text
    canaries = (TOTP_CANARY, *REASON_CANARY)
    if fresh_db.path is not None:
        wal = Path(f"{fresh_db.path}-wal")
        assert wal.exists()  # scanned before any checkpoint: the rows are in the WAL
        found = scan_files([fresh_db.path, wal, Path(f"{fresh_db.path}-journal")], canaries)
    else:
        found = hits(postgres_contents(fresh_db, engine), canaries)
    assert found == []


def test_scan_would_see_a_plaintext_secret(
    committed: tuple[Engine, sessionmaker[Session]], fresh_db: ScratchDatabase
) -> None:
    """Control: the same scan finds the canary when a column holds it in plain text."""
    engine, _ = committed
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE plain_control (v TEXT)"))
        conn.execute(text("INSERT INTO plain_control VALUES (:v)"), {"v": TOTP_CANARY})
    if fresh_db.path is not None:
        assert scan_files([fresh_db.path, Path(f"{fresh_db.path}-wal")], [TOTP_CANARY])
    else:
        assert hits(postgres_contents(fresh_db, engine), [TOTP_CANARY])


def test_a_totp_secret_moved_to_another_account_does_not_open(
    db: Session, keyring: Keyring
) -> None:
    anna, boris = make_user(db, Role.CASEWORKER), make_user(db, Role.CASEWORKER)
    assert anna.totp_secret is not None
    with pytest.raises(DecryptionFailed):
        open_totp_secret(keyring, user_id=boris.id, sealed=anna.totp_secret)
    stranger = Keyring()
    stranger.unseal_with_root(b"\x02" * 32)
    with pytest.raises(DecryptionFailed):
        open_totp_secret(stranger, user_id=anna.id, sealed=anna.totp_secret)
