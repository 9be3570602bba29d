"""A verification worker (`python -m app.audit.scanner`): the fast path over a run of
chunks on a connection of its own, answering with compact ranges (see app/audit/workers.py,
which starts it). Kept free of SQLAlchemy and the web stack so it starts in milliseconds.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.audit import fastscan
from app.audit.merkle import build_levels, decompose

# (lo, hi, {prefix length: compact range} or None when the chunk needs the exact path)
Summary = tuple[int, int, dict[int, list[bytes]] | None]


@dataclass(frozen=True)
class Source:
    """How a worker reaches the verifier's database: a SQLite file, or a PostgreSQL
    connection string and the snapshot the verifier exported."""

    dialect: str
    dsn: str
    snapshot: str | None = None


def _connect(source: Source) -> tuple[Any, Any, type[Exception]]:
    if source.dialect == "sqlite":
        uri = f"{Path(source.dsn).resolve().as_uri()}?mode=ro"  # '?' or '#' in a name is quoted
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return conn, conn.cursor(), sqlite3.Error
    import psycopg
    from psycopg import sql

    pg = psycopg.connect(source.dsn)
    pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    pg.read_only = True
    if source.snapshot:
        pg.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(source.snapshot)))
    return pg, pg.cursor(binary=True), psycopg.Error


def scan(source: Source, spans: list[tuple[int, int]], wanted: list[int]) -> list[Summary]:
    """A worker's job: the summaries of these chunks, in order."""
    conn, cursor, error = _connect(source)
    try:
        out: list[Summary] = []
        for lo, hi, found in fastscan.chunks(cursor, fastscan.SQL[source.dialect], spans, error):
            if found is None:
                out.append((lo, hi, None))
                continue
            levels = build_levels(found)
            offsets = {hi - lo} | {w - lo for w in wanted if lo < w < hi}
            out.append((lo, hi, {k: decompose(levels, 0, k) for k in offsets}))
        return out
    finally:
        conn.close()


def encode(summaries: list[Summary]) -> list[Any]:
    """Summaries as JSON-ready lists (hashes in hex)."""
    return [
        [lo, hi, None if p is None else {str(k): [h.hex() for h in v] for k, v in p.items()}]
        for lo, hi, p in summaries
    ]


def decode(raw: list[Any]) -> list[Summary]:
    """The summaries a worker wrote (the inverse of `encode`)."""
    return [
        (
            int(lo),
            int(hi),
            None if p is None else {int(k): [bytes.fromhex(h) for h in v] for k, v in p.items()},
        )
        for lo, hi, p in raw
    ]


def main() -> None:
    """A worker: read the job from stdin, write the summaries to stdout."""
    job = json.loads(sys.stdin.buffer.read())
    spans = [(int(lo), int(hi)) for lo, hi in job["spans"]]
    summaries = scan(Source(**job["source"]), spans, [int(w) for w in job["wanted"]])
    sys.stdout.write(json.dumps(encode(summaries)))


if __name__ == "__main__":
    main()
