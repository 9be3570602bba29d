"""Two requests racing with the same TOTP code: exactly one passes.

Real commits on a database of its own, two threads, two connections. The first request has
claimed the code but not committed when the second checks it: a read-then-write check would
let the second pass too (it reads the old last-used step); the conditional UPDATE makes it
wait for the first's row lock (PostgreSQL) or the write lock (SQLite) and then refuse."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.crypto.keyring import Keyring
from app.errors import HavenError
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users import signin
from app.users.models import User
from tests.factories import code_for, make_user


def test_the_same_code_racing_twice_passes_once(
    committed: tuple[Engine, sessionmaker[Session]], keyring: Keyring, clock: FrozenClock
) -> None:
    _, factory = committed
    with factory() as s:
        s.info["keyring"] = keyring
        user = make_user(s, Role.CASEWORKER, keyring=keyring)
        s.commit()
        user_id, code = user.id, code_for(user, clock, keyring=keyring)
    claimed = threading.Event()
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def attempt(name: str, hold: bool) -> None:
        try:
            with factory() as s:
                if not hold:
                    claimed.wait(10)
                row = s.get(User, user_id)
                assert row is not None
                try:
                    signin.second_factor(
                        s, user=row, code=code, address="192.0.2.7", now=clock.now(),
                        keyring=keyring, allow_recovery=False,
                    )  # fmt: skip
                    results[name] = "passed"
                except HavenError:
                    results[name] = "refused"
                if hold:
                    claimed.set()
                    time.sleep(0.5)  # the other request checks the code meanwhile
                s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            claimed.set()

    threads = [
        threading.Thread(target=attempt, args=("first", True)),
        threading.Thread(target=attempt, args=("second", False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert results == {"first": "passed", "second": "refused"}
    with factory() as s:
        row = s.get(User, user_id)
        assert row is not None
        assert row.totp_last_step is not None
