"""CSRF for the anonymous request form: a signed double-submit token.

There is no session to bind a token to, so the form gets a fresh token both in a short-lived
cookie and in a hidden field; a POST must carry the two, equal, with a valid signature (an
HMAC under a key derived from the root key) and younger than MAX_AGE. Another site can make
a browser post the form but cannot read the cookie to fill the field; the signature stops a
planted cookie (possible over plain-HTTP onion services, where `__Host-` cookies are not
available) from carrying a token of the attacker's choosing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from app.config import Settings
from app.crypto.keyring import Keyring

COOKIE = "haven_request_form"
FIELD = "csrf_token"
MAX_AGE = timedelta(hours=2)
KEY_PURPOSE = "intake-form-csrf"


def cookie_name(settings: Settings) -> str:
    """The cookie's name (`__Host-` prefixed when cookies are Secure)."""
    return ("__Host-" if settings.secure_cookies else "") + COOKIE


def _mac(keyring: Keyring, payload: str) -> str:
    digest = hmac.new(keyring.derive(KEY_PURPOSE), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(keyring: Keyring, now: datetime) -> str:
    """A new signed token: issued-at, random nonce, signature."""
    payload = f"{int(now.timestamp())}.{secrets.token_urlsafe(18)}"
    return f"{payload}.{_mac(keyring, payload)}"


def valid(keyring: Keyring, *, cookie: str | None, submitted: str | None, now: datetime) -> bool:
    """True when cookie and field carry the same, authentic, fresh token."""
    if not cookie or not submitted or not hmac.compare_digest(cookie.encode(), submitted.encode()):
        return False
    payload, _, mac = cookie.rpartition(".")
    issued, _, _nonce = payload.partition(".")
    if not issued.isdigit() or not hmac.compare_digest(
        mac.encode(), _mac(keyring, payload).encode()
    ):
        return False
    age = now.timestamp() - int(issued)
    return -60 <= age <= MAX_AGE.total_seconds()
