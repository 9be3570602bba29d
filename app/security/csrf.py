"""CSRF: a per-session token, required on every state-changing request made with the cookie.

Bearer-token calls are exempt (a browser never attaches a bearer header by itself). The token
travels in the `X-CSRF-Token` header (API, and any multipart upload) or the `csrf_token` field of
an urlencoded form (pages).
"""

from __future__ import annotations

import hmac

from fastapi import Request

from app.security.errors import CsrfFailed

HEADER = "x-csrf-token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Only urlencoded forms are read for the token. A multipart body is never parsed here:
# Starlette's parser spools uploaded files to a plaintext temporary file (and consumes the
# body the encrypting upload reader needs), so multipart requests carry the token in the header.
_FORM_TYPES = ("application/x-www-form-urlencoded",)


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
    return None


def verify(expected: str, submitted: str | None) -> None:
    """Raise CsrfFailed unless submitted equals expected (constant-time)."""
    if not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfFailed()
