"""Canary scanning: look for a value as bytes in UTF-8, UTF-16 and base64 anywhere."""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from tests.conftest import ScratchDatabase

# Unique strings that appear nowhere else: one ASCII, one Cyrillic (two-byte UTF-8).
CANARIES = ("HAVENCANARYqx7zW3", "КанарейкаЖЪЮ7Щ")


def needles(canary: str) -> list[bytes]:
    """Every byte form the canary could take: UTF-8, UTF-16 (both orders), base64 at any
    alignment (inner characters only, which do not depend on neighbouring bytes)."""
    utf8 = canary.encode("utf-8")
    forms = [utf8, canary.encode("utf-16-le"), canary.encode("utf-16-be")]
    for shift in range(3):
        encoded = base64.b64encode(b"\x00" * shift + utf8)
        forms.append(encoded[4:-4])
        forms.append(base64.urlsafe_b64encode(b"\x00" * shift + utf8)[4:-4])
    return forms


def hits(blob: bytes, canaries: Iterable[str] = CANARIES) -> list[str]:
    """Which canary forms occur in blob (empty when clean)."""
    return [f"{c!r} as {n!r}" for c in canaries for n in needles(c) if n in blob]


def scan_files(paths: Iterable[Path], canaries: Iterable[str] = CANARIES) -> list[str]:
    """Canary hits in the bytes of files (recursing into folders)."""
    found = []
    for path in paths:
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        for file in files:
            if file.exists():
                found += [f"{file.name}: {h}" for h in hits(file.read_bytes(), canaries)]
    return found


def postgres_contents(db: ScratchDatabase, engine: Engine) -> bytes:
    """Every table's rows as JSON text plus a data-only pg_dump of the database: what a
    thief with the PostgreSQL files or a dump would hold."""
    with engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        rows = b"".join(
            str(conn.execute(text(f'SELECT row_to_json(t)::text FROM "{name}" t')).all()).encode()  # noqa: S608 - names come from pg_tables
            for name in tables
        )
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:  # pragma: no cover - the CI image has it
        pytest.fail("pg_dump is not installed")
    url = make_url(db.url)
    dump = subprocess.run(
        [pg_dump, "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
         url.username or "postgres", "--data-only", url.database or ""],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    return rows + dump
