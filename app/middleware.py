"""ASGI middleware: a request id on every response and an access log that never holds bodies."""

from __future__ import annotations

import logging
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import request_id_var

access_log = logging.getLogger("haven.access")


class RequestIdMiddleware:
    """Gives each request a fresh random id (client-supplied ids are ignored: they could be
    used to smuggle text into logs) and logs method, route, status and duration only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            # The route template (/api/v1/cases/{case_id}), never the query string or body.
            path = getattr(route, "path", None) or "(unmatched)"
            access_log.info(
                "%s %s %s %.1fms",
                scope.get("method", "-"),
                path,
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)
