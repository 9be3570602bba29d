"""The few static files the pages use, served by the app itself: a stylesheet, and Swagger
UI for the API documentation (vendored from npm's swagger-ui-dist, pinned, with its licence:
`swagger-ui/README.txt`).

No CDN and no inline style: the CSP allows styles from 'self' only. URLs carry a content
hash (`static_url`), so browsers may keep a file for a year and still never see a stale one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response

from app.errors import NotFound
from app.policy.deps import PUBLIC

HERE = Path(__file__).resolve().parent
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

router = APIRouter(prefix="/static", tags=["static"], include_in_schema=False)


@dataclass(frozen=True)
class StaticFile:
    """One file's bytes, type and content hash."""

    body: bytes
    media_type: str
    digest: str


def _load() -> dict[str, StaticFile]:
    files = {}
    for path in sorted(HERE.rglob("*")):
        if path.suffix in TYPES and path.is_file():
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:16]
            files[path.relative_to(HERE).as_posix()] = StaticFile(body, TYPES[path.suffix], digest)
    return files


FILES = _load()


def static_url(name: str) -> str:
    """The URL of a static file, with its content hash so caches never serve an old one."""
    return f"/static/{name}?v={FILES[name].digest}"


@router.get("/{name:path}", dependencies=PUBLIC)
def static_file(name: str) -> Response:
    """A static file by name (only the files shipped in this folder)."""
    found = FILES.get(name)
    if found is None:
        raise NotFound()
    return Response(
        found.body,
        media_type=found.media_type,
        headers={"cache-control": "public, max-age=31536000, immutable", "etag": found.digest},
    )
