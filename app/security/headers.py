"""Security headers on every response (pure ASGI middleware, so it also covers error pages)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import retry_notes

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()"
)
HSTS = "max-age=63072000; includeSubDomains"
STATIC_PREFIX = "/static/"
# A 429 whose wait no throttle noted still tells the client to wait (RFC 6585 suggests it).
DEFAULT_RETRY_AFTER = 60

_ALWAYS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": PERMISSIONS_POLICY,
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Adds CSP, nosniff, no-referrer, Permissions-Policy, HSTS over TLS, and no-store on
    everything but static files (every page or API answer may hold what a shared computer
    must not keep); and Retry-After on every 429, and on a 423 whose end is known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)
        notes: list[int] = []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS.items():
                    headers[name] = value
                if tls:
                    headers["strict-transport-security"] = HSTS
                if not static:
                    headers["cache-control"] = "no-store"
                    headers["pragma"] = "no-cache"
                _retry_after(message["status"], headers, notes)
            await send(message)

        token = retry_notes.set(notes)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            retry_notes.reset(token)


def _retry_after(status: int, headers: MutableHeaders, notes: list[int]) -> None:
    if status not in (423, 429) or "retry-after" in headers:
        return
    if notes:
        headers["retry-after"] = str(notes[-1])
    elif status == 429:
        headers["retry-after"] = str(DEFAULT_RETRY_AFTER)
