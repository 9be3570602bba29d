"""ASGI middleware: a request id on every response and an access log that never holds bodies."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge
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


class BodyLimitMiddleware:
    """Refuses request bodies past a limit (413) before they are read into memory: the
    declared Content-Length at once, a chunked body as soon as it crosses the line. Uploads
    (paths matching `upload_path`) get their own, larger limit; their reader enforces the
    exact file size itself."""

    def __init__(
        self, app: ASGIApp, *, limit: int, upload_limit: int, upload_path: re.Pattern[str]
    ) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_path = upload_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.upload_limit if self.upload_path.fullmatch(path) else self.limit
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(path, send)
            return
        seen, refused, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer 413 ourselves (a framework would call a failed body read a
                    # 400) and tell the app the client left; whatever it sends is dropped.
                    refused = True
                    if not started:
                        await _too_large(path, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted, guarded)


async def _too_large(path: str, send: Send) -> None:
    if path.startswith("/api/"):
        body = json.dumps({"detail": PayloadTooLarge.message, "code": PayloadTooLarge.code})
        kind = b"application/json"
    else:
        body, kind = PayloadTooLarge.message, b"text/plain; charset=utf-8"
    data = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(data)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
