"""Planner statistics for SQLite: without them its query planner guesses.

PostgreSQL keeps statistics itself (autovacuum's ANALYZE). SQLite keeps none until ANALYZE
runs, and without them it assumes an equality on any indexed column picks out about ten
rows: "cases of this team" (a quarter of a million rows at a million cases) looks narrower
than "movement plans destroyed this week" (none), so the triage board read a whole team to
find its dates. With statistics it reads the narrow index.

ANALYZE reads every index and holds the write turn while it runs (about a second at 100,000
cases), so it runs when the statistics are missing and again only when the cases have grown
or shrunk by a quarter since: checked every poll interval, which costs one COUNT."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.background import Poller, background_sessions
from app.config import Settings

# Re-analyse when the case count has changed by this factor since the last ANALYZE.
DRIFT = 1.25


def _recorded_rows(engine: Engine) -> int | None:
    """The number of cases the last ANALYZE saw (None: never analysed)."""
    with engine.connect() as conn:
        has_stats = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        ).first()
        if not has_stats:
            return None
        row = conn.execute(
            text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'cases' LIMIT 1")
        ).first()
    return int(str(row[0]).split()[0]) if row else None


def refresh_if_stale(engine: Engine) -> str | None:
    """ANALYZE a SQLite database whose statistics are missing or a quarter off the number of
    cases; what was done, or None. Nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    seen = _recorded_rows(engine)
    with engine.connect() as conn:
        now = int(conn.execute(text("SELECT count(*) FROM cases")).scalar_one())
    if seen is not None and seen / DRIFT <= now <= seen * DRIFT:
        return None
    analyse(engine)
    return f"planner statistics refreshed ({seen if seen is not None else 'none'} -> {now} cases)"


def analyse(engine: Engine) -> None:
    """ANALYZE, committed (the engine begins every transaction itself, even under
    autocommit, so a bare execute would be rolled back with the connection)."""
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


class StatisticsKeeper(Poller):
    """A daemon thread keeping SQLite's planner statistics current."""

    def __init__(self, factory: sessionmaker[Session], *, interval: float) -> None:
        engine = factory.kw["bind"]
        super().__init__("planner-statistics", interval, lambda: refresh_if_stale(engine))


def start_statistics_keeper(settings: Settings) -> StatisticsKeeper | None:
    """Start the keeper on SQLite (off when the background poll interval is 0, as in tests,
    which call `refresh_if_stale`)."""
    if settings.movement_purge_poll_seconds <= 0 or not settings.database_url.startswith("sqlite"):
        return None
    factory = background_sessions(settings.database_url)
    keeper = StatisticsKeeper(factory, interval=settings.movement_purge_poll_seconds)
    keeper.owns_engine_of(factory)
    keeper.start()
    return keeper
