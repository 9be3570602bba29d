"""The verifier's fast path: each leaf is rebuilt from the stored body alone.

Soundness. A leaf is SHA-256(0x00 || ["haven-audit/v2",seq,entry_id,BODY]) (see
app/audit/canonical.py), so hashing the stored body with its position and row id and
comparing with the stored leaf checks everything the leaf commits to; the value columns
are generated from the body by the database, which the verifier checks first
(`app.audit.schema.projection_intact`) and without which this path is not taken. Anything
else (a mismatch, a missing row or body, a failed query) sends the whole chunk to the exact
path in app/audit/verify.py, which also compares every column with its body and names the
bad entry. The fast path never accepts what the exact path would refuse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar

from app.audit.canonical import LEAF_PREIMAGE


@dataclass(frozen=True)
class Split:
    """The fast path's queries: the chunk's leaves, then the bodies of the entry-id range
    they name (two primary-key range scans, joined in Python: no join work for the
    database), or, when a chunk's entry ids are spread wide, one joined query. Without
    `leaves` (SQLite: its join is cheaper than a second statement) always the join."""

    joined: str
    leaves: str | None = None
    bodies: str | None = None


_SQLITE_JOIN = (
    "FROM audit_leaves l LEFT JOIN audit_entries e ON e.id = l.entry_id "
    "WHERE l.seq >= :lo AND l.seq < :hi"
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
_COLUMNS = "SELECT l.seq, l.entry_id, e.body, l.leaf_hash "
SQL = {
    "sqlite": Split(_COLUMNS + _SQLITE_JOIN),
    "postgresql": Split(
        _COLUMNS + PG_FROM,
        leaves="SELECT seq, entry_id, leaf_hash FROM audit_leaves "
        "WHERE seq >= %(lo)s AND seq < %(hi)s ORDER BY seq",
        bodies="SELECT id, body FROM audit_entries WHERE id >= %(lo)s AND id <= %(hi)s",
    ),
}
# A chunk whose entry ids span more than this many times its length reads the joined query.
_SPREAD = 4
_SAVEPOINT = "audit_verify_fast"
_seq = itemgetter(0)
_T = TypeVar("_T")


# A chunk as the fast path reads it: either its joined rows (seq, entry id, body, stored
# leaf) and None, or its leaf rows (seq, entry id, stored leaf) and the bodies by entry id.
Fetched = tuple[list[Any], dict[int, str] | None]


def _read(cursor: Any, query: Split, lo: int, hi: int) -> Fetched:
    if query.leaves is not None and query.bodies is not None:
        cursor.execute(query.leaves, {"lo": lo, "hi": hi})
        found = list(cursor.fetchall())
        ids = [r[1] for r in found]
        if ids and max(ids) - min(ids) < _SPREAD * len(found):
            cursor.execute(query.bodies, {"lo": min(ids), "hi": max(ids)})
            pairs = cursor.fetchall()
            bodies = dict(pairs)
            if len(bodies) == len(pairs):  # two rows with one id: let the join show both
                return found, bodies
    cursor.execute(query.joined, {"lo": lo, "hi": hi})
    rows = list(cursor.fetchall())
    if query.leaves is not None:
        rows.sort(key=_seq)  # PostgreSQL's hash join keeps no order; SQLite's scan does
    return rows, None


def fetch(cursor: Any, query: str, lo: int, hi: int, error: type[Exception]) -> list[Any] | None:
    """The exact path's rows for a chunk, or None if the query failed (inside a savepoint,
    so a failure leaves the verifier's transaction usable)."""
    return _guarded(cursor, error, lambda: sorted(_all(cursor, query, lo, hi), key=_seq))


def fetch_fast(
    cursor: Any, query: Split, lo: int, hi: int, error: type[Exception]
) -> Fetched | None:
    """The fast path's reading of a chunk, or None if a query failed."""
    return _guarded(cursor, error, lambda: _read(cursor, query, lo, hi))


def _all(cursor: Any, query: str, lo: int, hi: int) -> list[Any]:
    cursor.execute(query, {"lo": lo, "hi": hi})
    return list(cursor.fetchall())


def _guarded(cursor: Any, error: type[Exception], read: Callable[[], _T]) -> _T | None:
    cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        result: _T | None = read()
    except error:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        result = None
    cursor.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    return result


def leaves(fetched: Fetched, lo: int, hi: int) -> list[bytes] | None:
    """The chunk's leaf hashes when every position is present, in order, and every body
    hashes to its stored leaf."""
    rows, bodies = fetched
    if [r[0] for r in rows] != list(range(lo, hi)):  # none missing, doubled or out of order
        return None
    sha, preimage = hashlib.sha256, LEAF_PREIMAGE
    try:  # a missing body spells "None" and mismatches; a NULL id is a TypeError
        if bodies is None:
            computed = [sha((preimage % r[:3]).encode()).digest() for r in rows]
        else:
            body = bodies.get
            computed = [sha((preimage % (s, e, body(e))).encode()).digest() for s, e, _ in rows]
    except (TypeError, UnicodeEncodeError):
        return None
    return computed if computed == [r[-1] for r in rows] else None


def ranges(size: int, chunk: int) -> list[tuple[int, int]]:
    """The aligned chunks [lo, hi) of [0, size)."""
    return [(lo, min(lo + chunk, size)) for lo in range(0, size, chunk)]


def chunks(
    cursor: Any, sql: Split, spans: list[tuple[int, int]], error: type[Exception]
) -> Iterator[tuple[int, int, list[bytes] | None]]:
    """(lo, hi, leaves or None) for every chunk in spans, fetching the next chunk in a
    thread while this one is hashed (the drivers release the GIL while the database works).

    When a chunk's leaves are None the next fetch has already finished, so the caller may
    use the connection for the exact path before asking for the next chunk."""
    if not spans:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-verify") as pool:
        ahead: Future[Fetched | None] = pool.submit(fetch_fast, cursor, sql, *spans[0], error)
        for i, (lo, hi) in enumerate(spans):
            rows = ahead.result()
            if i + 1 < len(spans):
                ahead = pool.submit(fetch_fast, cursor, sql, *spans[i + 1], error)
            found = leaves(rows, lo, hi) if rows is not None else None
            if found is None:
                ahead.exception()  # wait: the connection must be idle for the exact path
            yield lo, hi, found
