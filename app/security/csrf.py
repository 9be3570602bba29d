"""CSRF: a per-session token, required on every state-changing request made with the cookie.

Bearer-token calls are exempt (a browser never attaches a bearer header by itself). The token
travels in the `X-CSRF-Token` header (API, and any multipart upload) or the `csrf_token` field of
an urlencoded form (pages). A page's upload form (multipart, no script to set a header) sends it
as the form's first part: only that part is read, and given back for the upload's own reader.
"""

from __future__ import annotations

import hmac
import re

from fastapi import Request
from starlette.types import Message

from app.security.errors import CsrfFailed

HEADER = "x-csrf-token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Only urlencoded forms are read for the token. A multipart body is never parsed here:
# Starlette's parser spools uploaded files to a plaintext temporary file (and consumes the
# body the encrypting upload reader needs), so multipart requests carry the token in the header.
_FORM_TYPES = ("application/x-www-form-urlencoded",)
# How far into a page's multipart body the token part may end (its headers and value).
_PEEK_LIMIT = 4 * 1024
_BOUNDARY = re.compile(r'boundary="?([^";]{1,256})"?')
_FIRST_PART_NAME = re.compile(rb'^content-disposition:\s*form-data;\s*name="([^"]*)"\s*$', re.I)


async def submitted_token(request: Request) -> str | None:
    """The CSRF token the request carries, from the header or the form."""
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.method in SAFE_METHODS:
        return None
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else None
    if content_type.startswith("multipart/form-data") and not request.url.path.startswith("/api/"):
        return await _first_part_token(request, content_type)
    return None


async def _first_part_token(request: Request, content_type: str) -> str | None:
    """The token of a page's multipart form when it is the body's first part (never a file).

    Reads at most _PEEK_LIMIT bytes, without Starlette's form parser (which spools files to a
    plaintext temporary file), then hands what it read back to the request, so the encrypting
    upload reader still receives the whole body."""
    found = _BOUNDARY.search(content_type)
    if found is None:
        return None
    delimiter = b"--" + found.group(1).encode("latin-1")
    buffered, more = bytearray(), True
    # Until the second delimiter (the end of the first part) or the limit, whichever first.
    while more and len(buffered) < _PEEK_LIMIT and buffered.count(delimiter) < 2:
        message = await request.receive()
        if message["type"] != "http.request":
            # The client left: what arrived, then its leaving (the body did not end, so the
            # upload's reader sees a disconnect, never a short body that looks whole).
            _give_back(request, bytes(buffered), more=True, last=message)
            return None
        buffered += message.get("body", b"")
        more = bool(message.get("more_body", False))
    _give_back(request, bytes(buffered), more=more)
    return _token_of(bytes(buffered[:_PEEK_LIMIT]), delimiter)


def _token_of(head: bytes, delimiter: bytes) -> str | None:
    if not head.startswith(delimiter + b"\r\n"):
        return None
    part, sep, _rest = head[len(delimiter) + 2 :].partition(b"\r\n" + delimiter)
    headers, blank, value = part.partition(b"\r\n\r\n")
    if not sep or not blank:
        return None
    lines = headers.split(b"\r\n")
    named = [m.group(1) for line in lines if (m := _FIRST_PART_NAME.match(line))]
    if named != [FIELD.encode()]:  # a file part has a filename: never the token
        return None
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        return None


def _give_back(request: Request, body: bytes, *, more: bool, last: Message | None = None) -> None:
    """Make the request's next receive() answer with body first, then the rest as it comes."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": more}]
    if last is not None:
        pending.append(last)
    receive = request.receive

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    # Starlette reads the body through this attribute and offers no public way to put bytes
    # back; the same Request object reaches the route, so its reader sees the whole body.
    request._receive = replay


def verify(expected: str, submitted: str | None) -> None:
    """Raise CsrfFailed unless submitted equals expected (constant-time)."""
    if not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfFailed()
