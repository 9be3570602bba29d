"""The verifier at its edges: the first entry, the last, and both sides of every chunk
boundary (with chunks of 4 entries instead of 16,384), each edited alone and named; and a
stored checkpoint sequence that goes backwards reported as a rollback."""

from __future__ import annotations

import pytest

from app.audit import fastscan
from app.audit.checkpoints import signing_key
from app.audit.merkle import StreamingTree, frontier_append, pack_frontier
from app.audit.note import Checkpoint, sign_checkpoint
from app.audit.verify import VerifyReport
from app.db import transaction
from tests.audit.conftest import ORIGIN, AuditLog

pytestmark = pytest.mark.slow

SMALL_CHUNK = 4


def _positions(first: int, last: int) -> list[int]:
    """First, last, and the entries on each side of every chunk boundary."""
    edges = {first, last}
    for boundary in range(first + SMALL_CHUNK, last + 1, SMALL_CHUNK):
        edges |= {boundary - 1, boundary}
    return sorted(e for e in edges if first <= e <= last)


def test_an_edit_at_every_edge_is_named(
    tampered: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StreamingTree, "CHUNK", SMALL_CHUNK)
    first, last = (int(v) for v in tampered.sql("SELECT min(seq), max(seq) FROM audit_leaves")[0])  # type: ignore[call-overload]
    positions = _positions(first, last)
    assert {first, last, first + SMALL_CHUNK - 1, first + SMALL_CHUNK} <= set(positions)
    for seq in positions:
        tampered.edit_body(seq, '"caseworker"', '"admin"')
        report = tampered.verify()
        assert not report.ok, seq
        assert report.first_bad == seq, (seq, report.findings)
        assert f"entry {seq}" in report.summary()
        tampered.edit_body(seq, '"admin"', '"caseworker"')  # put back: the next edge alone
        assert tampered.verify().ok, seq


