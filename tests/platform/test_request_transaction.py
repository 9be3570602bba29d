"""The request's transaction ends before its answer leaves: case content is not handed to
the client before its `case.read` audit entry is committed, and on SQLite a slow client
cannot hold the one write lock (BEGIN IMMEDIATE) and freeze every other request, the
panic-button seal included. Driven at the ASGI level against a really committing DB."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.audit.events import AuditAction
from app.audit.models import AuditEntry
from app.config import Environment, Settings
from app.crypto.keyring import Keyring
from app.main import create_app
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.conftest import ScratchDatabase
from tests.factories import bearer, make_case, make_team, make_user

CANARY_NAME = "Zakhar Revizorov"


@dataclass
class Live:
    app: FastAPI
    factory: sessionmaker[Session]
    token: str
    case_id: str
    db_path: str | None
    reader: sessionmaker[Session]


@pytest.fixture
def live(
    committed: tuple[Engine, sessionmaker[Session]],
    fresh_db: ScratchDatabase,
    keyring: Keyring,
    tmp_path: Any,
) -> Iterator[Live]:
    engine, factory = committed
    clock = FrozenClock(datetime.now(UTC))
    settings = Settings(
        env=Environment.TEST,
        database_url=fresh_db.url,
        blob_dir=tmp_path / "blobs",
        key_file=tmp_path / "root.key",
        secure_cookies=True,
    )
    with factory() as db:
        team = make_team(db, "Team R")
        worker = make_user(db, Role.CASEWORKER, teams=[team], keyring=keyring)
        case = make_case(
            db, keyring=keyring, team=team, assigned_to=worker, values={"legal_name": CANARY_NAME}
        )
        token = bearer(db, worker, clock=clock, settings=settings)
        case_id = str(case.id)
        db.commit()
    app = create_app(settings, engine=engine, session_factory=factory, keyring=keyring, clock=clock)
    # A plain reader (no BEGIN IMMEDIATE hook): in WAL mode it reads beside a writer.
    reader_engine = create_engine(fresh_db.url.replace("postgresql://", "postgresql+psycopg://"))
    path = str(fresh_db.path) if fresh_db.path else None
    yield Live(app, factory, token, case_id, path, sessionmaker(bind=reader_engine))
    reader_engine.dispose()


def _scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 443),
    }


def _reads(factory: sessionmaker[Session]) -> int:
    with factory() as other:
        return int(
            other.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == AuditAction.CASE_READ.value)
            )
            or 0
        )


def test_case_content_is_not_sent_before_its_read_is_audited(live: Live) -> None:
    """When the last byte of the case (legal name included) is handed to the client, the
    `case.read` entry is already committed (were the commit to run afterwards and fail, the
    client would keep the data with no trace)."""
    seen: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            seen["body"] = message["body"]
            seen["audited_reads_at_delivery"] = _reads(live.reader)

    headers = {"authorization": f"Bearer {live.token}", "host": "testserver"}
    asyncio.run(live.app(_scope("GET", f"/api/v1/cases/{live.case_id}", headers), receive, send))
    assert CANARY_NAME.encode() in seen["body"]
    assert _reads(live.reader) == 1  # committed eventually...
    assert seen["audited_reads_at_delivery"] == 1, "case content left before its audit entry"


def test_slow_upload_does_not_hold_the_sqlite_write_lock(live: Live, backend: str) -> None:
    """While a caseworker (or a slow Tor link) trickles an upload in, others can still write;
    were the lock held, every authenticated request (each starts BEGIN IMMEDIATE) would wait
    the 10 s busy timeout and fail, the sign-in and POST /sys/seal too."""
    if backend != "sqlite":
        pytest.skip("the global write lock is SQLite's; PostgreSQL holds a pooled connection")
    assert live.db_path is not None
    boundary = "slowboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4 synthetic "
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    stalled, release = threading.Event(), threading.Event()
    sent: list[int] = []

    async def receive_factory() -> Any:
        calls = {"n": 0}

        async def receive() -> dict[str, Any]:
            calls["n"] += 1
            if calls["n"] == 1:
                return {"type": "http.request", "body": head, "more_body": True}
            stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
            return {"type": "http.request", "body": tail, "more_body": False}

        return receive

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.append(message["status"])

    headers = {
        "authorization": f"Bearer {live.token}",
        "host": "testserver",
        "content-type": f"multipart/form-data; boundary={boundary}",
    }

    async def run() -> None:
        receive = await receive_factory()
        scope = _scope("POST", f"/api/v1/cases/{live.case_id}/documents", headers)
        await live.app(scope, receive, send)

    worker = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    worker.start()
    try:
        assert stalled.wait(10), "the upload never started streaming"
        con = sqlite3.connect(live.db_path, timeout=0.5, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")  # what any other request's transaction does first
            con.execute("ROLLBACK")
            blocked = False
        except sqlite3.OperationalError:
            blocked = True
        finally:
            con.close()
    finally:
        release.set()
        worker.join(30)
    assert sent == [201]
    assert not blocked, "a trickling upload holds SQLite's write lock: every other write waits"
