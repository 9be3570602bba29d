"""Sign-in throttling and lockout, kept in the database so every server process shares it.

Per account: 5 failures lock the account for 15 minutes (423). The key is a hash of the
e-mail as typed, whether or not an account exists, so an unknown account locks exactly like
a real one and the answers cannot tell them apart. Per client address: 20 failures in 15
minutes throttle that address (429).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Locked, Throttled
from app.security.models import LoginThrottle

ACCOUNT_MAX_FAILURES = 5
ADDRESS_MAX_FAILURES = 20
WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)


def account_key(email: str) -> str:
    """The throttle key of an e-mail (hashed: typed e-mails are not stored)."""
    return "acct:" + hashlib.sha256(email.strip().casefold().encode()).hexdigest()


def address_key(address: str) -> str:
    """The throttle key of a client address."""
    return "addr:" + hashlib.sha256(address.encode()).hexdigest()


def _get(db: Session, key: str) -> LoginThrottle | None:
    return db.scalars(
        select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    ).one_or_none()


def check(db: Session, *, email: str, address: str, now: datetime) -> None:
    """Refuse (423 or 429) before any password work when the account or address is held."""
    acct = _get(db, account_key(email))
    if acct is not None and acct.locked_until is not None and now < acct.locked_until:
        raise Locked()
    addr = _get(db, address_key(address))
    if addr is not None and addr.locked_until is not None and now < addr.locked_until:
        raise Throttled()


def _bump(db: Session, key: str, *, limit: int, now: datetime) -> bool:
    row = counter_row(db, key, now)
    if now - row.window_start > WINDOW or (row.locked_until and now >= row.locked_until):
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    locked = row.failures >= limit
    if locked:
        row.locked_until = now + LOCK_DURATION
        row.failures = 0
    db.flush()
    return locked


def record_failure(db: Session, *, email: str, address: str, now: datetime) -> bool:
    """Count a failed sign-in; True when this failure locked the account."""
    _bump(db, address_key(address), limit=ADDRESS_MAX_FAILURES, now=now)
    return _bump(db, account_key(email), limit=ACCOUNT_MAX_FAILURES, now=now)


def record_success(db: Session, *, email: str) -> None:
    """A successful sign-in clears the account's failure count."""
    db.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(email)))


def unlock(db: Session, *, email: str) -> bool:
    """Lift an account's lock; True when it was locked."""
    row = _get(db, account_key(email))
    if row is None:
        return False
    db.delete(row)
    db.flush()
    return row.locked_until is not None


def counter_row(db: Session, key: str, now: datetime) -> LoginThrottle:
    """The counter row of `key`, locked for this transaction, created when absent (a
    concurrent creator wins and its row is used). Shared by every throttle on this table."""
    row = _get(db, key)
    if row is not None:
        return row
    try:
        with db.begin_nested():
            row = LoginThrottle(key=key, failures=0, window_start=now, locked_until=None)
            db.add(row)
    except IntegrityError:  # another process inserted it first: count on theirs
        row = _get(db, key)
        assert row is not None  # noqa: S101 - the conflicting insert guarantees it
    return row
