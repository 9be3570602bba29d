"""While sealed, the service answers 503 to everything but health, seal status and unseal.

A browser gets a plain page in its visitor's language (the public request form its own
words); the API, and a client that asks for JSON, the error as JSON. The stylesheet and the
language switcher stay open: neither reads a key, a session or a case."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.crypto.keyring import Keyring
from app.errors import Sealed

OPEN_WHILE_SEALED = frozenset(
    {"/api/v1/sys/health", "/api/v1/sys/seal-status", "/api/v1/sys/unseal"}
)
# Paths under these serve no data: the stylesheet, and the switcher that sets a cookie.
OPEN_PREFIXES_WHILE_SEALED = ("/static/", "/language/")
# The public self-referral keeps its shape: the sealed page speaks to someone asking for help.
REQUEST_PATHS = frozenset({"/request", "/request/sent"})
_HEADERS = {"cache-control": "no-store", "retry-after": "60"}


def wants_json(scope: Scope) -> bool:
    """The API, or a client whose Accept names JSON and not HTML."""
    if str(scope.get("path", "")).startswith("/api/"):
        return True
    accept = Request(scope).headers.get("accept", "")
    return "json" in accept and "html" not in accept


class SealedGateMiddleware:
    """Refuses every request while the keyring is sealed, before any route or session runs."""

    def __init__(self, app: ASGIApp, *, keyring: Keyring) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keyring.sealed:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if path.rstrip("/") in OPEN_WHILE_SEALED or path.startswith(OPEN_PREFIXES_WHILE_SEALED):
            await self.app(scope, receive, send)
            return
        error = Sealed()
        templates = getattr(getattr(scope.get("app"), "state", None), "templates", None)
        if not wants_json(scope) and templates is not None:
            # In the visitor's language (cookie or Accept-Language: no session is read).
            page = templates.TemplateResponse(
                Request(scope),
                "errors/sealed.html",
                {"for_request": path.rstrip("/") in REQUEST_PATHS},
                status_code=503,
                headers=_HEADERS,
            )
            await page(scope, receive, send)
            return
        body = json.dumps(error.body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *((k.encode(), v.encode()) for k, v in _HEADERS.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
