"""The CSRF token of a page's multipart upload, read from the body as it streams in.

A browser sends an upload in many pieces. The token must be found however the pieces fall
(its part split across them), the read must stop at the end of the first part (or at the
peek limit), and every byte read must be handed back, in order, to the upload's own reader:
the encrypting reader stores exactly what was sent. A client that goes away mid-peek gets
no token, and the upload's reader still sees what arrived and then the disconnect. Driven
through `submitted_token` with a request whose body arrives in chosen pieces, below the
HTTP client (which sends a body in one piece)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from app.security.csrf import _PEEK_LIMIT, FIELD, submitted_token
from tests.aio import run

BOUNDARY = "----HavenTestBoundary7MA4YWxkTrZu0gW"
TOKEN = "k3y-of-the-session_0123456789abcdefghijklmno"
FILE = b"%PDF-1.4 synthetic summons\n" * 40


def _part(name: str, value: bytes, *, filename: str | None = None, extra: str = "") -> bytes:
    disposition = f'Content-Disposition: form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = disposition + ("\r\n" + extra if extra else "")
    return f"--{BOUNDARY}\r\n{head}\r\n\r\n".encode() + value + b"\r\n"


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class Stream:
    """The ASGI receive channel of one request: the body in pieces, then (optionally) a
    disconnect; counts what has been taken from it."""

    def __init__(self, body: bytes, size: int, *, disconnect_after: int | None = None) -> None:
        pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        self.messages: list[Message] = [
            {"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
            for i, p in enumerate(pieces)
        ]
        if disconnect_after is not None:
            self.messages = [*self.messages[:disconnect_after], {"type": "http.disconnect"}]
        self.taken = 0

    async def receive(self) -> Message:
        message = self.messages[self.taken]
        self.taken += 1
        return message


def _request(stream: Stream, path: str = "/cases/x/documents") -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    return Request(scope, stream.receive)


async def _rest(request: Request) -> tuple[bytes, Message | None]:
    """What the upload's reader then receives: the body, and a disconnect if one came."""
    body = b""
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            return body, message
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, None


def _peek(body: bytes, size: int, **kw: Any) -> tuple[str | None, bytes, Message | None, int]:
    """The token found, what the upload's reader then receives (the body, and the message
    after it when the client left), and how many pieces the peek took."""
    stream = Stream(body, size, **kw)
    request = _request(stream)

    async def go() -> tuple[str | None, int, bytes, Message | None]:
        token = await submitted_token(request)
        taken = stream.taken
        rest, last = await _rest(request)
        if last is None and stream.messages[-1]["type"] == "http.disconnect":
            last = await request.receive()
        return token, taken, rest, last

    token, taken, rest, last = run(go())
    return token, rest, last, taken


def test_the_token_is_found_however_the_pieces_fall_and_the_body_is_given_back_whole() -> None:
    body = _body(_part(FIELD, TOKEN.encode()), _part("file", FILE, filename="a.pdf"))
    for size in (1, 3, 7, 16, 64, 100, 1000, len(body)):
        token, rest, last, _ = _peek(body, size)
        assert token == TOKEN, size
        assert rest == body, size  # every byte, once, in order
        assert last is None


def test_the_peek_stops_at_the_end_of_the_first_part() -> None:
    """Pieces of 10 bytes: the read stops at the piece that holds the second delimiter
    (the start of the file part), not later."""
    first = _part(FIELD, TOKEN.encode())
    body = _body(first, _part("file", FILE, filename="a.pdf"))
    second_delimiter_ends = len(first) + len(BOUNDARY) + 2
    _, rest, _, taken = _peek(body, 10)
    assert taken == -(-second_delimiter_ends // 10)  # the piece it ends in, no further
    assert rest == body


def test_the_peek_stops_at_its_limit_and_a_part_longer_than_that_is_no_token() -> None:
    """A first part whose value runs past the peek limit is not read to its end: the read
    stops at the limit, and what was read holds no whole part, so there is no token."""
    value = b"A" * (2 * _PEEK_LIMIT)
    body = _body(_part(FIELD, value), _part("file", FILE, filename="a.pdf"))
    token, rest, _, taken = _peek(body, 512)
    assert token is None
    assert taken == _PEEK_LIMIT // 512  # exactly the limit: not one piece more
    assert rest == body


def test_a_client_that_leaves_mid_peek_gets_no_token_and_the_reader_sees_it_leave() -> None:
    body = _body(_part(FIELD, TOKEN.encode()), _part("file", FILE, filename="a.pdf"))
    token, rest, last, _ = _peek(body, 8, disconnect_after=3)
    assert token is None
    assert rest == body[:24]  # what arrived, handed back
    assert last == {"type": "http.disconnect"}
    # Read as the upload's reader reads (Starlette's stream): the client's leaving, never a
    # short body that ends as if it were whole (it would be stored truncated).
    stream = Stream(body, 8, disconnect_after=3)
    request = _request(stream)

    async def read_all() -> bytes:
        assert await submitted_token(request) is None
        return b"".join([chunk async for chunk in request.stream()])

    with pytest.raises(ClientDisconnect):
        run(read_all())


def test_a_piece_without_a_body_is_an_empty_piece() -> None:
    """ASGI lets a message leave out its body: it adds nothing."""
    body = _body(_part(FIELD, TOKEN.encode()), _part("file", FILE, filename="a.pdf"))
    stream = Stream(body, 16)
    stream.messages.insert(0, {"type": "http.request", "more_body": True})
    request = _request(stream)

    async def go() -> tuple[str | None, bytes]:
        token = await submitted_token(request)
        rest, _ = await _rest(request)
        return token, rest

    assert run(go()) == (TOKEN, body)


def test_only_a_plain_first_part_named_for_the_token_is_the_token() -> None:
    with_type = _part(FIELD, TOKEN.encode(), extra="Content-Type: text/plain")
    file = _part("file", FILE, filename="a.pdf")
    cases = {
        "a second header line": (_body(with_type, file), TOKEN),
        "a file named for the token": (
            _body(_part(FIELD, TOKEN.encode(), filename="t.txt"), file),
            None,
        ),
        "the token after the file": (_body(file, _part(FIELD, TOKEN.encode())), None),
        "no blank line before the value": (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{FIELD}"\r\n'.encode()
            + TOKEN.encode()
            + f"\r\n--{BOUNDARY}--\r\n".encode(),
            None,
        ),
        "not ASCII": (_body(_part(FIELD, "токен".encode()), file), None),
    }
    for label, (body, expected) in cases.items():
        token, rest, _, _ = _peek(body, 64)
        assert token == expected, label
        assert rest == body, label
