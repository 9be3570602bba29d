"""The sign-in throttle's counters at their edges, on the module itself (app/security/
throttle.py; the HTTP answers are tested in test_throttles_hold.py and
test_lockout_and_tokens.py): a window that has passed starts a fresh count from nothing; an
account held again more than a day after its last hold starts again at 15 minutes; the
stale rows of an account's addresses go, and nobody else's; an unlock says whether there was
a lock to lift; a wait of under a second is still one second. Synthetic addresses only
(RFC 5737)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.crypto.keyring import Keyring
from app.security import throttle
from app.security.models import LoginThrottle

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EMAIL = "edge.case@example.invalid"


def _client(keyring: Keyring, address: str = "198.51.100.7", email: str = EMAIL) -> throttle.Client:
    return throttle.Client(email=email, address=address, keyring=keyring)


def _fail(db: Session, client: throttle.Client, at: datetime, times: int) -> list[datetime | None]:
    return [throttle.record_failure(db, client, at) for _ in range(times)]


def test_a_passed_window_starts_the_count_again_from_nothing(db: Session, keyring: Keyring) -> None:
    """Four failures, then the window passes: four more lock nothing (a count carried over,
    or restarted at one, would lock the pair on the second round); the fifth does."""
    me = _client(keyring)
    limit = throttle.PAIR_MAX_FAILURES
    assert _fail(db, me, T0, limit - 1) == [None] * (limit - 1)
    later = T0 + throttle.WINDOW + timedelta(seconds=1)
    assert _fail(db, me, later, limit - 1) == [None] * (limit - 1)
    assert throttle.hold(db, me, later) is None
    assert throttle.record_failure(db, me, later) == later + throttle.LOCK_DURATION
    assert throttle.hold(db, me, later) == (423, later + throttle.LOCK_DURATION)


def test_a_hold_a_day_after_the_last_starts_again_at_fifteen_minutes(
    db: Session, keyring: Keyring
) -> None:
    """The account-wide hold doubles while holds follow one another within a day, and
    starts over after that (each round of failures from addresses it has never seen)."""
    limit = throttle.ACCOUNT_MAX_FAILURES

    def round_of_failures(at: datetime, first: int) -> datetime | None:
        ends = [
            throttle.record_failure(db, _client(keyring, f"203.0.113.{first + i}"), at)
            for i in range(limit)
        ]
        return ends[-1]

    first = round_of_failures(T0, 1)
    assert first == T0 + throttle.LOCK_DURATION
    second_at = T0 + throttle.LOCK_DURATION + timedelta(minutes=1)
    assert round_of_failures(second_at, 20) == second_at + 2 * throttle.LOCK_DURATION
    rested = second_at + throttle.HOLD_MEMORY + timedelta(minutes=1)
    assert round_of_failures(rested, 40) == rested + throttle.LOCK_DURATION


def test_an_accounts_stale_address_rows_go_and_nobody_elses(db: Session, keyring: Keyring) -> None:
    mine, theirs = _client(keyring, "198.51.100.1"), _client(keyring, email="other@example.invalid")
    throttle.record_failure(db, mine, T0)
    throttle.record_failure(db, theirs, T0)

    def pair_rows(email: str) -> int:
        prefix = throttle.pair_key(keyring, email, "x").rsplit(":", 1)[0] + ":"
        return (
            db.scalar(
                select(func.count())
                .select_from(LoginThrottle)
                .where(LoginThrottle.key.startswith(prefix))
            )
            or 0
        )

    assert (pair_rows(EMAIL), pair_rows("other@example.invalid")) == (1, 1)
    # Still within the window and its lock: kept.
    soon = T0 + throttle.WINDOW
    throttle.record_failure(db, _client(keyring, "198.51.100.2"), soon)
    assert pair_rows(EMAIL) == 2
    stale = T0 + throttle.WINDOW + throttle.LOCK_DURATION + timedelta(seconds=1)
    throttle.record_failure(db, _client(keyring, "198.51.100.3"), stale)
    # The first address's row went; the second (not yet stale) and the new one stay; the
    # other account's row is not this account's to clear.
    assert pair_rows(EMAIL) == 2
    assert pair_rows("other@example.invalid") == 1


def test_an_unlock_says_whether_there_was_a_lock(db: Session, keyring: Keyring) -> None:
    me = _client(keyring)
    _fail(db, me, T0, throttle.PAIR_MAX_FAILURES - 1)
    assert throttle.unlock(db, email=EMAIL) is False  # failures, but nothing locked
    _fail(db, me, T0, throttle.PAIR_MAX_FAILURES)
    assert throttle.hold(db, me, T0) is not None
    assert throttle.unlock(db, email=EMAIL) is True
    assert throttle.hold(db, me, T0) is None


def test_a_wait_under_a_second_is_one_second() -> None:
    assert throttle.retry_after(T0, T0 - timedelta(milliseconds=300)) == 1
    assert throttle.retry_after(T0, T0 - timedelta(seconds=1, milliseconds=1)) == 2
    assert throttle.retry_after(T0, T0) == 1


def test_a_sign_in_clears_its_addresss_count_and_forgets_no_other_familiar_address(
    db: Session, keyring: Keyring
) -> None:
    """A completed sign-in clears the failures of that account at that address (the owner's
    own typos do not add up across sign-ins), and makes the address familiar without
    forgetting the others: signed in at home and then on the phone, the owner is still not
    held at home when a distributed guess holds the account."""
    home, phone = _client(keyring, "198.51.100.10"), _client(keyring, "198.51.100.11")
    limit = throttle.PAIR_MAX_FAILURES
    _fail(db, home, T0, limit - 1)
    throttle.record_success(db, home, T0)
    assert _fail(db, home, T0, limit - 1) == [None] * (limit - 1)
    throttle.record_success(db, home, T0)
    throttle.record_success(db, phone, T0 + timedelta(minutes=1))
    at = T0 + timedelta(minutes=2)
    for i in range(throttle.ACCOUNT_MAX_FAILURES):
        throttle.record_failure(db, _client(keyring, f"203.0.113.{i + 1}"), at)
    stranger = _client(keyring, "203.0.113.200")
    assert throttle.hold(db, stranger, at) is not None  # the account is held...
    assert throttle.hold(db, home, at) is None  # ...but not for the owner at home
    assert throttle.hold(db, phone, at) is None


def test_the_failure_that_holds_the_account_from_a_familiar_address_does_not_hold_it_there(
    db: Session, keyring: Keyring
) -> None:
    """The tenth failure of a distributed guess may come from the owner's own (familiar)
    address, a typo at home: the account is held for strangers, and that failure answers
    as no lock for the owner."""
    home = _client(keyring, "198.51.100.10")
    throttle.record_success(db, home, T0)
    at = T0 + timedelta(minutes=1)
    for i in range(throttle.ACCOUNT_MAX_FAILURES - 1):
        throttle.record_failure(db, _client(keyring, f"203.0.113.{i + 1}"), at)
    assert throttle.record_failure(db, home, at) is None
    assert throttle.hold(db, _client(keyring, "203.0.113.200"), at) is not None
    assert throttle.hold(db, home, at) is None


def test_a_counter_another_process_created_meanwhile_is_the_one_counted(
    committed: tuple[Engine, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sign-ins failing at once for one counter that does not exist yet: both look, find
    nothing, and insert; the second insert conflicts. The loser must count on the winner's
    row (its failures kept, one row for the key), never lose the count or fail the sign-in.
    The other process's insert is committed, on a connection of its own, in the window
    between this one's look and its insert."""
    _, factory = committed
    key = "race:one-counter"
    looked: list[str] = []
    real_get = throttle._get  # the window is between this look and the insert

    def look_then_lose_the_race(db: Session, k: str) -> LoginThrottle | None:
        if looked:
            return real_get(db, k)
        looked.append(k)
        with factory() as other:
            other.add(LoginThrottle(key=k, failures=3, window_start=T0, locked_until=None))
            other.commit()
        return None  # what this process saw before the other committed

    monkeypatch.setattr(throttle, "_get", look_then_lose_the_race)
    with factory() as mine:
        row = throttle.counter_row(mine, key, T0 + timedelta(seconds=1))
        assert (row.key, row.failures, row.window_start.replace(tzinfo=UTC)) == (key, 3, T0)
        row.failures += 1
        mine.commit()
    with factory() as check:
        rows = check.scalars(select(LoginThrottle).where(LoginThrottle.key == key)).all()
        assert [r.failures for r in rows] == [4]
