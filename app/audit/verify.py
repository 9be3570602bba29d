"""The verifier: recompute every leaf and the tree, check signed checkpoints against it, and
name the first bad entry.

What it proves: the entries the database returns now are the ones every trusted checkpoint
(stored, or held outside the server) committed to, with no position missing, changed,
reordered or inserted. A stored leaf hash that disagrees with its entry names that entry
exactly; a tamperer who also recomputed the stored hashes is caught by the checkpoints, and
the first position no checkpoint still vouches for is named.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit import fastscan, workers
from app.audit.canonical import BODY_COLUMNS, entry_leaf, pending_digest
from app.audit.merkle import EMPTY_ROOT, StreamingTree, fold_right, unpack_frontier
from app.audit.models import AuditCheckpoint, AuditHead
from app.audit.note import NoteError, VerifierKey, open_checkpoint
from app.audit.scanner import Summary
from app.audit.schema import projection_intact
from app.audit.tree import HEAD_ID

_ZERO = bytes(32)
logger = logging.getLogger(__name__)

# The value columns as the body spells them (text, hex, JSON text), per dialect.
_COLUMNS = {
    "sqlite": ("e.at", "e.actor_id", "e.fields"),
    "postgresql": (
        "to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
        "replace(CAST(e.actor_id AS TEXT), '-', '')",
        "CAST(e.fields AS TEXT)",
    ),
}
_FIELDS = BODY_COLUMNS.index("fields")
# Exact-path rows: seq, leaf's entry id, entry row id, body, the ten columns, stored leaf.
_SEQ, _LEAF_EID, _ROW_ID, _BODY, _FIRST_COLUMN, _STORED = 0, 1, 2, 3, 4, 14


def _chunk_sql(dialect: str) -> str:
    at, actor, fields = _COLUMNS[dialect]
    where = (
        "FROM audit_leaves l LEFT JOIN audit_entries e ON e.id = l.entry_id "
        "WHERE l.seq >= :lo AND l.seq < :hi ORDER BY l.seq"
        if dialect == "sqlite"
        else fastscan.PG_FROM
    )
    # Built only from the fixed fragments above, never from input.
    order = "" if dialect == "sqlite" else " ORDER BY l.seq"
    return (
        f"SELECT l.seq, l.entry_id, e.id, e.body, {at}, {actor}, e.actor_role, e.action, "
        f"e.object_type, e.object_id, {fields}, e.outcome, e.request_id, e.reason_code, "
        f"l.leaf_hash {where}{order}"
    )


@dataclass(frozen=True)
class Target:
    """A root the recomputed tree must reproduce at one size."""

    size: int
    root: bytes
    label: str


@dataclass
class VerifyReport:
    """The verifier's answer; `as_dict()` is the API shape."""

    entries: int
    root: bytes
    checkpoints: int
    first_bad: int | None = None
    findings: list[str] = field(default_factory=list)
    # Committed entries not yet sequenced, each checked against its pending digest.
    pending: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing at all was found."""
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        """{"ok", "entries", "first_bad"} as `GET /api/v1/audit/verify` returns it."""
        return {"ok": self.ok, "entries": self.entries, "first_bad": self.first_bad}

    def summary(self) -> str:
        """Readable lines for the CLI."""
        head = (
            f"audit log intact: {self.entries} entries, root {self.root.hex()}, "
            f"{self.checkpoints} signed checkpoint{'' if self.checkpoints == 1 else 's'} "
            "consistent (the stored ones and any file given)"
            + (
                f"; {self.pending} more committed, not yet sequenced, match their digests"
                if self.pending
                else ""
            )
            if self.ok
            else "audit log NOT intact"
            + (f": first bad entry: {self.first_bad}" if self.first_bad is not None else "")
        )
        return "\n".join([head, *(f"  - {f}" for f in self.findings)])


@dataclass
class _Scan:
    """State of one pass over the leaves."""

    exact_bad: int | None = None
    matched: list[int] = field(default_factory=list)
    mismatched: list[Target] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def bad(self, seq: int, message: str) -> None:
        if self.exact_bad is None:
            self.exact_bad = seq
            self.findings.append(message)


def _leaf(seq: int, row: Any) -> bytes:
    """The leaf this row's body would have at position seq; never raises (a row a tamperer
    filled with odd types yields a hash no entry has)."""
    try:
        return entry_leaf(seq, row[_LEAF_EID], row[_BODY])
    except (TypeError, ValueError):
        return _ZERO


def _column_disagreeing(row: Any) -> str | None:
    """The first value column that says something the body does not, if any."""
    try:
        recorded = json.loads(row[_BODY])
        if not isinstance(recorded, list) or len(recorded) != len(BODY_COLUMNS):
            return "body"
    except (TypeError, ValueError):
        return "body"
    for i, name in enumerate(BODY_COLUMNS):
        value = row[_FIRST_COLUMN + i]
        if i == _FIELDS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return name
        if value != recorded[i]:
            return name
    return None


def _chunk_leaves(rows: list[Any], lo: int, hi: int, scan: _Scan) -> list[bytes]:
    """The chunk's leaves the careful way: every leaf rebuilt, every column compared with
    its body, the first bad entry named."""
    by_seq: dict[int, Any] = {}
    doubled: set[int] = set()
    for r in rows:
        if r[_SEQ] in by_seq:
            doubled.add(r[_SEQ])
        by_seq[r[_SEQ]] = r
    leaves = []
    for seq in range(lo, hi):
        row = by_seq.get(seq)
        if row is None:
            scan.bad(seq, f"entry {seq}: missing (deleted or renumbered)")
            leaves.append(_ZERO)
            continue
        if seq in doubled:
            scan.bad(seq, f"entry {seq}: more than one row for this position (a forged duplicate)")
        if row[_ROW_ID] is None:
            scan.bad(seq, f"entry {seq}: its entry row is missing (deleted)")
        leaf = _leaf(seq, row)
        if leaf != row[_STORED]:
            _diagnose(row, scan)
        elif (column := _column_disagreeing(row)) is not None:
            scan.bad(seq, f"entry {seq}: its {column} column disagrees with its body (edited)")
        leaves.append(leaf)
    return leaves


def _diagnose(row: Any, scan: _Scan) -> None:
    """Name a mismatching entry; one shifted by an insertion or deletion names the gap."""
    seq = row[_SEQ]
    if seq > 0 and _leaf(seq - 1, row) == row[_STORED]:
        scan.bad(
            seq - 1, f"entry {seq - 1}: inserted (the entry now at {seq} belongs at {seq - 1})"
        )
    elif _leaf(seq + 1, row) == row[_STORED]:
        scan.bad(seq, f"entry {seq}: deleted (the entry now at {seq} belongs at {seq + 1})")
    else:
        scan.bad(seq, f"entry {seq}: content does not match its leaf hash (edited or moved)")


def _load_targets(
    session: Session, keys: list[VerifierKey], origin: str, external: str | None
) -> tuple[list[Target], list[str], int]:
    targets: list[Target] = []
    findings: list[str] = []
    stored = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id))
    notes = [(f"checkpoint #{c.id}", c.note) for c in stored]
    if external is not None:
        notes.append(("checkpoint file", external))
    previous = 0
    for label, note in notes:
        try:
            cp = open_checkpoint(note, keys)
        except NoteError as exc:
            findings.append(f"{label}: {exc}")
            continue
        if cp.origin != origin:
            findings.append(f"{label}: origin {cp.origin!r} is not this log's {origin!r}")
            continue
        if label != "checkpoint file" and cp.size < previous:
            findings.append(f"{label}: tree size {cp.size} < {previous} before it (rollback)")
        previous = max(previous, cp.size)
        targets.append(Target(cp.size, cp.root, label))
    return targets, findings, len(targets)


def verify_log(
    session: Session,
    *,
    keys: list[VerifierKey],
    origin: str,
    external_checkpoint: str | None = None,
    deep: bool = False,
    parallel_min: int | None = None,
) -> VerifyReport:
    """Verify the whole log against its stored checkpoints and, if given, one held outside.

    Leaves are rebuilt from the stored bodies while the value columns are still generated
    from them (app/audit/schema.py); if the schema was altered, or when `deep` is asked for
    (an attacker who can edit the database's files or catalogs directly), every column is
    also compared with its body. Logs of `parallel_min` entries or more are hashed by
    worker processes (app/audit/workers.py)."""
    targets, findings, n_checkpoints = _load_targets(session, keys, origin, external_checkpoint)
    # The head is read after the checkpoints, so an honest log is never shorter than them.
    head = session.get(AuditHead, HEAD_ID, populate_existing=True)
    if head is None:
        raise RuntimeError("audit_head row 1 is missing: run the migrations")
    size = head.size
    scan = _Scan(findings=findings)
    intact = projection_intact(session.connection())
    if intact is False:
        scan.findings.append(
            "audit_entries: the value columns are no longer generated from the body as the "
            "schema defines (the table was altered)"
        )
    if deep and session.connection().dialect.name == "sqlite":
        # An index edited apart from its table (PRAGMA writable_schema) hides rows from the
        # auditor's filters while every row reads true: compare each index with its table.
        found = [str(r[0]) for r in session.execute(text("PRAGMA integrity_check(audit_entries)"))]
        if found != ["ok"]:
            scan.findings.append(f"audit_entries fails its integrity check: {found[0]}")
    ordered = sorted(targets, key=lambda t: t.size)
    fast = intact is True and not deep
    least = workers.PARALLEL_MIN if parallel_min is None else parallel_min
    root = _scan_tree(session, size, ordered, scan, fast=fast, parallel_min=least)
    truncated = [t for t in targets if t.size > size]
    for t in truncated:
        scan.findings.append(f"{t.label} vouches for {t.size} entries, the log has {size}")
    try:
        head_root = fold_right(unpack_frontier(head.frontier, size))
    except ValueError:
        head_root = b""
    if head_root != root:
        scan.findings.append("the head row does not match the recomputed tree")
    pending = _check_unsequenced(session, scan, size)
    first_bad = _first_bad(scan, size if truncated else None)
    return VerifyReport(size, root, n_checkpoints, first_bad, scan.findings, pending)


def _scan_tree(
    session: Session,
    size: int,
    targets: list[Target],
    scan: _Scan,
    *,
    fast: bool,
    parallel_min: int,
) -> bytes:
    conn = session.connection()
    dialect = conn.dialect.name
    exact_sql, fast_sql = _chunk_sql(dialect), fastscan.SQL[dialect]
    error: type[Exception] = conn.dialect.loaded_dbapi.Error
    tree = StreamingTree()
    spans = fastscan.ranges(size, tree.CHUNK)
    pending = [t for t in targets if t.size <= size]
    for t in [t for t in pending if t.size == 0]:
        (scan.matched.append(0) if t.root == EMPTY_ROOT else scan.mismatched.append(t))
    pending = [t for t in pending if t.size > 0]
    summaries = (
        _from_workers(session, spans, [t.size for t in pending])
        if fast and size >= parallel_min
        else None
    )
    cursor = conn.connection.cursor()
    # psycopg: binary results (bytea arrives as bytes, not hex text to decode).
    ahead_cursor = conn.connection.cursor(**({"binary": True} if dialect == "postgresql" else {}))
    scanned: Iterable[tuple[int, int, Any]]
    if summaries is not None:
        scanned = summaries
    elif fast:
        scanned = fastscan.chunks(ahead_cursor, fast_sql, spans, error)
    else:
        scanned = ((lo, hi, None) for lo, hi in spans)
    try:
        for lo, hi, found in scanned:
            if isinstance(found, dict):  # hashed and matched by a worker
                tree.add_summary(hi - lo, found)
            elif found is not None:
                tree.add_chunk(found)
            else:  # something differs (or the schema does): the exact path names it
                rows = fastscan.fetch(cursor, exact_sql, lo, hi, error)
                if rows is None:
                    scan.bad(lo, f"entry {lo}: the entries table cannot be read (altered)")
                    rows = []
                tree.add_chunk(_chunk_leaves(rows, lo, hi, scan))
            while pending and pending[0].size <= hi:
                t = pending.pop(0)
                ok = tree.root_at(t.size) == t.root
                (scan.matched.append(t.size) if ok else scan.mismatched.append(t))
    finally:
        cursor.close()
        ahead_cursor.close()
    return tree.root() if size else EMPTY_ROOT


def _from_workers(
    session: Session, spans: list[tuple[int, int]], wanted: list[int]
) -> list[Summary] | None:
    """The chunks' summaries from worker processes, or None to verify in-process (no way
    to share the database with them, or they failed: the in-process path decides)."""
    source = workers.source_for(session)
    if source is None:
        return None
    try:
        return workers.run(source, spans, wanted)
    except Exception:
        logger.warning("audit verification workers failed; verifying in-process", exc_info=True)
        return None


def _check_unsequenced(session: Session, scan: _Scan, size: int) -> int:
    """The committed entries not yet in the tree (app/audit/tree.py): each must still have
    its pending row and match its digest; a pending row whose entry is gone, or an entry
    that has neither a position nor a pending row, is named. Returns how many entries are
    pending and intact. The anti-join over every entry runs only when the count of entries
    is not the tree's size plus the intact pending ones (the scan found one entry for each
    of the `size` leaves, each leaf naming its own)."""
    rows = session.execute(
        text(
            "SELECT p.entry_id, p.digest, e.id, e.body, l.seq FROM audit_pending p "
            "LEFT JOIN audit_entries e ON e.id = p.entry_id "
            "LEFT JOIN audit_leaves l ON l.entry_id = p.entry_id ORDER BY p.entry_id"
        )
    ).all()
    pending = 0
    for entry_id, digest, row_id, body, seq in rows:
        if row_id is None:
            scan.findings.append(
                f"entry id {entry_id} (not yet sequenced): its entry row is missing (deleted)"
            )
        elif seq is not None:
            scan.findings.append(
                f"entry id {entry_id}: marked pending but already at position {seq} (forged)"
            )
        elif not isinstance(body, str) or bytes(digest) != pending_digest(entry_id, body):
            scan.findings.append(
                f"entry id {entry_id} (not yet sequenced): content does not match its "
                "pending digest (edited)"
            )
        else:
            pending += 1
    total = session.execute(text("SELECT count(*) FROM audit_entries")).scalar_one()
    if total == size + pending:
        return pending
    count, first = session.execute(
        text(
            "SELECT count(*), min(e.id) FROM audit_entries e "
            "LEFT JOIN audit_leaves l ON l.entry_id = e.id "
            "LEFT JOIN audit_pending p ON p.entry_id = e.id "
            "WHERE l.seq IS NULL AND p.entry_id IS NULL"
        )
    ).one()
    if count:
        scan.findings.append(
            f"{count} committed entries have no position in the tree and are not pending "
            f"(first: entry id {first})"
        )
    return pending


def _first_bad(scan: _Scan, truncated_at: int | None) -> int | None:
    candidates = [] if truncated_at is None else [truncated_at]
    for t in scan.mismatched:
        scan.findings.append(f"{t.label} (size {t.size}) does not match the recomputed tree")
    earliest = min(scan.mismatched, key=lambda t: t.size, default=None)
    if earliest is not None and (scan.exact_bad is None or earliest.size <= scan.exact_bad):
        candidates.append(max((s for s in scan.matched if s < earliest.size), default=0))
    elif scan.exact_bad is not None:
        candidates.append(scan.exact_bad)
    return min(candidates, default=None)
