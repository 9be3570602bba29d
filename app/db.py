"""Database plumbing: the declarative base, engines for SQLite and PostgreSQL, sessions."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, Uuid, create_engine, event, update
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.errors import HavenError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every stored time is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model; constraint names follow NAMING_CONVENTION so migrations are stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class IdMixin:
    """A random UUID primary key: ids reveal neither order nor count."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so SAVEPOINT and
    # transactional DDL behave (the SQLAlchemy "pysqlite" recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Deleted content is overwritten with zeros, so erased cases do not linger in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


# SQLite lets one transaction write at a time, and every Haven transaction writes (an audit
# entry at least), so each takes the write lock up front (BEGIN IMMEDIATE). Within one
# process the transactions also queue for it here, on a semaphore per database file: the
# waiting threads are woken in turn as each transaction ends, where SQLite's own busy handler
# would have them sleep and poll, and under load let some starve past the busy timeout.
# Other processes on the same file still wait on SQLite's busy timeout.
_TURN = "haven.sqlite_turn"
_TURNS: dict[str, threading.Semaphore] = {}
_TURNS_GUARD = threading.Lock()
SQLITE_WAIT_SECONDS = 10.0
# A server on SQLite admits this many requests at a time and queues the rest on the event
# loop, first come first served, for up to this long (app/middleware.py WriteQueueMiddleware:
# why the queue and not the thread pool).
SQLITE_QUEUE_SLOTS = 4
# Requests at once on PostgreSQL: fewer than the pool's connections (5 + 10 overflow), so
# every admitted request finds a connection and a thread (app/middleware.py).
POSTGRES_QUEUE_SLOTS = 12
SQLITE_QUEUE_WAIT_SECONDS = 30.0


def _turn_of(database: str) -> threading.Semaphore:
    with _TURNS_GUARD:
        return _TURNS.setdefault(database, threading.Semaphore(1))


def sqlite_write_turns(engine: Engine, database: str, wait: float) -> None:
    """Queue this engine's transactions for the database's write lock (see above); a turn
    not had within `wait` seconds fails like SQLite's busy timeout ("database is locked")."""
    turn = _turn_of(database)

    def begin(conn: Any) -> None:
        if not turn.acquire(timeout=wait):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        conn.info[_TURN] = turn
        try:
            # IMMEDIATE takes the write lock up front: a second writer waits instead of
            # failing mid-transaction with "database is locked" on upgrade from a read lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _end_turn(conn.info)
            raise

    def ended(conn: Any) -> None:
        _end_turn(conn.info)

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        _end_turn(record.info)  # however the transaction ended, its turn ends with it

    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    event.listen(engine.pool, "checkin", checked_in)
    event.listen(engine.pool, "invalidate", lambda c, r, _e: checked_in(c, r))


def _end_turn(info: dict[Any, Any]) -> None:
    held = info.pop(_TURN, None)
    if held is not None:
        held.release()


# SQLite gives the -wal, -shm and -journal files the mode of the database file, so a database
# file that is private keeps them private too.
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def private_sqlite_file(url: URL) -> None:
    """Make the SQLite database file of `url` 0600 before SQLite opens it: create it so when
    absent (SQLite itself would create it 0644 under the usual umask: ciphertext, but every
    table's size, the plaintext columns and the audit log, for any local user), and take group
    and other bits off an existing one and its side files."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError, FileNotFoundError, NotADirectoryError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in _SQLITE_SIDE_FILES:
        path = Path(database + suffix)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            if path.stat().st_mode & 0o077 and not path.is_dir():
                path.chmod(0o600)


CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, *, write_wait: float = SQLITE_WAIT_SECONDS, **kwargs: Any) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL with the settings Haven relies on
    (`write_wait`: how long a SQLite transaction waits for its turn to write).

    Bound values never appear in SQLAlchemy's log lines or in its error messages
    (`hide_parameters`): at DEBUG they would hold a sign-in e-mail or a search's index."""
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        # A server that does not answer (a dropped network) is given up on after a few
        # seconds: the request answers 503 instead of hanging.
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        private_sqlite_file(parsed)
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        database = parsed.database or ""
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        key = str(Path(database).resolve()) if on_disk else f"memory-{id(engine)}"
        sqlite_write_turns(engine, key, write_wait)
        return engine
    raise ValueError(f"unsupported database backend: {parsed.get_backend_name()}")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. Services never commit.

    The one exception is an error that refuses something and asks to keep the record of the
    refusal (`HavenError.keep_record`: a denied access's audit entry, a failed sign-in's
    count): what was written before it is committed, then the error goes on. Such an error
    is raised only where nothing but that record was written. Every request (app/deps.py),
    CLI command and background job runs in one of these."""
    session = factory()
    try:
        yield session
        session.commit()
    except HavenError as exc:
        if exc.keep_record:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def commit_early(session: Session) -> None:
    """Commit the unit of work so far and go on in a new transaction: only before a long
    wait outside the database (an upload streaming in over a slow link), so that no lock or
    pooled connection is held meanwhile. What follows is written in its own transaction."""
    session.commit()


_AFTER_COMMIT = "haven.after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run action once the session's transaction commits; a rollback drops it.

    For work outside the database that must follow a change and never precede it: deleting
    an erased case's files, sealing the keyring once the seal is recorded."""
    queued: list[Callable[[], None]] | None = session.info.get(_AFTER_COMMIT)
    if queued is None:
        queued = session.info[_AFTER_COMMIT] = []
        event.listen(session, "after_commit", _run_queued)
        event.listen(session, "after_soft_rollback", _drop_queued)
    queued.append(action)


def _run_queued(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, None) or ():
        action()


def _drop_queued(session: Session, _previous: object) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def database_answers(engine: Engine) -> bool:
    """True when the database answers a trivial query now (for the health check).

    On the driver's own connection, outside any transaction: on SQLite a transaction would
    begin IMMEDIATE and wait for the write lock, so a busy writer would read as an outage."""
    down = (
        OperationalError,
        InterfaceError,
        SQLAlchemyTimeoutError,
        engine.dialect.loaded_dbapi.Error,
    )
    try:  # the pool's own checkout raises the driver's error, unwrapped
        raw = engine.raw_connection()
    except down:
        return False
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
        cursor.close()
    except engine.dialect.loaded_dbapi.Error:
        raw.invalidate()
        return False
    finally:
        raw.close()
    return True


def moved_from(session: Session, row: Any, read: str, /, **values: Any) -> bool:
    """Write values to row's stored row only while its `status` is still `read` (as this
    session read it), then read the row again. False when another request moved it
    first: of two moves at once, the second finds the status gone and changes nothing."""
    model = type(row)
    result = session.execute(
        update(model)
        .where(model.id == row.id, model.status == read)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
