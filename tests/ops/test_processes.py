"""Two Haven processes on one database (each with its own engine, keyring and app, as two
`haven serve` would have): a token made on one works on the other, sign-in throttles are
shared, concurrent writes through both keep the audit tree consistent, and a seal on one is
followed by the other within seconds, each then unsealed on its own."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.checkpoints import verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.tree import sequence_now
from app.audit.verify import verify_log
from app.config import Environment, SealMode, Settings
from app.crypto import passphrase
from app.crypto.keyring import Keyring
from app.crypto.keystore import initialise_keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.main import create_app
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import User
from tests.factories import By, code_for, make_team, make_user

PASSPHRASE = "two processes, one passphrase"
CHEAP = passphrase.Argon2Params(memory_kib=8, time_cost=1, parallelism=1)
ORIGIN = "haven.test/audit"
PASSWORD = "a long test password 42"


@dataclass
class Process:
    """One `haven serve`: its engine, keyring and HTTP client."""

    engine: Engine
    keyring: Keyring
    client: TestClient


@dataclass
class Cluster:
    a: Process
    b: Process
    factory: sessionmaker[Session]
    clock: FrozenClock
    email: str
    admin_email: str
    keyring: Keyring  # the test's own, to compute TOTP codes


@pytest.fixture
def cluster(
    committed: tuple[Engine, sessionmaker[Session]], fresh_db: object, tmp_path: Path
) -> Iterator[Cluster]:
    engine, factory = committed
    url = str(engine.url.render_as_string(hide_password=False))
    clock = FrozenClock()
    keyring = Keyring()
    with transaction(factory) as s:
        initialise_keyring(
            s, keyring=keyring, mode=SealMode.PASSPHRASE, passphrase_text=PASSPHRASE, argon2=CHEAP
        )
    with transaction(factory) as s:
        s.info["keyring"] = keyring
        team = make_team(s, "Both processes")
        worker = make_user(s, Role.CASEWORKER, teams=[team], password=PASSWORD, keyring=keyring)
        admin = make_user(s, Role.COORDINATOR, teams=[team], password=PASSWORD, keyring=keyring)
        email, admin_email = worker.email, admin.email
    settings = Settings(
        env=Environment.TEST,
        database_url=url,
        blob_dir=tmp_path / "blobs",
        key_file=tmp_path / "root.key",
        seal_mode=SealMode.PASSPHRASE,
        movement_purge_poll_seconds=0,
        audit_checkpoint_poll_seconds=0,
        seal_follow_poll_seconds=0.1,
    )
    with ExitStack() as stack:
        processes = []
        for _ in range(2):
            own_engine = make_engine(url)
            stack.callback(own_engine.dispose)
            ring = Keyring()
            app = create_app(settings, engine=own_engine, keyring=ring, clock=clock)
            client = stack.enter_context(
                TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
            )
            unsealed = client.post("/api/v1/sys/unseal", json={"key": PASSPHRASE})
            assert unsealed.json()["sealed"] is False, unsealed.text
            processes.append(Process(own_engine, ring, client))
        yield Cluster(processes[0], processes[1], factory, clock, email, admin_email, keyring)


def _token(cluster: Cluster, process: Process, email: str) -> str:
    with transaction(cluster.factory) as s:
        user = s.scalars(select(User).where(User.email == email)).one()
        code = code_for(user, cluster.clock, keyring=cluster.keyring)
    reply = process.client.post(
        "/api/v1/auth/token", json={"email": email, "password": PASSWORD, "totp": code}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def test_a_token_made_on_one_process_works_on_the_other(cluster: Cluster) -> None:
    token = _token(cluster, cluster.a, cluster.email)
    headers = {"Authorization": f"Bearer {token}"}
    me = cluster.b.client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == cluster.email
    # Ended on B, it is refused on A.
    assert cluster.b.client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert cluster.a.client.get("/api/v1/me", headers=headers).status_code == 401


def test_sign_in_throttles_are_shared(cluster: Cluster) -> None:
    wrong = {"email": cluster.email, "password": "not the password at all", "totp": "000000"}
    answers = []
    for n in range(5):  # the account-and-address limit is 5, counted across both processes
        process = cluster.a if n % 2 == 0 else cluster.b
        answers.append(process.client.post("/api/v1/auth/token", json=wrong).status_code)
    assert answers[:4] == [401, 401, 401, 401]
    # Locked for this address on both processes, even with the right password.
    for process in (cluster.a, cluster.b):
        right = {**wrong, "password": PASSWORD}
        assert process.client.post("/api/v1/auth/token", json=right).status_code == 423


def test_concurrent_writes_through_both_keep_the_audit_tree_consistent(cluster: Cluster) -> None:
    errors: list[BaseException] = []

    def write(engine: Engine) -> None:
        factory = make_sessionmaker(engine)
        try:
            for _ in range(15):
                with transaction(factory) as s:
                    record(s, AuditAction.CASE_READ, by=By(uuid.uuid4()), on=("case", uuid.uuid4()))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p.engine,)) for p in (cluster.a, cluster.b) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    # Each process's sequencer places the entries both committed (turned off in tests: here
    # once by hand from each, as two processes' sequencers would take turns).
    sequence_now(make_sessionmaker(cluster.a.engine))
    sequence_now(make_sessionmaker(cluster.b.engine))
    with transaction(cluster.factory) as s:
        report = verify_log(s, keys=[verifier_key(cluster.keyring, ORIGIN)], origin=ORIGIN)
    assert report.ok, report.findings
    assert report.entries >= 60


def _sealed(process: Process) -> bool:
    return bool(process.client.get("/api/v1/sys/health").json()["sealed"])


def test_a_seal_on_one_is_followed_by_the_other_and_each_unseals_on_its_own(
    cluster: Cluster,
) -> None:
    token = _token(cluster, cluster.a, cluster.admin_email)
    sealed = cluster.a.client.post("/api/v1/sys/seal", headers={"Authorization": f"Bearer {token}"})
    assert sealed.status_code == 200, sealed.text
    assert _sealed(cluster.a)
    deadline = time.monotonic() + 5
    while not _sealed(cluster.b) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sealed(cluster.b), "B did not follow A's seal within 5 seconds"
    # Each process is unsealed on its own; B stays unsealed (the old seal is not news).
    unsealed = cluster.b.client.post("/api/v1/sys/unseal", json={"key": PASSPHRASE})
    assert unsealed.json()["sealed"] is False
    time.sleep(0.5)  # several polls
    assert not _sealed(cluster.b)
    assert _sealed(cluster.a)
    assert cluster.a.client.post("/api/v1/sys/unseal", json={"key": PASSPHRASE}).status_code == 200
    assert not _sealed(cluster.a)
