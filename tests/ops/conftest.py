"""Fixtures for operations tests: a committed installation with synthetic cases, documents,
tasks and an audit log with checkpoints; a backup key pair."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.checkpoints import take_checkpoint, verifier_key
from app.audit.verify import VerifyReport, verify_log
from app.backup import age
from app.backup.create import stored_columns, tables
from app.backup.values import codec_for
from app.config import SealMode
from app.crypto import passphrase
from app.crypto.keyring import Keyring
from app.crypto.keystore import initialise_keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.documents.blobs import BlobStore
from app.migrate import upgrade
from app.policy.permissions import Role
from tests.conftest import ScratchDatabase, new_database
from tests.factories import make_case, make_document, make_task, make_team, make_user

ORIGIN = "haven.test/audit"


@dataclass
class Installation:
    """A migrated, committed database with its blob folder and unsealed keyring."""

    db: ScratchDatabase
    engine: Engine
    factory: sessionmaker[Session]
    blob_dir: Path
    keyring: Keyring
    root: bytes

    @property
    def url(self) -> str:
        return self.db.url

    def verify_audit(self) -> VerifyReport:
        with transaction(self.factory) as s:
            return verify_log(s, keys=[verifier_key(self.keyring, ORIGIN)], origin=ORIGIN)


def install(backend: str, tmp: Path, root: bytes, *, migrate: bool = True) -> Installation:
    tmp.mkdir(parents=True, exist_ok=True)
    db = new_database(backend, tmp)
    if migrate:
        upgrade(db.url)
    engine = make_engine(db.url)
    keyring = Keyring()
    keyring.unseal_with_root(root)
    blobs = tmp / f"blobs-{backend}"
    return Installation(db, engine, make_sessionmaker(engine), blobs, keyring, root)


PASSPHRASE = "an unseal passphrase for tests"
CHEAP = passphrase.Argon2Params(memory_kib=8, time_cost=1, parallelism=1)


def populate(inst: Installation, *, cases: int = 3, mode: SealMode = SealMode.DEV) -> None:
    """Synthetic people only: a team, staff, cases with documents and tasks, checkpoints.
    The keyring is initialised in `mode` (passphrase: PASSPHRASE, cheap Argon2)."""
    with transaction(inst.factory) as s:
        initialise_keyring(
            s,
            keyring=Keyring(),
            mode=mode,
            root=inst.root,
            passphrase_text=PASSPHRASE if mode is SealMode.PASSPHRASE else None,
            argon2=CHEAP,
        )
    store = BlobStore(inst.blob_dir)
    with transaction(inst.factory) as s:
        s.info["keyring"] = inst.keyring
        team = make_team(s, "Backup team")
        worker = make_user(s, Role.CASEWORKER, teams=[team], keyring=inst.keyring)
        volunteer = make_user(s, Role.VOLUNTEER, teams=[team], keyring=inst.keyring)
        for n in range(cases):
            case = make_case(
                s,
                keyring=inst.keyring,
                team=team,
                assigned_to=worker,
                values={"legal_name": f"Synthetic Person {n}", "unit": f"Unit {n}"},
            )
            make_document(
                s,
                keyring=inst.keyring,
                case=case,
                store=store,
                by=worker,
                body=secrets.token_bytes(70_000 + n),
                name=f"summons-{n}.pdf",
            )
            make_task(s, keyring=inst.keyring, case=case, volunteer=volunteer)
    with transaction(inst.factory) as s:
        take_checkpoint(s, keyring=inst.keyring, origin=ORIGIN)


def table_rows(conn: Connection) -> dict[str, list[list[Any]]]:
    """Every stored value of every table, as the backup encodes it (comparable across
    backends)."""
    found = {}
    for table in tables():
        names = stored_columns(table)
        encoders = [codec_for(table.c[n])[0] for n in names]
        order = list(table.primary_key.columns) or [table.c[names[0]]]
        rows = conn.execute(select(*(table.c[n] for n in names)).order_by(*order))
        found[table.name] = [[enc(v) for enc, v in zip(encoders, row, strict=True)] for row in rows]
    return found


def blob_hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


@pytest.fixture
def root() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def source(backend: str, tmp_path: Path, root: bytes) -> Iterator[Installation]:
    """A populated installation on the backend under test."""
    inst = install(backend, tmp_path / "source", root)
    populate(inst)
    yield inst
    inst.engine.dispose()
    inst.db.drop()


@pytest.fixture
def key_pair() -> tuple[age.Identity, age.Recipient]:
    identity, recipient = age.generate()
    return age.identity(identity), age.recipient(recipient)


def reads_everything(inst: Installation, keyring: Keyring | None = None) -> int:
    """Every case's fields and every document's bytes, through the services."""
    import uuid

    from app.cases import service as case_service
    from app.cases.models import Case
    from app.documents.models import Document
    from app.documents.service import open_download
    from app.policy.deps import Actor, AuthMethod
    from app.users.models import User

    ring = keyring or inst.keyring
    store = BlobStore(inst.blob_dir)
    read = 0
    with transaction(inst.factory) as s:
        worker = s.scalars(select(User).where(User.role == Role.CASEWORKER)).first()
        assert worker is not None
        for case in s.scalars(select(Case)):
            values = case_service.read_full(s, keyring=ring, case=case)
            assert values["legal_name"].startswith("Synthetic")
            actor = Actor(
                id=worker.id,
                role=Role.CASEWORKER,
                team_ids=frozenset({case.team_id}),
                auth=AuthMethod.BEARER,
                session_id=uuid.uuid4(),
                reauth_at=None,
            )
            for doc in s.scalars(select(Document).where(Document.case_id == case.id)):
                download = open_download(
                    s, keyring=ring, store=store, actor=actor, case=case, doc=doc
                )
                assert sum(len(c) for c in download.chunks) == doc.size
                read += 1
    return read
