"""CSRF for the forms shown before a session exists (`/login`, `/request`): a signed
double-submit token. One mechanism for one threat; each form declares its own
`PreSessionForm` (cookie name and key purpose) and uses `issue`/`attach` to show it and
`accepts` to check a POST.

There is no session to bind a token to, so the form gets a token both in a cookie and in a
hidden field; a POST must carry the two, equal, with a valid signature (an HMAC under a key
derived from the root key for that form) and younger than MAX_AGE. Another site can make a
browser post the form but cannot read the cookie to fill the field; the signature stops a
planted cookie (possible over plain-HTTP onion services, where `__Host-` cookies are not
available) from carrying a token of the attacker's choosing, and the per-form key stops one
form's token from passing another's check.

The cookie lives for the browser session only (no Max-Age): it holds a timestamp and a
random nonce, nothing about the visitor, and leaves nothing on the disk of a device that may
be searched later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from app.config import Settings
from app.crypto.keyring import Keyring

FIELD = "csrf_token"
MAX_AGE = timedelta(hours=2)
_CLOCK_SKEW = 60  # seconds a token may seem to come from the future (several app servers)


@dataclass(frozen=True)
class PreSessionForm:
    """A form shown before sign-in: the name of its token cookie and its key's purpose."""

    cookie: str
    purpose: str

    def cookie_name(self, settings: Settings) -> str:
        """The cookie's name (`__Host-` prefixed when cookies are Secure)."""
        return ("__Host-" if settings.secure_cookies else "") + self.cookie

    def _mac(self, keyring: Keyring, payload: str) -> str:
        key = keyring.derive(self.purpose)
        digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, keyring: Keyring, now: datetime) -> str:
        """A new signed token: issued-at, random nonce, signature."""
        payload = f"{int(now.timestamp())}.{secrets.token_urlsafe(18)}"
        return f"{payload}.{self._mac(keyring, payload)}"

    def age(self, keyring: Keyring, token: str | None, now: datetime) -> float | None:
        """Seconds since an authentic token was issued; None for a forged or malformed one."""
        if not token:
            return None
        payload, _, mac = token.rpartition(".")
        issued, _, _nonce = payload.partition(".")
        if not issued.isdigit() or len(issued) > 12:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(keyring, payload).encode()):
            return None
        return now.timestamp() - int(issued)

    def valid(
        self, keyring: Keyring, *, cookie: str | None, submitted: str | None, now: datetime
    ) -> bool:
        """True when cookie and field carry the same, authentic, fresh token."""
        if not cookie or not submitted:
            return False
        if not hmac.compare_digest(cookie.encode(), submitted.encode()):
            return False
        age = self.age(keyring, cookie, now)
        return age is not None and -_CLOCK_SKEW <= age <= MAX_AGE.total_seconds()

    def token_for(self, request: Request) -> str:
        """The token to put in the form: the browser's own while it has more than half its
        life left (two open tabs keep working), else a new one."""
        keyring: Keyring = request.app.state.keyring
        now: datetime = request.app.state.clock.now()
        held = request.cookies.get(self.cookie_name(request.app.state.settings))
        age = self.age(keyring, held, now)
        if held and age is not None and -_CLOCK_SKEW <= age <= MAX_AGE.total_seconds() / 2:
            return held
        return self.issue(keyring, now)

    def attach(self, response: Response, token: str, settings: Settings) -> None:
        """Set the token's cookie on the response that shows the form."""
        response.set_cookie(
            self.cookie_name(settings),
            token,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
            path="/",
        )

    def accepts(self, request: Request, submitted: object) -> bool:
        """True when the POST carries this form's valid token in field and cookie."""
        settings: Settings = request.app.state.settings
        return self.valid(
            request.app.state.keyring,
            cookie=request.cookies.get(self.cookie_name(settings)),
            submitted=submitted if isinstance(submitted, str) else None,
            now=request.app.state.clock.now(),
        )
