"""The SQLite write queue (app/middleware.py WriteQueueMiddleware): a few requests at a
time, the rest waiting on the event loop in the order they came; a wait past its limit
answers 503 database_unavailable and never reaches the app; an upload steps out of the
queue. (tests/reliability/test_load.py shows what it is for: fifty clients on SQLite with
no 503.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from app.middleware import WriteQueueMiddleware, leave_write_queue
from tests.aio import run as _run

T = TypeVar("T")


def _scope(path: str, app: FastAPI | None = None) -> Scope:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"accept", b"application/json")],
        "state": {},
    }
    if app is not None:
        scope["app"] = app
    return scope


class _Inner:
    """An app that records who entered and waits for its release (or steps out first)."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"]
        self.entered.append(name)
        if name.endswith("/upload"):
            leave_write_queue(Request(scope))
        await self.release.setdefault(name, asyncio.Event()).wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _receive() -> Message:
    return {"type": "http.request", "body": b""}


def _sink(into: list[Message]) -> Send:
    async def send(message: Message) -> None:
        into.append(message)

    return send


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_requests_past_the_slots_wait_and_enter_in_arrival_order() -> None:
    async def run() -> list[str]:
        inner = _Inner()
        queue = WriteQueueMiddleware(inner, slots=2, wait=10)
        names = [f"/r{i}" for i in range(6)]
        for name in names:
            inner.release[name] = asyncio.Event()
        tasks = []
        for name in names:
            tasks.append(asyncio.create_task(queue(_scope(name), _receive, _sink([]))))
            await _settle()
        assert inner.entered == ["/r0", "/r1"]  # two slots: the others wait
        for name in names:
            inner.release[name].set()
            await _settle()
        await asyncio.gather(*tasks)
        return inner.entered

    assert _run(run()) == [f"/r{i}" for i in range(6)]


def test_a_wait_past_the_limit_answers_503_without_reaching_the_app(app: FastAPI) -> None:
    async def run() -> tuple[list[str], list[Message]]:
        inner = _Inner()
        queue = WriteQueueMiddleware(inner, slots=1, wait=0.2)
        first = asyncio.create_task(queue(_scope("/api/v1/a", app), _receive, _sink([])))
        await _settle()
        answer: list[Message] = []
        await queue(_scope("/api/v1/b", app), _receive, _sink(answer))
        inner.release["/api/v1/a"].set()
        await first
        return inner.entered, answer

    entered, answer = _run(run())
    assert entered == ["/api/v1/a"]
    start, body = answer[0], answer[1]
    assert start["status"] == 503
    assert (b"retry-after", b"5") in start["headers"]
    assert json.loads(body["body"])["code"] == "database_unavailable"


def test_an_upload_that_steps_out_lets_the_next_request_in() -> None:
    async def run() -> list[str]:
        inner = _Inner()
        queue = WriteQueueMiddleware(inner, slots=1, wait=10)
        upload = asyncio.create_task(queue(_scope("/c/upload"), _receive, _sink([])))
        await _settle()
        other = asyncio.create_task(queue(_scope("/c/read"), _receive, _sink([])))
        await _settle()
        entered = list(inner.entered)  # the upload still streams; the read got in
        inner.release["/c/read"].set()
        inner.release["/c/upload"].set()
        await asyncio.gather(upload, other)
        return entered

    assert _run(run()) == ["/c/upload", "/c/read"]


@pytest.mark.parametrize("path", ["/static/haven.css", "/api/v1/sys/health"])
def test_open_paths_do_not_queue(path: str) -> None:
    async def run() -> list[str]:
        inner = _Inner()
        queue = WriteQueueMiddleware(
            inner, slots=1, wait=10, open_prefixes=("/static/", "/api/v1/sys/health")
        )
        busy = asyncio.create_task(queue(_scope("/busy"), _receive, _sink([])))
        await _settle()
        open_one = asyncio.create_task(queue(_scope(path), _receive, _sink([])))
        await _settle()
        entered = list(inner.entered)
        inner.release["/busy"].set()
        inner.release[path].set()
        await asyncio.gather(busy, open_one)
        return entered

    assert _run(run()) == ["/busy", path]


def test_the_app_has_the_queue_sized_for_its_database(app: FastAPI, backend: str) -> None:
    queues = [m for m in app.user_middleware if m.cls is WriteQueueMiddleware]
    assert len(queues) == 1
    assert queues[0].kwargs["slots"] == (4 if backend == "sqlite" else 12)


def test_an_answer_that_has_started_frees_its_slot_while_its_body_goes_out() -> None:
    """A download streaming to a slow link (its transaction long committed) must not hold
    one of the few slots: the next request gets in once the answer has started."""

    class _Streaming:
        def __init__(self) -> None:
            self.entered: list[str] = []
            self.body_done = asyncio.Event()

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            self.entered.append(scope["path"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            if scope["path"] == "/download":
                await self.body_done.wait()  # the client reads slowly
            await send({"type": "http.response.body", "body": b"chunk"})

    async def run() -> list[str]:
        inner = _Streaming()
        queue = WriteQueueMiddleware(inner, slots=1, wait=10)
        download = asyncio.create_task(queue(_scope("/download"), _receive, _sink([])))
        await _settle()
        read = asyncio.create_task(queue(_scope("/read"), _receive, _sink([])))
        await _settle()
        entered = list(inner.entered)
        inner.body_done.set()
        await asyncio.gather(download, read)
        return entered

    assert _run(run()) == ["/download", "/read"]
