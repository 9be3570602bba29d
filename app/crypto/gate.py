"""While sealed, the service answers 503 to everything but health, seal status and unseal."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.crypto.keyring import Keyring
from app.errors import Sealed

OPEN_WHILE_SEALED = frozenset(
    {"/api/v1/sys/health", "/api/v1/sys/seal-status", "/api/v1/sys/unseal"}
)


class SealedGateMiddleware:
    """Refuses every request while the keyring is sealed, before any route or session runs."""

    def __init__(self, app: ASGIApp, *, keyring: Keyring) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keyring.sealed:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.rstrip("/") in OPEN_WHILE_SEALED:
            await self.app(scope, receive, send)
            return
        error = Sealed()
        templates = getattr(getattr(scope.get("app"), "state", None), "templates", None)
        if not path.startswith("/api/") and templates is not None:
            # The error page, in the visitor's language (no session is read while sealed).
            page = templates.TemplateResponse(
                Request(scope),
                "errors/error.html",
                {"status": 503, "detail": error.message},
                status_code=503,
                headers={"cache-control": "no-store", "retry-after": "60"},
            )
            await page(scope, receive, send)
            return
        if path.startswith("/api/"):
            body = json.dumps(error.body()).encode()
            content_type = b"application/json"
        else:
            body = (
                f"<!doctype html><title>Sealed</title><h1>503</h1><p>{error.message}</p>".encode()
            )
            content_type = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"retry-after", b"60"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
