"""The verifier's fast path: the database spells each entry's canonical encoding (v1) with
its own JSON functions, Python only hashes and compares.

Soundness. Python's encoder (`app.audit.canonical`) stays the definition; this path is only
believed when SHA-256(0x00 || the database's bytes) equals the stored leaf hash of every
row of a chunk, with no position missing. The database's bytes are a JSON encoding of the
row's current values (each string through the database's JSON string encoder, `fields`
through its JSON parser), and JSON text determines its values; so equal hashes mean the
current values are exactly those the leaf was computed from (SHA-256 collision
resistance). Anything else (a mismatch, an encoding that differs only in spelling, such as
non-ASCII characters the database writes raw, a NULL, a malformed `fields`, an error) sends
the whole chunk to the exact Python path, which names the bad entry. The fast path never
accepts what the exact path would refuse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from operator import itemgetter
from typing import Any

from app.audit.canonical import fields_json

_SQLITE = (
    "SELECT l.seq, CAST(json_array('haven-audit/v1', l.seq, e.id, e.at, e.actor_id, "
    "e.actor_role, e.action, e.object_type, e.object_id, "
    "CASE WHEN e.fields IS NULL THEN NULL WHEN json_valid(e.fields) THEN json(e.fields) END, "
    "e.outcome, e.request_id, e.reason_code) AS BLOB), l.leaf_hash "
    "FROM audit_leaves l LEFT JOIN audit_entries e ON e.id = l.entry_id "
    "WHERE l.seq >= :lo AND l.seq < :hi ORDER BY l.seq"
)
# The entry-id bounds change nothing (an entry joins only its own leaf's entry_id, which lies
# within them) but let PostgreSQL probe the entries' primary key for this chunk instead of
# hashing the whole table once per chunk.
PG_FROM = (
    "FROM audit_leaves l LEFT JOIN audit_entries e ON e.id = l.entry_id "
    "AND e.id >= (SELECT min(entry_id + 0) FROM audit_leaves WHERE seq >= %(lo)s AND seq < %(hi)s) "
    "AND e.id <= (SELECT max(entry_id + 0) FROM audit_leaves WHERE seq >= %(lo)s AND seq < %(hi)s) "
    "WHERE l.seq >= %(lo)s AND l.seq < %(hi)s"
)


def _pg_text(column: str) -> str:
    return f"coalesce(to_json({column})::text, 'null')"


_PG_HEAD = (
    "'[\"haven-audit/v1\",' || l.seq::text || ',' || e.id::text || ',' || "
    "to_json(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'))::text || ',' || "
    + " || ',' || ".join(
        [
            _pg_text("replace(CAST(e.actor_id AS TEXT), '-', '')"),
            _pg_text("e.actor_role"),
            "to_json(e.action)::text",
            _pg_text("e.object_type"),
            _pg_text("e.object_id"),
        ]
    )
    + " || ','"
)
_PG_TAIL = (
    "',' || to_json(e.outcome)::text || ',' || "
    + " || ',' || ".join([_pg_text("e.request_id"), _pg_text("e.reason_code")])
    + " || ']'"
)
# `fields` travels as stored text and is re-encoded by Python's own canonical function
# (cached per distinct value): PostgreSQL's json output is not compact.
_POSTGRESQL = (
    f"SELECT l.seq, convert_to({_PG_HEAD}, 'UTF8'), CAST(e.fields AS TEXT), "
    f"convert_to({_PG_TAIL}, 'UTF8'), l.leaf_hash {PG_FROM}"
)

SQL = {"sqlite": _SQLITE, "postgresql": _POSTGRESQL}
_SAVEPOINT = "audit_verify_fast"
_seq = itemgetter(0)


def fetch(cursor: Any, sql: str, lo: int, hi: int, error: type[Exception]) -> list[Any] | None:
    """The chunk's (seq, canonical bytes, stored leaf) rows, or None if the query failed
    (inside a savepoint, so a failure leaves the verifier's transaction usable)."""
    cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        cursor.execute(sql, {"lo": lo, "hi": hi})
        rows: list[Any] = cursor.fetchall()
        rows.sort(key=_seq)  # PostgreSQL would sort wide rows on disk; Python's is O(n) here
    except error:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        rows = []
        failed = True
    else:
        failed = False
    cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    return None if failed else rows


def leaves(rows: list[Any], lo: int, hi: int) -> list[bytes] | None:
    """The chunk's leaf hashes when every row is present and matches its stored leaf."""
    if len(rows) != hi - lo or not rows or rows[0][0] != lo or rows[-1][0] != hi - 1:
        return None
    sha = hashlib.sha256
    try:
        if len(rows[0]) == 3:  # the database wrote the whole encoding
            computed = [sha(b"\x00" + r[1]).digest() for r in rows]
        else:  # head, fields text, tail
            fields = {r[2]: fields_json(r[2]).encode("ascii") for r in rows}
            computed = [sha(b"\x00" + r[1] + fields[r[2]] + r[3]).digest() for r in rows]
    except (TypeError, UnicodeEncodeError):  # a NULL somewhere: the exact path will say where
        return None
    stored = [r[-1] for r in rows]
    return computed if computed == stored else None


def chunks(
    cursor: Any, sql: str, size: int, chunk: int, error: type[Exception]
) -> Iterator[tuple[int, int, list[bytes] | None]]:
    """(lo, hi, leaves or None) for every chunk of [0, size), fetching the next chunk in a
    thread while this one is hashed (the drivers release the GIL while the database works).

    When a chunk's leaves are None the next fetch has already finished, so the caller may
    use the connection for the exact path before asking for the next chunk."""
    ranges = [(lo, min(lo + chunk, size)) for lo in range(0, size, chunk)]
    if not ranges:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-verify") as pool:
        ahead: Future[list[Any] | None] = pool.submit(fetch, cursor, sql, *ranges[0], error)
        for i, (lo, hi) in enumerate(ranges):
            rows = ahead.result()
            if i + 1 < len(ranges):
                ahead = pool.submit(fetch, cursor, sql, *ranges[i + 1], error)
            found = leaves(rows, lo, hi) if rows is not None else None
            if found is None:
                ahead.exception()  # wait: the connection must be idle for the exact path
            yield lo, hi, found
