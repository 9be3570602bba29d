"""Sign-in throttling, kept in the database so every server process shares it.

Why this shape (OWASP Authentication and Credential Stuffing cheat sheets, "Blocking Brute
Force Attacks"): a plain per-account lock lets anyone who knows an e-mail address keep its
owner out for good, while a plain per-address limit lets a guesser with many addresses go on
forever. So three counters, each in a 15-minute window:

- **Account and address together** (`PAIR_MAX_FAILURES`, 5): that pair is locked for 15
  minutes (423 with Retry-After). A guesser at one address stops here, and the lock it
  causes falls on its own address only: the owner elsewhere still signs in.
- **Address** (`ADDRESS_MAX_FAILURES`, 20, over any accounts): 429 with Retry-After, against
  one address spraying many accounts.
- **Account, every address together** (`ACCOUNT_MAX_FAILURES`, 10): a distributed guess.
  The account is then held for 15 minutes, doubling with each hold in a row up to a day
  (a progressive slow-down, so a patient botnet gets a handful of guesses a day), against
  every address *except the familiar ones*: addresses this account completed a sign-in from
  in the last 30 days. The owner at their usual address is not held; a stranger is (423 with
  Retry-After), and a coordinator or admin can lift the hold (`unlock`).

Every key is derived from the e-mail as typed, whether or not an account exists, so an
unknown account is throttled exactly like a real one and costs the same work: the answers
and timing cannot tell them apart. Addresses are stored only as HMACs under a key derived
from the root key (a plain hash of an IPv4 address is reversed in minutes, and would tell a
seized database where staff connect from); e-mails as SHA-256 (staff addresses are no secret
to someone holding the users table). Behind a proxy the address is what
`app.security.proxies` believes; over a Tor onion service every client shares one address,
so there only the account-wide counter tells attackers apart (see SECURITY.md).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.crypto.keyring import Keyring
from app.security.models import LoginThrottle

PAIR_MAX_FAILURES = 5
ADDRESS_MAX_FAILURES = 20
ACCOUNT_MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
MAX_HOLD = timedelta(days=1)
# A hold that follows the previous one within this time doubles; later, it starts over.
HOLD_MEMORY = timedelta(days=1)
FAMILIAR_FOR = timedelta(days=30)
KEY_PURPOSE = "signin-throttle-address"


def retry_after(until: datetime, now: datetime) -> int:
    """Whole seconds from now until `until` (at least 1): the Retry-After of a wait."""
    return max(1, math.ceil((until - now).total_seconds()))


def _account_digest(email: str) -> str:
    return hashlib.sha256(email.strip().casefold().encode()).hexdigest()


def account_key(email: str) -> str:
    """The key of an account's own counter (every address together)."""
    return "acct:" + _account_digest(email)


def _holds_key(email: str) -> str:
    return "acctx:" + _account_digest(email)


def _address_mac(keyring: Keyring, address: str) -> str:
    return hmac.new(keyring.derive(KEY_PURPOSE), address.encode(), hashlib.sha256).hexdigest()


def address_key(keyring: Keyring, address: str) -> str:
    """The key of an address's counter (keyed hash: addresses are not stored)."""
    return "addr:" + _address_mac(keyring, address)


def _pair_prefix(email: str) -> str:
    return "pair:" + _account_digest(email)[:32] + ":"


def pair_key(keyring: Keyring, email: str, address: str) -> str:
    """The key of one account's failures from one address."""
    return _pair_prefix(email) + _address_mac(keyring, address)[:32]


def _familiar_prefix(email: str) -> str:
    return "seen:" + _account_digest(email)[:32] + ":"


def _familiar_key(keyring: Keyring, email: str, address: str) -> str:
    return _familiar_prefix(email) + _address_mac(keyring, address)[:32]


@dataclass(frozen=True)
class Client:
    """Who is trying: the e-mail as typed and the client address, with the keyring that
    keys the address."""

    email: str
    address: str
    keyring: Keyring


def _get(db: Session, key: str) -> LoginThrottle | None:
    return db.scalars(
        select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    ).one_or_none()


