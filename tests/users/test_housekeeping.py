"""Expired sessions are deleted in the background (app/users/housekeeping.py): their rows,
with device names and times, do not stay in the database after nobody can use them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.crypto.keyring import Keyring
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.security.models import AuthSession
from app.users.housekeeping import purge_sessions_once, start_session_purger
from tests.factories import make_session, make_team, make_user


def test_the_purge_deletes_expired_sessions_and_keeps_live_ones(
    committed: tuple[Engine, sessionmaker[Session]],
    clock: FrozenClock,
    settings: Settings,
    keyring: Keyring,
) -> None:
    _engine, factory = committed
    with factory() as db:
        user = make_user(db, Role.CASEWORKER, teams=[make_team(db)], keyring=keyring)
        made = {}
        for name, age in (("expired", 60), ("live", -60)):
            issued = make_session(
                db, user, clock=clock, settings=settings, expires_in=timedelta(seconds=-age)
            )
            made[name] = issued.session.id
        db.commit()
    assert purge_sessions_once(factory, clock=clock) == 1
    assert purge_sessions_once(factory, clock=clock) == 0
    with factory() as db:
        left = set(db.scalars(select(AuthSession.id).where(AuthSession.user_id == user.id)))
    assert left == {made["live"]}


def test_the_purger_runs_with_the_service_and_stays_off_when_told(
    committed: tuple[Engine, sessionmaker[Session]], clock: FrozenClock, settings: Settings
) -> None:
    engine, _factory = committed
    url = engine.url.render_as_string(hide_password=False)
    off = settings.model_copy(update={"database_url": url, "movement_purge_poll_seconds": 0})
    assert start_session_purger(off, clock) is None
    on = settings.model_copy(update={"database_url": url, "movement_purge_poll_seconds": 3600})
    purger = start_session_purger(on, clock)
    assert purger is not None
    purger.stop()
