"""The verifier: recompute every leaf and the tree, check signed checkpoints against it, and
name the first bad entry.

What it proves: the entries the database returns now are the ones every trusted checkpoint
(stored, or held outside the server) committed to, with no position missing, changed,
reordered or inserted. A stored leaf hash that disagrees with its entry names that entry
exactly; a tamperer who also recomputed the stored hashes is caught by the checkpoints, and
the first position no checkpoint still vouches for is named.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit import fastscan
from app.audit.canonical import encode_row, encode_row_safely
from app.audit.merkle import EMPTY_ROOT, StreamingTree, fold_right, unpack_frontier
from app.audit.models import AuditCheckpoint, AuditHead
from app.audit.note import NoteError, VerifierKey, open_checkpoint
from app.audit.tree import HEAD_ID

_ZERO = bytes(32)

_COLUMNS = {
    "sqlite": ("e.at", "e.actor_id", "e.fields"),
    "postgresql": (
        "to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
        "replace(CAST(e.actor_id AS TEXT), '-', '')",
        "CAST(e.fields AS TEXT)",
    ),
}


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
        f"SELECT l.seq, e.id, {at}, {actor}, e.actor_role, e.action, e.object_type, "
        f"e.object_id, {fields}, e.outcome, e.request_id, e.reason_code, l.leaf_hash {where}{order}"
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
            f"{self.checkpoints} signed checkpoints consistent"
            if self.ok
            else f"audit log NOT intact: first bad entry: {self.first_bad}"
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


def _chunk_leaves(rows: list[Any], lo: int, hi: int, scan: _Scan) -> list[bytes]:
    sha = hashlib.sha256
    if len(rows) == hi - lo and rows[-1][0] == hi - 1 and rows[0][0] == lo:
        try:
            leaves = [sha(b"\x00" + encode_row(r)).digest() for r in rows]
        except (TypeError, ValueError):
            pass
        else:
            if all(a == r[12] for a, r in zip(leaves, rows, strict=True)):
                return leaves
    by_seq = {r[0]: r for r in rows}
    leaves = []
    for seq in range(lo, hi):
        row = by_seq.get(seq)
        if row is None:
            scan.bad(seq, f"entry {seq}: missing (deleted or renumbered)")
            leaves.append(_ZERO)
            continue
        if row[1] is None:
            scan.bad(seq, f"entry {seq}: its entry row is missing (deleted)")
        leaf = sha(b"\x00" + encode_row_safely(row)).digest()
        if leaf != row[12]:
            _diagnose(row, scan)
        leaves.append(leaf)
    return leaves


def _diagnose(row: Any, scan: _Scan) -> None:
    """Name a mismatching entry; one shifted by an insertion or deletion names the gap."""
    seq = row[0]

    def leaf_at(position: int) -> bytes:
        return hashlib.sha256(b"\x00" + encode_row_safely((position, *row[1:]))).digest()

    if seq > 0 and leaf_at(seq - 1) == row[12]:
        scan.bad(
            seq - 1, f"entry {seq - 1}: inserted (the entry now at {seq} belongs at {seq - 1})"
        )
    elif leaf_at(seq + 1) == row[12]:
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
) -> VerifyReport:
    """Verify the whole log against its stored checkpoints and, if given, one held outside."""
    targets, findings, n_checkpoints = _load_targets(session, keys, origin, external_checkpoint)
    # The head is read after the checkpoints, so an honest log is never shorter than them.
    head = session.get(AuditHead, HEAD_ID, populate_existing=True)
    if head is None:
        raise RuntimeError("audit_head row 1 is missing: run the migrations")
    size = head.size
    scan = _Scan(findings=findings)
    root = _scan_tree(session, size, sorted(targets, key=lambda t: t.size), scan)
    truncated = [t for t in targets if t.size > size]
    for t in truncated:
        scan.findings.append(f"{t.label} vouches for {t.size} entries, the log has {size}")
    try:
        head_root = fold_right(unpack_frontier(head.frontier, size))
    except ValueError:
        head_root = b""
    if head_root != root:
        scan.findings.append("the head row does not match the recomputed tree")
    _check_unsequenced(session, scan)
    first_bad = _first_bad(scan, size if truncated else None)
    return VerifyReport(size, root, n_checkpoints, first_bad, scan.findings)


def _scan_tree(session: Session, size: int, targets: list[Target], scan: _Scan) -> bytes:
    conn = session.connection()
    dialect = conn.dialect.name
    exact_sql, fast_sql = _chunk_sql(dialect), fastscan.SQL[dialect]
    error: type[Exception] = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    # psycopg: binary results (bytea arrives as bytes, not hex text to decode).
    ahead_cursor = conn.connection.cursor(**({"binary": True} if dialect == "postgresql" else {}))
    tree = StreamingTree()
    pending = [t for t in targets if t.size <= size]
    for t in [t for t in pending if t.size == 0]:
        (scan.matched.append(0) if t.root == EMPTY_ROOT else scan.mismatched.append(t))
    pending = [t for t in pending if t.size > 0]
    try:
        for lo, hi, fast in fastscan.chunks(ahead_cursor, fast_sql, size, tree.CHUNK, error):
            leaves = fast
            if leaves is None:  # something differs: the exact encoder decides and names it
                cursor.execute(exact_sql, {"lo": lo, "hi": hi})
                leaves = _chunk_leaves(list(cursor.fetchall()), lo, hi, scan)
            tree.add_chunk(leaves)
            while pending and pending[0].size <= hi:
                t = pending.pop(0)
                ok = tree.root_at(t.size) == t.root
                (scan.matched.append(t.size) if ok else scan.mismatched.append(t))
    finally:
        cursor.close()
        ahead_cursor.close()
    return tree.root() if size else EMPTY_ROOT


def _check_unsequenced(session: Session, scan: _Scan) -> None:
    count, first = session.execute(
        text(
            "SELECT count(*), min(e.id) FROM audit_entries e "
            "LEFT JOIN audit_leaves l ON l.entry_id = e.id WHERE l.seq IS NULL"
        )
    ).one()
    if count:
        scan.findings.append(
            f"{count} committed entries have no position in the tree (first: entry id {first})"
        )


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
