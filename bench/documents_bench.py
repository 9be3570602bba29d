"""Document upload and download through the API, against raw attachment streaming.

    .venv/bin/python bench/documents_bench.py [--mib 25] [--rounds 3]

Runs the real app (SQLite file, temp blob folder) in-process: the upload goes through the
streaming multipart reader and chunk encryption; the download decrypts twice (the SHA-256
evidence check, then the streamed answer). Prints MiB/s beside a bare encrypt and decrypt
of the same bytes, and the ratios."""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from app.cases import service as case_service
from app.config import Environment, Settings
from app.crypto.envelope import OpenDataKey, create_data_key, open_data_key
from app.crypto.keyring import Keyring
from app.crypto.stream import CHUNK_BYTES, StreamEncryptor, decrypt_stream
from app.db import make_engine, make_sessionmaker, transaction
from app.main import create_app
from app.migrate import upgrade
from app.policy.permissions import Role
from app.security import sessions
from app.security.clock import SystemClock
from app.security.models import CredentialKind, SessionStage
from app.users import service as user_service


def _best(fn: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def _raw(dek: OpenDataKey, body: bytes, rounds: int) -> tuple[float, float]:
    blob_id = uuid.uuid4()
    sealed: list[bytes] = []

    def encrypt() -> None:
        enc = StreamEncryptor(dek, blob_id)
        sealed[:] = [
            enc.update(body[i : i + CHUNK_BYTES]) for i in range(0, len(body), CHUNK_BYTES)
        ]
        sealed.append(enc.finish())

    def decrypt() -> None:
        for _ in decrypt_stream(dek, blob_id, sealed):
            pass

    return _best(encrypt, rounds), _best(decrypt, rounds)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    body = secrets.token_bytes(args.mib * 1024 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        keyring = Keyring()
        keyring.unseal_with_root(secrets.token_bytes(32))
        settings = Settings(
            env=Environment.TEST,
            database_url=url,
            blob_dir=Path(tmp) / "blobs",
            max_upload_bytes=len(body),
        )
        with transaction(factory) as db:
            user = user_service.create_user(
                db, email="bench@example.invalid", role=Role.CASEWORKER, teams=["Bench"],
                password=secrets.token_urlsafe(16), one_time=False,
            ).user  # fmt: skip
            team_id = user_service.teams_of(db, user.id)[0].id
            case = case_service.create_case(
                db, keyring=keyring, actor=None, team_id=team_id, values={},
                now=datetime.now(UTC),
            )  # fmt: skip
            case.assigned_to = user.id
            token = sessions.create(
                db, user=user, kind=CredentialKind.BEARER, stage=SessionStage.FULL,
                now=datetime.now(UTC), settings=settings,
            ).token  # fmt: skip
            row = create_data_key(db, keyring=keyring, owner_id=uuid.uuid4())
            dek = open_data_key(db, keyring=keyring, key_id=row.id, owner_id=row.owner_id)
        app = create_app(settings, engine=engine, keyring=keyring, clock=SystemClock())
        client = TestClient(app, base_url="https://testserver")
        headers = {"Authorization": f"Bearer {token}"}
        docs = f"/api/v1/cases/{case.id}/documents"
        ids: list[str] = []

        def upload() -> None:
            r = client.post(docs, files={"file": ("b.bin", body)}, headers=headers)
            if r.status_code != 201:
                raise SystemExit(f"upload failed: {r.status_code} {r.text}")
            ids.append(r.json()["id"])

        def download() -> None:
            r = client.get(f"{docs}/{ids[-1]}", headers=headers)
            if r.status_code != 200 or r.content != body:
                raise SystemExit(f"download failed: {r.status_code}")

        up, down = _best(upload, args.rounds), _best(download, args.rounds)
        enc, dec = _raw(dek, body, args.rounds)
        engine.dispose()
    mib = args.mib
    table = Table(title=f"Documents: {mib} MiB, best of {args.rounds}")
    for col in ("operation", "seconds", "MiB/s", "vs raw"):
        table.add_column(col, justify="right" if col != "operation" else "left")
    table.add_row("raw stream encrypt", f"{enc:.3f}", f"{mib / enc:.0f}", "1.00")
    table.add_row("API upload (parse+encrypt+fsync+row)", f"{up:.3f}", f"{mib / up:.0f}",
                  f"{enc / up:.2f}")  # fmt: skip
    table.add_row("raw stream decrypt", f"{dec:.3f}", f"{mib / dec:.0f}", "1.00")
    table.add_row("API download (verify pass + stream)", f"{down:.3f}", f"{mib / down:.0f}",
                  f"{dec / down:.2f}")  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
