"""A consistent read of the whole database while the service keeps serving.

PostgreSQL: one REPEATABLE READ, READ ONLY transaction (every statement sees the snapshot
taken at its first). SQLite (WAL): one deferred read transaction on a connection of its own
— never `BEGIN IMMEDIATE` as the service's engine does, which would hold the write lock and
stop every writer for the length of the backup."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, make_url

from app.db import make_engine, private_sqlite_file


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we say when the transaction begins
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


@contextmanager
def snapshot(url: str) -> Iterator[Connection]:
    """A read-only connection whose every query sees one moment of the database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        private_sqlite_file(parsed)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_connect)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("BEGIN DEFERRED")
                # The first read fixes the snapshot (SQLite's WAL read mark).
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
                try:
                    yield conn
                finally:
                    conn.exec_driver_sql("ROLLBACK")
        finally:
            engine.dispose()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as plain:
            conn = plain.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with conn.begin():
                yield conn
    finally:
        engine.dispose()
