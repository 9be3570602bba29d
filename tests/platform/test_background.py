"""Background pollers: an engine made for a poller alone has its pooled connections closed
when the poller stops (left to the garbage collector, each is a ResourceWarning)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.background import Poller, background_sessions


def test_a_stopped_poller_closes_the_connections_of_its_own_engine(tmp_path: Path) -> None:
    factory = background_sessions(f"sqlite:///{tmp_path}/poller.db")
    with factory() as session:
        session.execute(text("SELECT 1"))
    engine = factory.kw["bind"]
    assert engine.pool.checkedin() == 1  # the connection went back to the pool, still open
    poller = Poller("probe", 60, lambda: None)
    poller.owns_engine_of(factory)
    poller.start()
    poller.stop()
    assert engine.pool.checkedin() == 0