def test_the_small_chunks_are_really_used(
    tampered: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guard for the test above: with small chunks the tree is fed many chunks."""
    fed: list[int] = []
    real = StreamingTree.add_chunk

    def counting(self: StreamingTree, leaves: list[bytes]) -> None:
        fed.append(len(leaves))
        real(self, leaves)

    monkeypatch.setattr(StreamingTree, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(StreamingTree, "add_chunk", counting)
    assert tampered.verify().ok
    assert len(fed) == 5
    assert max(fed) == SMALL_CHUNK


def test_a_checkpoint_sequence_that_goes_backwards_is_a_rollback(tampered: AuditLog) -> None:
    """The checkpoint of 5 entries stored again after the one of 20: reported by name."""
    tampered.sql(
        "INSERT INTO audit_checkpoints (created_at, tree_size, root_hash, note) "
        "SELECT created_at, tree_size, root_hash, note FROM audit_checkpoints "
        "WHERE tree_size = 5"
    )
    report = tampered.verify()
    assert not report.ok
    assert any("tree size 5 < 20" in f and "rollback" in f for f in report.findings), (
        report.findings
    )


def test_a_checkpoint_of_the_empty_log_comes_first_without_a_rollback(audit_log: AuditLog) -> None:
    """A checkpoint taken before anything was logged (size 0) is the start of the sequence,
    not a step back from it."""
    audit_log.checkpoint_note()
    audit_log.write(3)
    audit_log.checkpoint_note()
    report = audit_log.verify()
    assert report.ok, report.findings
    assert report.checkpoints == 2


@pytest.mark.parametrize(
    ("report", "head"),
    [
        (
            VerifyReport(entries=3, root=b"\x01" * 32, checkpoints=1),
            "audit log intact: 3 entries, root " + "01" * 32 + ", 1 signed checkpoint "
            "consistent (the stored ones and any file given)",
        ),
        (
            VerifyReport(entries=9, root=b"\x02" * 32, checkpoints=2, pending=4),
            "audit log intact: 9 entries, root " + "02" * 32 + ", 2 signed checkpoints "
            "consistent (the stored ones and any file given); 4 more committed, not yet "
            "sequenced, match their digests",
        ),
        (
            VerifyReport(entries=0, root=b"\x03" * 32, checkpoints=0),
            "audit log intact: 0 entries, root " + "03" * 32 + ", 0 signed checkpoints "
            "consistent (the stored ones and any file given)",
        ),
        (
            VerifyReport(entries=5, root=b"", checkpoints=1, first_bad=4, findings=["x"]),
            "audit log NOT intact: first bad entry: 4\n  - x",
        ),
        (
            VerifyReport(entries=5, root=b"", checkpoints=1, findings=["y", "z"]),
            "audit log NOT intact\n  - y\n  - z",
        ),
    ],
)
def test_the_cli_says_what_was_checked_in_so_many_words(report: VerifyReport, head: str) -> None:
    """`haven audit verify` prints this: the operator reads from it how many checkpoints
    were checked and whether entries were still waiting to be sequenced."""
    assert report.summary() == head


def test_an_entries_table_the_verifier_cannot_read_is_named_and_the_rest_still_checked(
    tampered: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker renames a column the careful path reads: every chunk's query fails. Each
    failure is caught inside its savepoint and named; the verifier goes on in the same
    transaction (on PostgreSQL a failed statement not rolled back to its savepoint would
    abort everything after it) and answers with a report, never an exception."""
    monkeypatch.setattr(StreamingTree, "CHUNK", SMALL_CHUNK)
    tampered.sql("ALTER TABLE audit_entries RENAME COLUMN request_id TO request_ref")
    report = tampered.verify()
    assert not report.ok
    unreadable = [f for f in report.findings if "cannot be read (altered)" in f]
    assert unreadable[:1] == ["entry 0: the entries table cannot be read (altered)"], (
        report.findings
    )
    assert report.first_bad == 0
    # The checks after the tree still ran in the same transaction: the stored checkpoints
    # were compared (none of the recomputed roots can match a chunk read as nothing).
    assert "checkpoint #1 (size 5) does not match the recomputed tree" in report.findings
    assert "the head row does not match the recomputed tree" in report.findings


def test_a_fast_query_that_fails_hands_every_chunk_to_the_careful_path(
    tampered: AuditLog,
) -> None:
    """The fast path's query failing (here: a table that is not there) answers None for each
    chunk, so the careful path reads it; the failure is rolled back to its savepoint, so the
    connection goes on serving the verifier's transaction."""
    broken = fastscan.Split(
        "SELECT l.seq, l.entry_id, e.body, l.leaf_hash FROM audit_leaves l "
        "JOIN no_such_table e ON e.id = l.entry_id"
    )
    with transaction(tampered.factory) as s:
        conn = s.connection()
        error: type[Exception] = conn.dialect.loaded_dbapi.Error
        cursor = conn.connection.cursor()
        try:
            spans = fastscan.ranges(20, SMALL_CHUNK)
            got = list(fastscan.chunks(cursor, broken, spans, error))
            assert got == [(lo, hi, None) for lo, hi in spans]
            assert fastscan.fetch(cursor, broken.joined, 0, 4, error) is None
            cursor.execute("SELECT count(*) FROM audit_leaves")
            assert cursor.fetchall()[0][0] == 20
        finally:
            cursor.close()


def test_an_edit_before_the_first_checkpoint_after_the_empty_one_is_placed_at_zero(
    audit_log: AuditLog,
) -> None:
    """The empty log's checkpoint (size 0) is the last one still matching when an edit with
    recomputed hashes breaks the next: the first entry no checkpoint vouches for is 0."""
    audit_log.checkpoint_note()
    audit_log.write(5)
    audit_log.checkpoint_note()
    audit_log.drop_triggers()
    audit_log.edit_body(2, '"case.read"', '"case.created"')
    audit_log.rehash(2)
    report = audit_log.verify()
    assert not report.ok
    assert report.first_bad == 0
    assert "checkpoint #2 (size 5) does not match the recomputed tree" in report.findings


def test_a_signed_checkpoint_of_size_zero_with_another_root_is_named(audit_log: AuditLog) -> None:
    """Size 0 has one root, the hash of nothing: a note for size 0 naming any other root
    (signed with the log's key, so only its content can give it away) does not match."""
    audit_log.write(3)
    note = sign_checkpoint(
        Checkpoint(ORIGIN, 0, b"\x11" * 32), ORIGIN, signing_key(audit_log.keyring)
    )
    report = audit_log.verify(external=note)
    assert not report.ok
    assert [f for f in report.findings if "size 0" in f] == [
        "checkpoint file (size 0) does not match the recomputed tree"
    ]


def test_a_truncation_with_the_head_wound_back_is_named_by_the_checkpoint_that_vouched(
    tampered: AuditLog,
) -> None:
    """The attacker deletes the last five entries and rewrites the head to match the fifteen
    left: every stored leaf checks out, only the checkpoint of 20 says what is missing."""
    leaves = [bytes(r[0]) for r in tampered.sql("SELECT leaf_hash FROM audit_leaves ORDER BY seq")]  # type: ignore[arg-type]
    frontier: list[bytes] = []
    for seq, leaf in enumerate(leaves[:15]):
        frontier_append(frontier, seq, leaf)
    tampered.truncate(15)
    tampered.sql(
        "UPDATE audit_head SET size = 15, frontier = :f WHERE id = 1", f=pack_frontier(frontier)
    )
    report = tampered.verify()
    assert not report.ok
    assert report.first_bad == 15
    assert report.findings == ["checkpoint #4 vouches for 20 entries, the log has 15"]


@pytest.mark.parametrize(("edited", "first_bad"), [(2, 0), (7, 5), (12, 10)])
def test_a_rehashed_edit_is_placed_after_the_last_checkpoint_that_still_matches(
    tampered: AuditLog, edited: int, first_bad: int
) -> None:
    """An edit with its leaves recomputed escapes the entry-by-entry check; the checkpoints
    (at 5, 10, 15 and 20) place it: the first entry no matching checkpoint vouches for, 0
    when none does."""
    tampered.edit_body(edited, '"case.read"', '"case.created"')
    tampered.rehash(edited)
    report = tampered.verify()
    assert report.first_bad == first_bad, report.findings


def test_an_entry_edited_where_a_broken_checkpoint_ends_counts_from_the_checkpoint_before(
    tampered: AuditLog,
) -> None:
    """Entry 7 edited with its leaves recomputed (the checkpoint of 10 no longer matches)
    and entry 10 edited plainly (the entry check names it): entries from 5 on are no longer
    vouched for, so the first bad entry is 5, not 10."""
    tampered.edit_body(7, '"case.read"', '"case.created"')
    tampered.rehash(7)
    tampered.edit_body(10, '"caseworker"', '"admin"')
    report = tampered.verify()
    assert report.first_bad == 5, report.findings
    assert any(f.startswith("entry 10: ") for f in report.findings), report.findings


def test_a_signed_note_that_disagrees_with_a_stored_checkpoint_of_its_size(
    tampered: AuditLog,
) -> None:
    """A note for size 10 with another root, signed with the log's key (a forked log's), beside
    the stored checkpoint of 10 that matches: the entries it disagrees on are those after the
    last checkpoint below 10, so the first bad entry is 5."""
    note = sign_checkpoint(
        Checkpoint(ORIGIN, 10, b"\x22" * 32), ORIGIN, signing_key(tampered.keyring)
    )
    report = tampered.verify(external=note)
    assert not report.ok
    assert report.first_bad == 5, report.findings
    assert "checkpoint file (size 10) does not match the recomputed tree" in report.findings
