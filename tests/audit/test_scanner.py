"""The verification worker's own code (app/audit/scanner.py), run in this process: what a
worker answers for each chunk is what an independent computation of the tree says, a chunk
that does not match comes back empty for the verifier to name, the worker's connection
cannot write, it reads the verifier's snapshot and no later commit, and its JSON answer
loses nothing. tests/audit/test_verify.py runs the same code as real worker processes, end
to end; here a mistake in it is seen where it is made."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import pytest

from app.audit import fastscan, scanner, workers
from app.audit.scanner import Source, Summary
from app.db import transaction
from tests.audit.conftest import AuditLog

pytestmark = pytest.mark.slow

SIZE = 13
CHUNK = 4
SPANS = [(0, 4), (4, 8), (8, 12), (12, 13)]
WANTED = [6, 9, 12, 13]  # checkpoint sizes: inside a chunk, at a chunk's end, the last


def _root(leaves: list[bytes]) -> bytes:
    """RFC 9162's tree hash, written out here (not the app's merkle module)."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)  # the largest power of two below n
    return hashlib.sha256(b"\x01" + _root(leaves[:split]) + _root(leaves[split:])).digest()


def _compact(leaves: list[bytes], k: int) -> list[bytes]:
    """The roots of the perfect subtrees that make up the first k leaves, largest first."""
    out, at = [], 0
    for bit in reversed(range(k.bit_length())):
        if k & (1 << bit):
            out.append(_root(leaves[at : at + (1 << bit)]))
            at += 1 << bit
    return out


def _expected(leaves: list[bytes]) -> list[Summary]:
    out: list[Summary] = []
    for lo, hi in SPANS:
        offsets = {hi - lo} | {w - lo for w in WANTED if lo < w < hi}
        out.append((lo, hi, {k: _compact(leaves[lo:hi], k) for k in offsets}))
    return out


def _leaves(log: AuditLog) -> list[bytes]:
    return [bytes(r[0]) for r in log.sql("SELECT leaf_hash FROM audit_leaves ORDER BY seq")]  # type: ignore[arg-type]


@pytest.fixture
def logged(audit_log: AuditLog) -> AuditLog:
    audit_log.write(SIZE)
    assert fastscan.ranges(SIZE, CHUNK) == SPANS
    return audit_log


@contextmanager
def _verifiers_source(log: AuditLog) -> Iterator[Source]:
    """Where the verifier, in its transaction, tells a worker to read (on PostgreSQL its
    exported snapshot, valid while the transaction lasts)."""
    with transaction(log.factory) as s:
        source = workers.source_for(s)
        assert source is not None
        yield source


def _scan(log: AuditLog) -> list[Summary]:
    """A worker's job over the log, as the verifier hands it out."""
    with _verifiers_source(log) as source:
        return scanner.scan(source, SPANS, WANTED)


def test_a_worker_answers_each_chunk_with_the_compact_ranges_asked_for(logged: AuditLog) -> None:
    leaves = _leaves(logged)
    got = _scan(logged)
    assert got == _expected(leaves)


def test_a_chunk_that_does_not_match_comes_back_empty(logged: AuditLog) -> None:
    """An edited body: its chunk has no summary (the verifier reads it the careful way and
    names the entry); the other chunks are answered as before."""
    leaves = _leaves(logged)
    logged.drop_triggers()
    logged.edit_body(5, '"caseworker"', '"admin"')
    got = _scan(logged)
    expected = _expected(leaves)
    assert got == [expected[0], (4, 8, None), *expected[2:]]


def test_the_json_answer_round_trips_and_main_speaks_it(
    logged: AuditLog, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m app.audit.scanner`: the job on stdin, the answer on stdout, hashes in hex."""
    expected = _expected(_leaves(logged))
    assert scanner.decode(json.loads(json.dumps(scanner.encode(expected)))) == expected
    assert scanner.encode([(12, 13, None)]) == [[12, 13, None]]
    with _verifiers_source(logged) as source:
        job = {"source": asdict(source), "spans": SPANS, "wanted": WANTED}
        stdin = io.TextIOWrapper(io.BytesIO(json.dumps(job).encode()))
        monkeypatch.setattr("sys.stdin", stdin)
        scanner.main()
    answer = json.loads(capsys.readouterr().out)
    assert answer[0][2]["4"] == [h.hex() for h in expected[0][2][4]]  # type: ignore[index]
    assert scanner.decode(answer) == expected


def test_a_worker_cannot_write(logged: AuditLog) -> None:
    with _verifiers_source(logged) as source:
        conn, cursor, error = scanner._connect(source)
        try:
            with pytest.raises(error, match=r"(?i)read-?only"):
                cursor.execute("CREATE TABLE scanner_probe (x integer)")
        finally:
            conn.close()


def test_a_worker_opens_a_sqlite_file_whose_path_has_url_characters(
    logged: AuditLog, tmp_path: Path
) -> None:
    """The file is opened as a read-only URI: a '#' or '?' in its path is quoted, never read
    as the URI's fragment or query."""
    if logged.backend != "sqlite":
        pytest.skip("the SQLite file path of a worker's source")
    database = logged.engine.url.database
    assert database
    odd = tmp_path / "a#b?c" / "haven#1.db"
    odd.parent.mkdir()
    src, dst = sqlite3.connect(database), sqlite3.connect(odd)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    assert scanner.scan(Source("sqlite", str(odd)), SPANS, WANTED) == _expected(_leaves(logged))


def test_a_worker_reads_the_verifiers_snapshot_not_later_commits(logged: AuditLog) -> None:
    """PostgreSQL: entries committed after the verifier began are not in what its workers
    read, so every chunk agrees with the head the verifier read."""
    if logged.backend != "postgresql":
        pytest.skip("SQLite: the verifier's transaction holds the one write lock")
    leaves = _leaves(logged)
    with _verifiers_source(logged) as source:
        assert source.snapshot
        logged.write(3)  # committed by others meanwhile: positions 13 to 15
        got = scanner.scan(source, [(12, 16)], [16])
    assert got == [(12, 16, None)]  # only position 12 in the snapshot: not a whole chunk
    assert scanner.scan(Source("postgresql", source.dsn), [(12, 16)], [16]) == [
        (12, 16, {4: _compact(_leaves(logged)[12:16], 4)})
    ]
    assert _leaves(logged)[:SIZE] == leaves
