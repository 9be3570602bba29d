"""Background work inside a server process: a polling thread that survives a failed step,
and an engine that waits only briefly for SQLite's write lock (requests come first)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_sessionmaker

log = logging.getLogger("haven.background")


class Poller:
    """A daemon thread that runs `step` every `interval` seconds until stopped. A step
    returns a line to log (or None); a busy database or any error skips to the next tick."""

    def __init__(self, name: str, interval: float, step: Callable[[], str | None]) -> None:
        self._name, self._interval, self._step = name, interval, step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._owned: list[Engine] = []

    def start(self) -> None:
        """Begin polling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling, wait for the thread, then close the connections of engines it owns."""
        self._stop.set()
        self._thread.join(timeout=30)
        for engine in self._owned:
            engine.dispose()

    def owns_engine_of(self, factory: sessionmaker[Session]) -> None:
        """Dispose the engine behind `factory` at stop (one made for this poller alone, as
        `background_sessions` makes): its pooled connections would otherwise stay open."""
        bind = factory.kw.get("bind")
        if isinstance(bind, Engine):
            self._owned.append(bind)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                done = self._step()
            except OperationalError:
                log.warning("%s skipped: database busy; will retry", self._name)
                continue
            except Exception:  # the thread must outlive one failed step; logged
                log.exception("%s failed; will retry", self._name)
                continue
            if done:
                log.info("%s: %s", self._name, done)


BACKGROUND_WAIT_SECONDS = 0.25


def background_sessions(database_url: str) -> sessionmaker[Session]:
    """Sessions on an engine of their own; on SQLite they give up on the write lock after
    250 ms and retry on the next tick rather than queueing behind requests."""
    engine: Engine = make_engine(database_url, write_wait=BACKGROUND_WAIT_SECONDS)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _short_busy_timeout)
    return make_sessionmaker(engine)


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA busy_timeout=250")
