"""SQLite's planner statistics are made when missing and made again when the cases have
grown by a quarter, and they are committed (a new connection sees them)."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app import planner
from app.crypto.keyring import Keyring
from tests.factories import make_case, make_team


def _stat_rows(engine: Engine) -> int | None:
    with engine.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        ).first():
            return None
        row = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'cases'")).first()
    return int(str(row[0]).split()[0]) if row else None


def _add_cases(factory: sessionmaker[Session], keyring: Keyring, n: int) -> None:
    with factory() as db:
        team = make_team(db)
        for _ in range(n):
            make_case(db, keyring=keyring, team=team)
        db.commit()


def test_statistics_are_made_when_missing_and_when_the_cases_drift(
    committed: tuple[Engine, sessionmaker[Session]], keyring: Keyring
) -> None:
    engine, factory = committed
    _add_cases(factory, keyring, 8)
    if engine.dialect.name != "sqlite":
        # PostgreSQL keeps its own (autovacuum): nothing to do, nothing done.
        assert planner.refresh_if_stale(engine) is None
        return
    assert _stat_rows(engine) is None  # a new database has none
    assert planner.refresh_if_stale(engine) == "planner statistics refreshed (none -> 8 cases)"
    engine.dispose()  # a new connection: the ANALYZE was committed, not rolled back
    assert _stat_rows(engine) == 8
    _add_cases(factory, keyring, 2)  # 10 is within a quarter of 8: left alone
    assert planner.refresh_if_stale(engine) is None
    assert _stat_rows(engine) == 8
    _add_cases(factory, keyring, 1)  # 11 is not
    assert planner.refresh_if_stale(engine) == "planner statistics refreshed (8 -> 11 cases)"
    assert _stat_rows(engine) == 11
