"""Throttling the public self-referral, in the database so every server process shares it.

Two fixed windows: one per client address and one for everyone together (a flood from many
addresses still stops). Addresses are never stored: the key is an HMAC of the address under
a key derived from the root key, so the table cannot be brute-forced over the small IPv4
space without the key. Rows live in the sign-in throttle table under their own prefix."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.config import Settings
from app.crypto.keyring import Keyring
from app.errors import Throttled
from app.i18n import N_
from app.security.models import LoginThrottle
from app.security.throttle import counter_row, retry_after

PREFIX = "req:"
GLOBAL_KEY = PREFIX + "all"
_ADDRESS_PREFIX = PREFIX + "addr:"
KEY_PURPOSE = "intake-throttle-address"


def address_key(keyring: Keyring, address: str) -> str:
    """The throttle key of a client address (keyed hash; the address is not stored)."""
    mac = hmac.new(keyring.derive(KEY_PURPOSE), address.encode(), hashlib.sha256)
    return _ADDRESS_PREFIX + mac.hexdigest()


def admit(
    db: Session, *, keyring: Keyring, address: str, now: datetime, settings: Settings
) -> None:
    """Count one request, or raise Throttled (429) when the address or everyone is over."""
    window = timedelta(minutes=settings.request_window_minutes)
    db.execute(
        delete(LoginThrottle).where(
            LoginThrottle.key.startswith(_ADDRESS_PREFIX),
            LoginThrottle.window_start < now - 2 * window,
        )
    )
    # Always address first, then global: one lock order, so two requests cannot deadlock.
    limits = (
        (address_key(keyring, address), settings.request_limit_per_address),
        (GLOBAL_KEY, settings.request_limit_global),
    )
    rows = []
    for key, limit in limits:
        row = counter_row(db, key, now)
        if now - row.window_start >= window:
            row.failures, row.window_start, row.locked_until = 0, now, None
        if row.failures >= limit:
            row.locked_until = row.window_start + window
            db.flush()
            raise Throttled(
                N_("Too many requests just now; please try again later."),
                retry_after=retry_after(row.locked_until, now),
            )
        rows.append(row)
    for row in rows:
        row.failures += 1
    db.flush()
