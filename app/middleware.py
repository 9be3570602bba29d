"""ASGI middleware: a request id on every response and an access log that never holds bodies."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
import weakref

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import DATABASE_RETRY_SECONDS, DatabaseUnavailable, PayloadTooLarge, haven_error
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


_GATE_KEY = "haven.write_gate"


class WriteQueueMiddleware:
    """At most `slots` requests at a time past this point (4 on SQLite, 12 on PostgreSQL, below
    its pool), the others waiting
    here, on the event loop, in the order they came (asyncio's semaphore is first come,
    first served).

    Every request's transaction holds SQLite's one write turn (app/db.py) from its first
    query to its commit, and a sync route goes through the thread pool several times on the
    way (its dependencies, the handler, the commit). Without this queue fifty clients fill
    the pool's forty threads with requests blocked on the turn, while the request that holds
    it waits for a free thread to commit: each turn then lasts until a waiter's write wait
    runs out, and the waiters answer 503. With few requests admitted, the holder always
    finds a thread and the turns follow each other at the speed of the work.

    A request that waits longer than `wait` seconds here answers 503 database_unavailable,
    like one that waits too long for the turn itself. An upload steps out of the queue
    (`leave_write_queue`) once its first transaction is committed, before its body streams
    in, so a slow link holds no slot."""

    def __init__(
        self, app: ASGIApp, *, slots: int, wait: float, open_prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.size = slots
        # One queue per event loop (a server has one; a test client may start several).
        self.queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self.queues = weakref.WeakKeyDictionary()
        self.wait = wait
        self.open_prefixes = open_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.open_prefixes):
            await self.app(scope, receive, send)
            return
        slots = self.queues.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(self.size))
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.wait)
        except TimeoutError:
            access_log.warning("write queue: no turn within %.0fs", self.wait)
            error = DatabaseUnavailable(retry_after=DATABASE_RETRY_SECONDS)
            response = await haven_error(Request(scope), error)
            await response(scope, receive, send)
            return
        held = True

        def leave() -> None:
            nonlocal held
            if held:
                held = False
                slots.release()

        async def send_then_leave(message: Message) -> None:
            # The answer starts once the handler and its unit of work are done (the session
            # is a function-scoped dependency): a slow client reading a download or a long
            # page holds no slot while its body goes out.
            if message["type"] == "http.response.start":
                leave()
            await send(message)

        scope.setdefault("state", {})[_GATE_KEY] = leave
        try:
            await self.app(scope, receive, send_then_leave)
        finally:
            leave()


def leave_write_queue(request: Request) -> None:
    """Give up this request's place in the write queue (WriteQueueMiddleware): for a request
    about to wait on its client (an upload's body) with no transaction open. Called on the
    event loop; a no-op where there is no queue (PostgreSQL)."""
    leave = request.scope.get("state", {}).get(_GATE_KEY)
    if leave is not None:
        leave()
