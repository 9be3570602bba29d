"""The database layer: SQLite pragmas, PostgreSQL driver, and commit-or-rollback sessions."""

from datetime import datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.models import AuditEntry
from app.db import UTCDateTime, after_commit, make_engine, make_sessionmaker, transaction
from app.errors import NotFound
from tests.conftest import ScratchDatabase


def test_sqlite_pragmas_are_set(engine: Engine, backend: str) -> None:
    if backend != "sqlite":
        assert engine.dialect.driver == "psycopg"
        return
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000


def test_transaction_commits_on_success_and_rolls_back_on_error(
    migrated_db: ScratchDatabase,
) -> None:
    engine = make_engine(migrated_db.url)
    factory = make_sessionmaker(engine)
    marker = f"test-{datetime.now().timestamp()}"  # noqa: DTZ005 - only a unique marker
    with transaction(factory) as session:
        record(session, AuditAction.SEALED, reason=marker + "-kept")

    def failing_unit_of_work() -> None:
        with transaction(factory) as session:
            record(session, AuditAction.SEALED, reason=marker + "-lost")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing_unit_of_work()
    with factory() as session:
        codes = set(
            session.scalars(
                select(AuditEntry.reason_code).where(AuditEntry.reason_code.like(marker + "%"))
            )
        )
    engine.dispose()
    assert codes == {marker + "-kept"}


def test_a_refusal_keeps_only_its_own_record_when_it_asks_to(
    migrated_db: ScratchDatabase,
) -> None:
    engine = make_engine(migrated_db.url)
    factory = make_sessionmaker(engine)
    marker = f"refusal-{datetime.now().timestamp()}"  # noqa: DTZ005 - only a unique marker
    ran: list[str] = []

    def refuse(keep: bool, suffix: str) -> None:
        with transaction(factory) as session:
            after_commit(session, lambda: ran.append(suffix))
            record(session, AuditAction.ACCESS_DENIED, reason=marker + suffix)
            raise NotFound(keep_record=keep)

    for keep, suffix in ((True, "-kept"), (False, "-dropped")):
        with pytest.raises(NotFound):
            refuse(keep, suffix)
    with factory() as session:
        codes = set(
            session.scalars(
                select(AuditEntry.reason_code).where(AuditEntry.reason_code.like(marker + "%"))
            )
        )
    engine.dispose()
    assert codes == {marker + "-kept"}
    assert ran == ["-kept"]  # work queued for after the commit runs only when it commits


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)  # noqa: DTZ001


def test_timestamps_come_back_timezone_aware(engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    with factory() as session:
        entry = record(session, AuditAction.SEALED)
        session.expire_all()
        at = session.execute(select(AuditEntry.at).where(AuditEntry.id == entry.id)).scalar_one()
        session.rollback()
    assert at.tzinfo is not None


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database backend"):
        make_engine("mysql://localhost/x")


def test_postgres_url_uses_psycopg3() -> None:
    eng = make_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert eng.dialect.driver == "psycopg"
    eng.dispose()


def test_sqlite_engine_runs_a_query(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
