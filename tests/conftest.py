"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built by the migrations (alembic upgrade head), one database per xdist worker
and backend; each test runs inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.config import Environment, Settings
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.migrate import upgrade
from app.security import passwords
from app.security.clock import FrozenClock

POSTGRES_URL = os.environ.get("HAVEN_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    """In CI a missing PostgreSQL is a failure, never a silent skip."""
    if os.environ.get("CI") == "true" and not POSTGRES_URL:
        raise pytest.UsageError("CI=true but HAVEN_TEST_POSTGRES_URL is not set")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class ScratchDatabase:
    """A throwaway database for one backend: created, migrated, dropped."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        name = f"haven_test_{_worker()}_{secrets.token_hex(4)}"
        if backend == "sqlite":
            self.path: Path | None = tmp / f"{name}.db"
            self.url = f"sqlite:///{self.path}"
            self._admin: Engine | None = None
        else:
            self.path = None
            self.name = name
            base = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
            self._admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            self.url = base.set(database=name).render_as_string(hide_password=False)

    def drop(self) -> None:
        """Remove the database (PostgreSQL) or leave the file to tmp cleanup (SQLite)."""
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self._admin.dispose()


def new_database(backend: str, tmp: Path) -> ScratchDatabase:
    """Create an empty database for backend, skipping PostgreSQL (loudly) when not configured."""
    if backend == "postgresql" and not POSTGRES_URL:
        pytest.skip("PostgreSQL tests skipped: HAVEN_TEST_POSTGRES_URL is not set")
    return ScratchDatabase(backend, tmp)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test: each database test runs once per backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_db(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScratchDatabase]:
    """A database for this worker and backend, built by alembic upgrade head."""
    db = new_database(backend, tmp_path_factory.mktemp(backend))
    upgrade(db.url)
    yield db
    db.drop()


@pytest.fixture
def fresh_db(backend: str, tmp_path: Path) -> Iterator[ScratchDatabase]:
    """An empty, unmigrated database of its own, for migration and concurrency tests."""
    db = new_database(backend, tmp_path)
    yield db
    db.drop()


@pytest.fixture
def committed(fresh_db: ScratchDatabase) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    """A migrated database of its own whose transactions really commit."""
    upgrade(fresh_db.url)
    eng = make_engine(fresh_db.url)
    yield eng, make_sessionmaker(eng)
    eng.dispose()


@pytest.fixture(scope="session")
def engine(migrated_db: ScratchDatabase) -> Iterator[Engine]:
    """The engine of the migrated test database."""
    eng = make_engine(migrated_db.url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    if outer.is_active:
        outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions joined to the test's transaction: their commits become savepoints."""
    return sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session], keyring: Keyring) -> Iterator[Session]:
    """A session for a test that talks to the database directly (factories find the test's
    keyring in its info, to encrypt TOTP secrets as the app would)."""
    session = session_factory()
    session.info["keyring"] = keyring
    yield session
    session.close()


@pytest.fixture
def settings(tmp_path: Path, migrated_db: ScratchDatabase) -> Settings:
    """Test settings pointing at the test database and a private blob folder."""
    return Settings(
        env=Environment.TEST,
        database_url=migrated_db.url,
        blob_dir=tmp_path / "blobs",
        key_file=tmp_path / "root.key",
        secure_cookies=True,
        movement_purge_poll_seconds=0,  # tests drive the purge with the frozen clock
        # No background writer or follower on the shared test database: a checkpoint taken
        # or a seal followed there by one test's app would show up in another test's.
        audit_checkpoint_poll_seconds=0,
        audit_sequence_poll_seconds=0,  # tests sequence with sequence_now()
        seal_follow_poll_seconds=0,
    )


@pytest.fixture
def root_key() -> bytes:
    """The random root key of this test's keyring (to unseal again after a seal)."""
    return secrets.token_bytes(32)


@pytest.fixture
def keyring(root_key: bytes) -> Keyring:
    """An unsealed keyring with a fresh random root key."""
    ring = Keyring()
    ring.unseal_with_root(root_key)
    return ring


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Tests hash hundreds of passwords: use the cheapest Argon2id (never in production)."""
    passwords.use_params(passwords.HashParams(time_cost=1, memory_cost_kib=8, parallelism=1))
    yield
    passwords.use_params(passwords.DEFAULT_PARAMS)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock that moves only when the test says so."""
    return FrozenClock()


@pytest.fixture
def app(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    clock: FrozenClock,
) -> FastAPI:
    """The application wired to the test transaction and the test's clock."""
    return create_app(
        settings, engine=engine, session_factory=session_factory, keyring=keyring, clock=clock
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client for the app (https base URL, so Secure cookies are sent back)."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


class StatementCounter:
    """Counts the SQL statements the app sends while `counting` (a page's queries)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []
        self._on = False

    def _seen(self, *args: object) -> None:
        if self._on:
            self.statements.append(str(args[2]))  # the statement text (no parameters)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        """The statements sent inside the block."""
        self.statements = []
        self._on = True
        try:
            yield self.statements
        finally:
            self._on = False


@pytest.fixture
def sql_statements(engine: Engine) -> Iterator[StatementCounter]:
    """Count the statements a request sends: `with sql_statements.counting() as seen: ...`
    (a list page must send as many for 3 rows as for 30)."""
    counter = StatementCounter(engine)
    event.listen(engine, "before_cursor_execute", counter._seen)
    yield counter
    event.remove(engine, "before_cursor_execute", counter._seen)


def synthetic_id() -> uuid.UUID:
    """A random id that exists nowhere (for forged-id tests)."""
    return uuid.uuid4()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many (route, role, scope) cells the route matrix checked (also under xdist:
    the count travels in the reports' user properties)."""
    cells = 0
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "route_matrix_cells":
                cells += int(value)
    if cells:
        terminalreporter.write_line(
            f"route matrix: {cells} (route, role, scope) cells checked across backends"
        )