def _held(row: LoginThrottle | None, now: datetime) -> datetime | None:
    if row is not None and row.locked_until is not None and now < row.locked_until:
        return row.locked_until
    return None


def _familiar(db: Session, client: Client, now: datetime) -> bool:
    row = _get(db, _familiar_key(client.keyring, client.email, client.address))
    return row is not None and now - row.window_start < FAMILIAR_FOR


def hold(db: Session, client: Client, now: datetime) -> tuple[int, datetime] | None:
    """The lock that applies to this client now, as (status, until), or None."""
    pair = _held(_get(db, pair_key(client.keyring, client.email, client.address)), now)
    if pair is not None:
        return 423, pair
    address = _held(_get(db, address_key(client.keyring, client.address)), now)
    if address is not None:
        return 429, address
    account = _held(_get(db, account_key(client.email)), now)
    if account is not None and not _familiar(db, client, now):
        return 423, account
    return None


def _bump(db: Session, key: str, *, limit: int, now: datetime) -> LoginThrottle | None:
    """Count a failure under `key`; the row when this failure reached the limit."""
    row = counter_row(db, key, now)
    if now - row.window_start > WINDOW or (row.locked_until and now >= row.locked_until):
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures < limit:
        return None
    row.failures = 0
    return row


def _hold_account(db: Session, email: str, row: LoginThrottle, now: datetime) -> None:
    holds = counter_row(db, _holds_key(email), now)
    if now - holds.window_start > HOLD_MEMORY:
        holds.failures = 0
    holds.window_start = now
    row.locked_until = now + min(LOCK_DURATION * 2**holds.failures, MAX_HOLD)
    holds.failures = min(holds.failures + 1, 16)


def record_failure(db: Session, client: Client, now: datetime) -> datetime | None:
    """Count a failed sign-in; the end of the lock this failure put on this client, if any."""
    # Stale pair rows of this account go, so they do not pile up one per address.
    db.execute(
        delete(LoginThrottle).where(
            LoginThrottle.key.startswith(_pair_prefix(client.email)),
            LoginThrottle.window_start < now - WINDOW - LOCK_DURATION,
        )
    )
    address = _bump(
        db, address_key(client.keyring, client.address), limit=ADDRESS_MAX_FAILURES, now=now
    )
    if address is not None:
        address.locked_until = now + LOCK_DURATION
    pair = _bump(
        db, pair_key(client.keyring, client.email, client.address), limit=PAIR_MAX_FAILURES, now=now
    )
    if pair is not None:
        pair.locked_until = now + LOCK_DURATION
    account = _bump(db, account_key(client.email), limit=ACCOUNT_MAX_FAILURES, now=now)
    if account is not None:
        _hold_account(db, client.email, account, now)
    db.flush()
    if pair is not None:
        return pair.locked_until
    if account is not None and not _familiar(db, client, now):
        return account.locked_until
    return None


def record_success(db: Session, client: Client, now: datetime) -> None:
    """A completed sign-in clears this address's failures for the account and makes the
    address familiar. The account-wide count stays: an owner signing in mid-attack must not
    hand the attacker a fresh allowance."""
    db.execute(
        delete(LoginThrottle).where(
            (LoginThrottle.key == pair_key(client.keyring, client.email, client.address))
            | (
                LoginThrottle.key.startswith(_familiar_prefix(client.email))
                & (LoginThrottle.window_start < now - FAMILIAR_FOR)
            )
        )
    )
    row = counter_row(db, _familiar_key(client.keyring, client.email, client.address), now)
    row.window_start = now
    db.flush()


def unlock(db: Session, *, email: str) -> bool:
    """Lift every lock on an account (each address's and the account-wide hold); True when
    there was one."""
    prefix = _pair_prefix(email)
    rows = db.scalars(
        select(LoginThrottle)
        .where(
            (LoginThrottle.key == account_key(email))
            | (LoginThrottle.key == _holds_key(email))
            | LoginThrottle.key.startswith(prefix)
        )
        .with_for_update()
    ).all()
    was_locked = any(row.locked_until is not None for row in rows)
    for row in rows:
        db.delete(row)
    db.flush()
    return was_locked


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
