"""The sequencer (app/audit/tree.py) attacked: entries committed but not yet given a
position are edited, deleted, unmarked or marked twice, and the verifier names each;
checkpoints and proofs cover only sequenced entries; the server's own sequencer picks up
what was committed before it started."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.audit.canonical import pending_digest
from app.audit.checkpoints import verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.models import AuditHead
from app.audit.proofs import inclusion_proof
from app.audit.service import AuditFilter, query_entries
from app.audit.tree import (
    AuditHeadMissing,
    read_head,
    sequence_now,
    sequence_pending,
    sequencer_step,
)
from app.audit.verify import verify_log
from app.config import Environment, Settings
from app.db import transaction
from app.main import create_app
from tests.audit.conftest import ORIGIN, AuditLog

pytestmark = pytest.mark.slow


def _pending_ids(log: AuditLog) -> list[int]:
    return [int(r[0]) for r in log.sql("SELECT entry_id FROM audit_pending ORDER BY entry_id")]  # type: ignore[call-overload]


@pytest.fixture
def tail(audit_log: AuditLog) -> AuditLog:
    """6 sequenced entries under a checkpoint, then 3 committed and not yet sequenced;
    the append-only triggers dropped (the attacker's first move)."""
    audit_log.write(6)
    audit_log.checkpoint_note()
    audit_log.write(3, sequence=False)
    report = audit_log.verify()
    assert report.ok, report.findings
    assert (report.entries, report.pending) == (6, 3)
    audit_log.drop_triggers()
    return audit_log


def test_an_unsequenced_entry_edited_is_named_and_never_sequenced(
    tail: AuditLog, caplog: pytest.LogCaptureFixture
) -> None:
    victim = _pending_ids(tail)[1]
    tail.sql(
        "UPDATE audit_entries SET body = replace(body, '\"case.read\"', '\"case.updated\"') "
        "WHERE id = :i",
        i=victim,
    )
    report = tail.verify()
    assert not report.ok
    assert report.findings == [
        f"entry id {victim} (not yet sequenced): content does not match its pending digest (edited)"
    ]
    assert report.pending == 2
    # The sequencer leaves it pending (as it reads now it never gets a leaf); the others go.
    assert sequence_now(tail.factory) == 2
    assert _pending_ids(tail) == [victim]
    # The operator is told which entry was held back, by its id only.
    assert [r.getMessage() for r in caplog.records if "digest" in r.getMessage()] == [
        f"audit entry id {victim} does not match its digest: not sequenced"
    ]
    assert tail.sql("SELECT count(*) FROM audit_leaves WHERE entry_id = :i", i=victim)[0][0] == 0
    after = tail.verify()
    assert any(f"entry id {victim}" in f and "edited" in f for f in after.findings)
    assert after.entries == 8


def test_an_unsequenced_entry_edited_with_its_digest_needs_the_format_only(
    tail: AuditLog,
) -> None:
    """What SECURITY.md says: the digest is not keyed. An attacker who rewrites a pending
    entry and its digest together is not seen, as one who rehashes a leaf after the last
    checkpoint is not; the checkpoint still vouches for everything before."""
    victim = _pending_ids(tail)[0]
    tail.sql(
        "UPDATE audit_entries SET body = replace(body, '\"case.read\"', '\"case.updated\"') "
        "WHERE id = :i",
        i=victim,
    )
    body = str(tail.sql("SELECT body FROM audit_entries WHERE id = :i", i=victim)[0][0])
    tail.sql(
        "UPDATE audit_pending SET digest = :d WHERE entry_id = :i",
        d=pending_digest(victim, body),
        i=victim,
    )
    assert tail.verify().ok
    assert sequence_now(tail.factory) == 3
    assert tail.verify(external=tail.checkpoint_note()).ok


def test_an_unsequenced_entry_deleted_is_named(tail: AuditLog) -> None:
    victim = _pending_ids(tail)[2]
    # The pending row's foreign key refuses the delete: the attacker removes it first.
    if tail.backend == "postgresql":
        tail.sql(
            "ALTER TABLE audit_pending DROP CONSTRAINT fk_audit_pending_entry_id_audit_entries"
        )
        tail.sql("DELETE FROM audit_entries WHERE id = :i", i=victim)
    else:
        raw = tail.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA foreign_keys = OFF")
            cursor.execute("DELETE FROM audit_entries WHERE id = ?", (victim,))
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            raw.close()
    report = tail.verify()
    assert not report.ok
    assert f"entry id {victim} (not yet sequenced): its entry row is missing (deleted)" in (
        report.findings
    )
    assert sequence_now(tail.factory) == 2  # the others are sequenced; the gap stays named
    assert any(f"entry id {victim}" in f for f in tail.verify().findings)


def test_an_unsequenced_entry_unmarked_is_named(tail: AuditLog) -> None:
    """Its pending row deleted, the entry would never be sequenced: it is named."""
    victim = _pending_ids(tail)[0]
    tail.sql("DELETE FROM audit_pending WHERE entry_id = :i", i=victim)
    report = tail.verify()
    assert not report.ok
    assert any(
        "have no position in the tree and are not pending" in f and f"entry id {victim}" in f
        for f in report.findings
    )
    sequence_now(tail.factory)
    assert any(f"entry id {victim}" in f for f in tail.verify().findings)


def test_a_sequenced_entry_marked_pending_again_is_named_and_not_sequenced_twice(
    tail: AuditLog,
) -> None:
    victim = tail.entry_id(2)
    body = str(tail.sql("SELECT body FROM audit_entries WHERE id = :i", i=victim)[0][0])
    tail.sql(
        "INSERT INTO audit_pending (entry_id, digest) VALUES (:i, :d)",
        i=victim,
        d=pending_digest(victim, body),
    )
    assert sequence_now(tail.factory) == 3  # the three real ones, not the victim again
    leaves = tail.sql("SELECT entry_id FROM audit_leaves ORDER BY seq")
    assert len(leaves) == 9
    assert len({r[0] for r in leaves}) == 9
    report = tail.verify()
    assert f"entry id {victim}: marked pending but already at position 2 (forged)" in (
        report.findings
    )


def test_checkpoints_proofs_and_the_auditor_view_cover_only_sequenced_entries(
    tail: AuditLog,
) -> None:
    pending = _pending_ids(tail)
    with transaction(tail.factory) as s:
        assert read_head(s)[0] == 6
        with pytest.raises(LookupError):
            inclusion_proof(s, 6)
        rows = query_entries(s, AuditFilter(), per_page=200).items
        assert sorted(r.seq for r in rows if r.seq is not None) == list(range(6))
        assert sorted(r.entry.id for r in rows if r.seq is None) == pending
    note = tail.checkpoint_note()
    assert note.split("\n")[1] == "6"  # the tree size a checkpoint signs
    sequence_now(tail.factory)
    with transaction(tail.factory) as s:
        assert inclusion_proof(s, 8).size == 9
    assert tail.checkpoint_note().split("\n")[1] == "9"
    assert tail.verify(external=note).ok


def test_a_restarted_sequencer_picks_up_what_was_committed_before(audit_log: AuditLog) -> None:
    """Entries committed while no sequencer ran (it crashed, or none was started) are lost
    to nobody: a new process on a new engine sequences them, in id order."""
    audit_log.write(4, sequence=False)
    committed = _pending_ids(audit_log)
    audit_log.engine.dispose()  # every connection of the first process gone
    settings = Settings(
        env=Environment.TEST,
        database_url=audit_log.engine.url.render_as_string(hide_password=False),
        audit_checkpoint_poll_seconds=0,
        audit_sequence_poll_seconds=0.05,
        seal_follow_poll_seconds=0,
        movement_purge_poll_seconds=0,
    )
    app = create_app(settings, keyring=audit_log.keyring)
    with TestClient(app, base_url="https://testserver"):
        deadline = time.monotonic() + 30
        while _pending_ids(audit_log) and time.monotonic() < deadline:
            time.sleep(0.05)
        # A request's entry committed while the server runs is sequenced in turn.
        with transaction(audit_log.factory) as s:
            late = record(s, AuditAction.CASE_READ, on=("case", uuid.uuid4())).id
        while _pending_ids(audit_log) and time.monotonic() < deadline:
            time.sleep(0.05)
    leaves = audit_log.sql("SELECT seq, entry_id FROM audit_leaves ORDER BY seq")
    assert [int(r[1]) for r in leaves] == [*committed, late]  # type: ignore[call-overload]
    assert audit_log.verify().ok


def test_the_sequence_command_sequences_what_is_pending(
    audit_log: AuditLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`haven audit sequence` gives pending entries their positions (e.g. after `haven
    demo`, with no server running)."""
    from typer.testing import CliRunner

    from app.cli import cli

    audit_log.write(3, sequence=False)
    monkeypatch.setenv(
        "HAVEN_DATABASE_URL", audit_log.engine.url.render_as_string(hide_password=False)
    )
    result = CliRunner().invoke(cli, ["audit", "sequence"])
    assert result.exit_code == 0, result.output
    assert "Sequenced 3 entries." in result.output
    assert _pending_ids(audit_log) == []
    assert audit_log.sql("SELECT size FROM audit_head")[0][0] == 3
    with audit_log.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_leaves")).scalar_one() == 3


def test_an_idle_sequencer_takes_no_write_lock(audit_log: AuditLog) -> None:
    """With nothing pending the background turn only looks: no transaction begins (on
    SQLite each would take the one write lock); with an entry pending it sequences it."""
    began: list[object] = []

    def begin(conn: object) -> None:
        began.append(conn)

    event.listen(audit_log.engine, "begin", begin)
    try:
        assert sequencer_step(audit_log.factory) is None
        assert began == []
        audit_log.write(1, sequence=False)
        began.clear()
        sequencer_step(audit_log.factory)
        assert began  # the pending entry was seen: the sequencing transaction ran
    finally:
        event.remove(audit_log.engine, "begin", begin)
    assert _pending_ids(audit_log) == []
    assert audit_log.verify().ok


def test_a_background_turn_reports_only_a_large_batch(
    audit_log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The turn's return is its log line: quiet for the usual trickle, the count when at
    least a batch was waiting (here a batch is three entries)."""
    from app.audit import tree

    monkeypatch.setattr(tree, "BATCH", 3)
    for pending, said in ((2, None), (3, "sequenced 3 entries"), (7, "sequenced 7 entries")):
        audit_log.write(pending, sequence=False)
        assert sequencer_step(audit_log.factory) == said, pending
        assert _pending_ids(audit_log) == []
    assert audit_log.sql("SELECT size FROM audit_head")[0][0] == 12
    assert audit_log.verify().ok


def test_no_background_sequencer_at_a_poll_of_zero(audit_log: AuditLog) -> None:
    from app.audit.tree import start_sequencer

    url = audit_log.engine.url.render_as_string(hide_password=False)
    assert start_sequencer(Settings(database_url=url, audit_sequence_poll_seconds=0)) is None


def test_a_missing_head_says_to_run_the_migrations(audit_log: AuditLog) -> None:
    audit_log.drop_triggers()
    audit_log.sql("DELETE FROM audit_head")
    with (
        transaction(audit_log.factory) as s,
        pytest.raises(AuditHeadMissing, match=r"^audit_head row 1 is missing: run the migrations$"),
    ):
        read_head(s)
    with pytest.raises(RuntimeError, match=r"^audit_head row 1 is missing: run the migrations$"):
        audit_log.verify()


@contextmanager
def _holding_the_head(log: AuditLog) -> Iterator[None]:
    """Another process's transaction holding the head row's lock (PostgreSQL: on SQLite a
    transaction holds the one write lock from its BEGIN, so no second one runs beside it)."""
    with log.engine.connect() as other:
        other.execute(text("SELECT size FROM audit_head WHERE id = 1 FOR UPDATE"))
        try:
            yield
        finally:
            other.rollback()


@contextmanager
def _a_session_holding_the_head(log: AuditLog, entries: int) -> Iterator[Session]:
    """PostgreSQL: a unit of work that loaded the head after `entries` were sequenced and
    still holds that object (the identity map keeps it only while someone does), while
    other connections go on writing."""
    if log.backend != "postgresql":
        pytest.skip("SQLite: a transaction reads one snapshot and holds the write lock")
    log.write(entries)
    with transaction(log.factory) as s:
        loaded = s.get(AuditHead, 1)
        assert loaded is not None
        assert loaded.size == entries
        yield s


def test_a_background_turn_leaves_the_work_to_the_sequencer_holding_the_head(
    audit_log: AuditLog,
) -> None:
    """While another process's sequencer holds the head, the background turn does not queue
    behind it (it would hold a pooled connection and a thread for as long): it returns at
    once and leaves the entry to the holder or to its next turn."""
    if audit_log.backend != "postgresql":
        pytest.skip("SQLite: a transaction takes the one write lock at BEGIN; no row is held")
    audit_log.write(1, sequence=False)
    answer: list[str | None] = []
    turn = threading.Thread(target=lambda: answer.append(sequencer_step(audit_log.factory)))
    with _holding_the_head(audit_log):
        turn.start()
        turn.join(timeout=10)
        waited = turn.is_alive()
    turn.join()
    assert not waited, "the background turn waited for the head another process held"
    assert answer == [None]
    assert len(_pending_ids(audit_log)) == 1  # left for a later turn, not lost
    assert sequencer_step(audit_log.factory) is None
    assert _pending_ids(audit_log) == []
    assert audit_log.verify().ok


def test_the_head_is_read_from_the_database_not_from_the_session(audit_log: AuditLog) -> None:
    """A transaction whose session loaded the head and reads it again after another process
    sequenced more entries (PostgreSQL's read committed shows them) gets the head as it now
    is, not the object its session holds: a checkpoint or proof is made for the tree that is."""
    with _a_session_holding_the_head(audit_log, 6) as s:
        assert read_head(s)[0] == 6
        audit_log.write(3)  # another connection: sequenced and committed meanwhile
        size, root = read_head(s)
    assert size == 9
    with transaction(audit_log.factory) as s:
        assert read_head(s) == (9, root)
    assert audit_log.verify().ok


def test_the_verifier_reads_the_head_from_the_database_not_from_the_session(
    audit_log: AuditLog,
) -> None:
    """The same for a verification run in a unit of work that loaded the head before (the
    CLI's sequencing, a checkpoint): a stale head of 6 beside 9 leaves would report the
    three newest entries as outside the tree."""
    with _a_session_holding_the_head(audit_log, 6) as s:
        audit_log.write(3)
        report = verify_log(s, keys=[verifier_key(audit_log.keyring, ORIGIN)], origin=ORIGIN)
    assert report.ok, report.findings
    assert report.entries == 9


@pytest.mark.parametrize("through", ["factory", "session"])
def test_sequence_now_counts_every_batch_and_nothing_when_idle(
    audit_log: AuditLog, monkeypatch: pytest.MonkeyPatch, through: str
) -> None:
    """What `haven audit sequence` and the checkpoint command report: 0 on an idle log, and
    every entry over several batches (a batch is three here), none left behind."""
    from app.audit import tree

    monkeypatch.setattr(tree, "BATCH", 3)

    def now() -> int:
        if through == "factory":
            return sequence_now(audit_log.factory)
        with audit_log.factory() as session:
            return sequence_now(session)

    assert now() == 0
    audit_log.write(7, sequence=False)
    with transaction(audit_log.factory) as s:
        assert sequence_pending(s) == 3  # one batch, the oldest entries
    assert now() == 4
    assert _pending_ids(audit_log) == []
    ids = [int(r[0]) for r in audit_log.sql("SELECT entry_id FROM audit_leaves ORDER BY seq")]  # type: ignore[call-overload]
    assert ids == sorted(ids)  # positions follow the entries' order across batches
    assert now() == 0
    assert audit_log.verify().ok


def test_a_background_turn_on_a_log_without_its_head_says_so(audit_log: AuditLog) -> None:
    """The background turn does not wait for the head; when the head row is not there at all
    it says the migrations are missing, never takes it for a head another process holds."""
    audit_log.write(1, sequence=False)
    audit_log.drop_triggers()
    audit_log.sql("DELETE FROM audit_head")
    with pytest.raises(
        AuditHeadMissing, match=r"^audit_head row 1 is missing: run the migrations$"
    ):
        sequencer_step(audit_log.factory)


def test_sequencing_waits_for_a_head_another_process_holds(audit_log: AuditLog) -> None:
    """`haven audit sequence` (and a checkpoint) waits its turn while another process's
    sequencer holds the head, then sequences: it does not take a held head for a missing
    one. The holder's transaction is ended by the test after a pause."""
    if audit_log.backend != "postgresql":
        pytest.skip("SQLite: a transaction takes the one write lock at BEGIN; no row is held")
    audit_log.write(2, sequence=False)
    result: list[object] = []

    def sequence() -> None:
        try:
            result.append(sequence_now(audit_log.factory))
        except Exception as exc:  # noqa: BLE001 - the test reports what the thread met
            result.append(exc)

    turn = threading.Thread(target=sequence)
    with _holding_the_head(audit_log):
        turn.start()
        turn.join(timeout=1)
        assert turn.is_alive(), f"did not wait for the held head: {result}"
    turn.join(timeout=30)
    assert result == [2]
    assert _pending_ids(audit_log) == []


def test_sequencing_in_a_session_that_loaded_the_head_before_uses_the_head_as_it_is(
    audit_log: AuditLog,
) -> None:
    """A unit of work loads the head (a checkpoint's read), another process sequences more
    meanwhile, then this one sequences: it must give the next positions after the other
    process's, from the head as locked, not from the object its session held."""
    with _a_session_holding_the_head(audit_log, 4) as s:
        audit_log.write(3)  # sequenced by another connection: positions 4 to 6
        audit_log.write(2, sequence=False)  # committed, waiting
        assert sequence_pending(s) == 2
    assert [int(r[0]) for r in audit_log.sql("SELECT seq FROM audit_leaves ORDER BY seq")] == list(  # type: ignore[call-overload]
        range(9)
    )
    assert audit_log.verify().ok
