"""The verifier against an attacker with database access (triggers dropped): every edit,
deletion, reordering, insertion, truncation and rollback is detected and named."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.audit import workers
from app.audit.canonical import BODY_COLUMNS, encode_body, leaf_input
from app.audit.checkpoints import signing_key, verifier_key
from app.audit.merkle import ProofError, StreamingTree, leaf_hash, verify_consistency
from app.audit.models import AuditEntry
from app.audit.note import Checkpoint, open_checkpoint, sign_checkpoint
from app.audit.proofs import consistency_proof, inclusion_proof, stored_tree, tree_root
from app.audit.scanner import Source, Summary
from app.audit.tree import append_leaves, read_head
from app.audit.verify import VerifyReport, verify_log
from app.db import transaction
from tests.audit.conftest import ORIGIN, AuditLog

pytestmark = pytest.mark.slow


def test_intact_log_verifies(audit_log: AuditLog) -> None:
    audit_log.write(7, checkpoint_every=3)
    report = audit_log.verify(external=audit_log.checkpoint_note())
    assert report.as_dict() == {"ok": True, "entries": 7, "first_bad": None}
    assert "intact" in report.summary()


def test_empty_log_verifies(audit_log: AuditLog) -> None:
    assert audit_log.verify().as_dict() == {"ok": True, "entries": 0, "first_bad": None}


def test_edited_entry_is_named(tampered: AuditLog) -> None:
    tampered.edit_body(7, '"caseworker"', '"admin"')
    report = tampered.verify()
    assert report.as_dict() == {"ok": False, "entries": 20, "first_bad": 7}
    assert "entry 7" in report.summary()


def test_edit_with_recomputed_hashes_is_caught_by_checkpoints(tampered: AuditLog) -> None:
    tampered.edit_body(7, '"case.read"', '"case.created"')
    tampered.rehash(7)
    report = tampered.verify()
    assert not report.ok
    # Checkpoint 5 still matches, 10 does not: the first entry no checkpoint vouches for.
    assert report.first_bad == 5
    assert any("size 10" in f for f in report.findings)


def test_a_broken_checkpoint_does_not_hide_what_the_later_ones_vouch_for(
    tampered: AuditLog,
) -> None:
    """The attacker spoils one stored checkpoint (its note no longer verifies) before
    rewriting history: it is reported, and the checkpoints after it are still checked."""
    (spoiled,) = tampered.sql("SELECT id FROM audit_checkpoints WHERE tree_size = 10")[0]
    tampered.sql("UPDATE audit_checkpoints SET note = 'not a note' WHERE id = :i", i=spoiled)
    tampered.edit_body(7, '"case.read"', '"case.created"')
    tampered.rehash(7)
    report = tampered.verify()
    assert any(f.startswith(f"checkpoint #{spoiled}: ") for f in report.findings)
    assert report.first_bad == 5
    assert any("size 15" in f for f in report.findings), report.findings


def test_a_checkpoint_signed_for_another_log_is_named_and_the_later_ones_still_count(
    tampered: AuditLog,
) -> None:
    """The attacker stores, in place of one checkpoint, a note signed with this server's key
    for another origin (another log it signs, or one it was tricked into signing): the
    note is named as another log's, and the checkpoints after it still vouch, each named
    by its own label when its root no longer matches."""
    (swapped,) = tampered.sql("SELECT id FROM audit_checkpoints WHERE tree_size = 10")[0]
    (note,) = tampered.sql("SELECT note FROM audit_checkpoints WHERE id = :i", i=swapped)[0]
    real = open_checkpoint(str(note), [verifier_key(tampered.keyring, ORIGIN)])
    elsewhere = Checkpoint(origin="elsewhere.invalid/audit", size=real.size, root=real.root)
    forged = sign_checkpoint(elsewhere, ORIGIN, signing_key(tampered.keyring))
    tampered.sql("UPDATE audit_checkpoints SET note = :n WHERE id = :i", n=forged, i=swapped)
    tampered.edit_body(12, '"case.read"', '"case.created"')
    tampered.rehash(12)
    report = tampered.verify()
    assert (
        f"checkpoint #{swapped}: origin 'elsewhere.invalid/audit' is not this log's '{ORIGIN}'"
        in report.findings
    ), report.findings
    assert report.first_bad == 5  # the checkpoint at 5 still holds; the one at 10 is void
    (later,) = tampered.sql("SELECT id FROM audit_checkpoints WHERE tree_size = 15")[0]
    assert f"checkpoint #{later} (size 15) does not match the recomputed tree" in report.findings


def test_a_second_row_for_one_position_is_named_as_a_forged_duplicate(
    tampered: AuditLog,
) -> None:
    """The attacker takes the key off audit_leaves (a table rebuilt without it on SQLite,
    where a primary key cannot be dropped) and adds a second row for position 7 beside the
    genuine one: the verifier names the position and the forgery, not just a bad root."""
    if tampered.backend == "postgresql":
        tampered.sql("ALTER TABLE audit_leaves DROP CONSTRAINT pk_audit_leaves")
        tampered.sql("ALTER TABLE audit_leaves DROP CONSTRAINT uq_audit_leaves_entry_id")
    else:
        path = tampered.engine.url.database
        assert path
        tampered.engine.dispose()
        raw = sqlite3.connect(path, isolation_level=None)
        try:
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute(
                "CREATE TABLE leaves_copy AS SELECT seq, entry_id, leaf_hash FROM audit_leaves"
            )
            raw.execute("DROP TABLE audit_leaves")
            raw.execute("ALTER TABLE leaves_copy RENAME TO audit_leaves")
        finally:
            raw.close()
    tampered.sql(
        "INSERT INTO audit_leaves SELECT seq, entry_id, leaf_hash FROM audit_leaves WHERE seq = 7"
    )
    assert tampered.sql("SELECT count(*) FROM audit_leaves WHERE seq = 7") == [(2,)]
    report = tampered.verify()
    assert not report.ok
    assert "entry 7: more than one row for this position (a forged duplicate)" in report.findings
    assert report.first_bad == 7


def test_deleted_entry_is_named(tampered: AuditLog) -> None:
    eid = tampered.entry_id(7)
    tampered.sql("DELETE FROM audit_leaves WHERE seq = 7")
    tampered.sql("DELETE FROM audit_entries WHERE id = :i", i=eid)
    report = tampered.verify()
    assert report.first_bad == 7
    assert "entry 7: missing (deleted or renumbered)" in report.findings


def test_an_entry_row_deleted_from_under_its_leaf_is_named(tampered: AuditLog) -> None:
    """The attacker deletes the entry and leaves its leaf (the foreign key switched off for
    the purpose): the verifier names the entry whose row is gone."""
    victim = tampered.entry_id(7)
    if tampered.backend == "postgresql":
        with tampered.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("DELETE FROM audit_entries WHERE id = :i"), {"i": victim})
    else:
        path = tampered.engine.url.database
        assert path
        raw = sqlite3.connect(path, isolation_level=None)
        try:
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute("DELETE FROM audit_entries WHERE id = ?", (victim,))
        finally:
            raw.close()
    report = tampered.verify()
    assert report.first_bad == 7
    # Named once, as the first bad entry (its leaf can no longer be rebuilt either: that is
    # the same entry, not a second finding).
    assert [f for f in report.findings if f.startswith("entry ")] == [
        "entry 7: its entry row is missing (deleted)"
    ]


def test_deleted_and_renumbered_entry_is_named(tampered: AuditLog) -> None:
    eid = tampered.entry_id(7)
    tampered.sql("DELETE FROM audit_leaves WHERE seq = 7")
    tampered.sql("DELETE FROM audit_entries WHERE id = :i", i=eid)
    for seq in range(8, 20):
        tampered.sql("UPDATE audit_leaves SET seq = :n WHERE seq = :o", n=seq - 1, o=seq)
    report = tampered.verify()
    assert report.first_bad == 7
    assert "entry 7: deleted (the entry now at 7 belongs at 8)" in report.findings


def test_reordered_entries_are_named(tampered: AuditLog) -> None:
    a, b = tampered.sql(
        "SELECT seq, entry_id, leaf_hash FROM audit_leaves WHERE seq IN (3, 4) ORDER BY seq"
    )
    tampered.sql("DELETE FROM audit_leaves WHERE seq IN (3, 4)")
    for seq, (_, eid, h) in ((3, b), (4, a)):
        tampered.sql(
            "INSERT INTO audit_leaves (seq, entry_id, leaf_hash) VALUES (:s, :e, :h)",
            s=seq,
            e=eid,
            h=h,
        )
    assert tampered.verify().first_bad == 3


def test_inserted_entry_is_named(tampered: AuditLog) -> None:
    for seq in range(19, 11, -1):
        tampered.sql("UPDATE audit_leaves SET seq = :n WHERE seq = :o", n=seq + 1, o=seq)
    tampered.sql("INSERT INTO audit_entries (body) VALUES (:b)", b=_forged_body())
    forged = int(tampered.sql("SELECT max(id) FROM audit_entries")[0][0])  # type: ignore[call-overload]
    tampered.sql(  # a well-formed leaf for the forged entry at position 12
        "INSERT INTO audit_leaves (seq, entry_id, leaf_hash) VALUES (12, :e, :h)",
        e=forged,
        h=tampered.leaf_of(forged, 12),
    )
    report = tampered.verify()
    assert report.first_bad == 12, report.findings


@pytest.mark.parametrize("at", [0, 12])
def test_an_insertion_is_named_as_one_even_at_the_first_entry(tampered: AuditLog, at: int) -> None:
    """A forged entry slipped in at `at`, the rest renumbered: the verifier says an entry was
    inserted there (the one now after it belongs at `at`), the first position included."""
    for seq in range(19, at - 1, -1):
        tampered.sql("UPDATE audit_leaves SET seq = :n WHERE seq = :o", n=seq + 1, o=seq)
    tampered.sql("INSERT INTO audit_entries (body) VALUES (:b)", b=_forged_body())
    forged = int(tampered.sql("SELECT max(id) FROM audit_entries")[0][0])  # type: ignore[call-overload]
    tampered.sql(
        "INSERT INTO audit_leaves (seq, entry_id, leaf_hash) VALUES (:s, :e, :h)",
        s=at,
        e=forged,
        h=tampered.leaf_of(forged, at),
    )
    report = tampered.verify()
    assert report.first_bad == at, report.findings
    named = f"entry {at}: inserted (the entry now at {at + 1} belongs at {at})"
    assert named in report.findings, report.findings


def test_truncated_log_is_named(tampered: AuditLog) -> None:
    tampered.truncate(15)
    report = tampered.verify()
    assert not report.ok
    assert report.first_bad == 15


def test_rollback_is_caught_by_an_older_checkpoint(tampered: AuditLog) -> None:
    """History rewritten after seq 12 and re-signed by the server itself: only a checkpoint
    kept outside the server (here taken at 20 entries) can tell."""
    kept_by_lawyer = tampered.checkpoint_note()
    tail = [r[0] for r in tampered.sql("SELECT entry_id FROM audit_leaves WHERE seq >= 12")]
    tampered.sql("DELETE FROM audit_leaves WHERE seq >= 12")
    for eid in tail:
        tampered.sql("DELETE FROM audit_entries WHERE id = :i", i=eid)
    tampered.sql("DELETE FROM audit_checkpoints WHERE tree_size > 12")
    _reset_head(tampered, 12)
    tampered.write(10)  # the rewritten history, sequenced by the service as usual
    new_note = tampered.checkpoint_note()
    assert tampered.verify().ok  # internally consistent: the limit SECURITY.md states
    report = tampered.verify(external=kept_by_lawyer)
    assert not report.ok
    assert report.first_bad == 10  # stored checkpoint 10 still matches; 20 does not
    key = verifier_key(tampered.keyring, ORIGIN)
    old, new = open_checkpoint(kept_by_lawyer, [key]), open_checkpoint(new_note, [key])
    with transaction(tampered.factory) as s:
        proof = consistency_proof(s, old.size, new.size)
    with pytest.raises(ProofError):
        verify_consistency(old.size, new.size, proof, old.root, new.root)


def _reset_head(log: AuditLog, size: int) -> None:
    """The attacker winds the head back by replaying the first `size` leaves."""
    log.sql("UPDATE audit_head SET size = 0, frontier = :f", f=b"")
    ids = [r[0] for r in log.sql("SELECT entry_id FROM audit_leaves ORDER BY seq")]
    log.sql("DELETE FROM audit_leaves")
    with transaction(log.factory) as s:
        entries = [s.get(AuditEntry, i) for i in ids[:size]]
        append_leaves(s, [e for e in entries if e is not None])


def test_proofs_for_stored_entries(audit_log: AuditLog) -> None:
    audit_log.write(13)
    note = audit_log.checkpoint_note()
    cp = open_checkpoint(note, [verifier_key(audit_log.keyring, ORIGIN)])
    entry_id = audit_log.entry_id(6)
    with transaction(audit_log.factory) as s:
        proof = inclusion_proof(s, 6)
        entry = s.scalars(select(AuditEntry).where(AuditEntry.id == entry_id)).one()
        assert proof.size == 13
        assert proof.root == cp.root
        proof.verify(leaf_hash(leaf_input(6, entry.id, entry.body)))
        with pytest.raises(ProofError):
            proof.verify(leaf_hash(leaf_input(7, entry.id, entry.body)))
        verify_consistency(5, 13, consistency_proof(s, 5, 13), tree_root(s, 5), cp.root)


def test_forged_checkpoint_is_refused(audit_log: AuditLog) -> None:
    audit_log.write(3)
    note = audit_log.checkpoint_note()
    forged = note.replace("\n3\n", "\n2\n", 1)
    report = audit_log.verify(external=forged)
    assert not report.ok
    assert any("signature" in f for f in report.findings)


def test_unsequenced_entry_is_reported(audit_log: AuditLog) -> None:
    audit_log.write(2)
    audit_log.sql("INSERT INTO audit_entries (body) VALUES (:b)", b=_forged_body())
    report = audit_log.verify()
    assert not report.ok
    assert any("no position" in f for f in report.findings)


def test_fast_path_carries_an_intact_ascii_log(
    audit_log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database-built encoding is what verifies an ordinary log (the speed comes from it)."""
    import app.audit.verify as verify_module

    audit_log.write(30)

    def exact_path_used(*_args: object) -> list[bytes]:
        raise AssertionError("the exact path ran on an intact ASCII log")

    monkeypatch.setattr(verify_module, "_chunk_leaves", exact_path_used)
    assert audit_log.verify(external=audit_log.checkpoint_note()).ok


def _forged_body() -> str:
    """A well-formed body for an entry the service never recorded."""
    return encode_body(at=datetime(2026, 1, 1, tzinfo=UTC), action="case.read")


@pytest.mark.parametrize(
    "spelling",
    [
        ("caseworker", "case\u00e9worker"),  # non-ASCII written raw
        ('"unit"]', '"unit"] '),  # same values, other spelling: still an edit of the body
        ('"caseworker"', "null"),
        ("[", '{"not": "a list"'),  # not JSON at all: both databases refuse it
    ],
)
def test_any_byte_of_a_body_changed_is_named(tampered: AuditLog, spelling: tuple[str, str]) -> None:
    old, new = spelling
    if new.startswith("{"):
        with pytest.raises(DBAPIError):  # the generated columns cannot be computed from it
            tampered.edit_body(7, old, new)
        return
    tampered.edit_body(7, old, new)
    report = tampered.verify()
    assert report.first_bad == 7, report.findings


@pytest.mark.parametrize("column", ["actor_role", "action", "at", "fields"])
def test_value_columns_cannot_be_written(tampered: AuditLog, column: str) -> None:
    """With the triggers gone, the generated columns still refuse an UPDATE."""
    value = {"at": "2026-01-01 00:00:00.000000", "fields": "[]"}.get(column, "admin")
    with pytest.raises(DBAPIError):
        tampered.sql(
            f"UPDATE audit_entries SET {column} = :v WHERE id = :i",  # noqa: S608 - fixed names
            v=value,
            i=tampered.entry_id(7),
        )
    assert tampered.verify().ok


def _plain_columns(log: AuditLog) -> None:
    """The attacker turns the generated columns into plain ones, keeping every value."""
    if log.backend == "postgresql":
        for column in BODY_COLUMNS:
            log.sql(f"ALTER TABLE audit_entries ALTER COLUMN {column} DROP EXPRESSION")
        return
    path = log.engine.url.database
    assert path
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("CREATE TABLE plain AS SELECT * FROM audit_entries")
        conn.execute("DROP TABLE audit_entries")
        conn.execute("ALTER TABLE plain RENAME TO audit_entries")
    finally:
        conn.close()


def test_altered_schema_is_reported_and_an_edited_column_named(tampered: AuditLog) -> None:
    _plain_columns(tampered)
    report = tampered.verify()
    assert not report.ok
    assert report.first_bad is None  # every column still says what its body says
    assert (
        "audit_entries: the value columns are no longer generated from the body as the schema "
        "defines (the table was altered)"
    ) in report.findings
    tampered.sql(
        "UPDATE audit_entries SET actor_role = 'admin' WHERE id = :i", i=tampered.entry_id(7)
    )
    report = tampered.verify()
    assert report.first_bad == 7
    assert any("actor_role column disagrees" in f for f in report.findings), report.findings


@pytest.mark.parametrize(
    "body", ['["case.read"]', '{"action": "case.read"}', "not json", "[]"], ids=repr
)
def test_a_body_that_is_not_an_entry_is_named_even_with_its_leaf_recomputed(
    tampered: AuditLog, body: str
) -> None:
    """An attacker who can write the table replaces an entry's body with something that is
    not an entry at all (a list of the wrong length, an object, not JSON) and recomputes
    its leaf, so the leaf check passes: the body itself is named, at that entry."""
    _plain_columns(tampered)
    tampered.sql("UPDATE audit_entries SET body = :b WHERE id = :i", b=body, i=tampered.entry_id(7))
    tampered.rehash(7)
    report = tampered.verify()
    assert not report.ok
    assert any(f.startswith("entry 7: its body column disagrees") for f in report.findings), (
        report.findings
    )


def test_deep_verification_reads_every_column(
    tampered: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attacker who edits the database's files or catalogs directly can leave a schema
    that looks intact over a changed column; `deep` compares every column anyway."""
    import app.audit.verify as verify_module

    _plain_columns(tampered)
    tampered.sql(
        "UPDATE audit_entries SET object_id = 'elsewhere' WHERE id = :i", i=tampered.entry_id(4)
    )
    monkeypatch.setattr(verify_module, "projection_intact", lambda _conn: True)
    assert tampered.verify().ok  # the routine check trusts the schema
    with transaction(tampered.factory) as s:
        key = verifier_key(tampered.keyring, ORIGIN)
        report = verify_log(s, keys=[key], origin=ORIGIN, deep=True)
    assert report.first_bad == 4
    assert any("object_id column disagrees" in f for f in report.findings)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 4 leaves, so a 20-entry log spans several chunks and both workers."""
    monkeypatch.setattr(StreamingTree, "CHUNK", 4)


def _verify(log: AuditLog, *, parallel_min: int, external: str | None = None) -> VerifyReport:
    with transaction(log.factory) as s:
        key = verifier_key(log.keyring, ORIGIN)
        return verify_log(
            s, keys=[key], origin=ORIGIN, external_checkpoint=external, parallel_min=parallel_min
        )


@pytest.mark.usefixtures("small_chunks")
def test_worker_processes_reach_the_same_answer(
    audit_log: AuditLog, caplog: pytest.LogCaptureFixture
) -> None:
    audit_log.write(21, checkpoint_every=3)  # checkpoints inside and at the ends of chunks
    external = audit_log.checkpoint_note()
    alone = _verify(audit_log, parallel_min=10**9, external=external)
    shared = _verify(audit_log, parallel_min=1, external=external)
    assert alone.ok, alone.findings
    assert (shared.ok, shared.root, shared.checkpoints) == (True, alone.root, alone.checkpoints)
    assert "verifying in-process" not in caplog.text  # the workers did answer


@pytest.mark.usefixtures("small_chunks")
def test_worker_processes_leave_a_bad_entry_to_be_named(
    tampered: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_run = workers.run

    def counted(*args: object, **kwargs: object) -> list[Summary]:
        out = real_run(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(sum(1 for _, _, p in out if p is None))
        return out

    monkeypatch.setattr(workers, "run", counted)
    tampered.edit_body(13, '"caseworker"', '"admin"')
    report = _verify(tampered, parallel_min=1)
    assert calls == [1]  # the workers hashed every chunk but the tampered one
    assert report.first_bad == 13, report.findings


def test_failed_workers_fall_back_to_verifying_in_process(
    audit_log: AuditLog, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    audit_log.write(5)
    nowhere = Source("sqlite", "/nonexistent/haven.db")
    monkeypatch.setattr(workers, "source_for", lambda _session: nowhere)
    report = _verify(audit_log, parallel_min=1)
    assert report.ok, report.findings
    fell_back = [r for r in caplog.records if "verifying in-process" in r.getMessage()]
    assert [r.getMessage() for r in fell_back] == [
        "audit verification workers failed; verifying in-process"
    ]
    assert fell_back[0].levelname == "WARNING"
    exc_info = fell_back[0].exc_info  # the operator sees why the workers failed
    assert isinstance(exc_info, tuple)
    assert exc_info[0] is not None
    assert issubclass(exc_info[0], Exception)


def test_a_worker_gets_the_connection_string_on_stdin_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not in its command line (any local user can list it), and without the service's own
    HAVEN_ settings in its environment."""
    seen: dict[str, object] = {}
    real = subprocess.Popen

    def spy(args: list[str], **kwargs: object) -> object:
        seen["args"], seen["env"] = args, kwargs["env"]
        return real(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(workers.subprocess, "Popen", spy)
    monkeypatch.setenv("HAVEN_DATABASE_URL", "postgresql://u:env-canary@127.0.0.1:1/none")
    source = Source("postgresql", "postgresql://u:stdin-canary@127.0.0.1:1/none")
    with pytest.raises(workers.WorkerFailed):  # nothing listens on port 1
        workers.run(source, [(0, 4)], [])
    assert "canary" not in " ".join(seen["args"])  # type: ignore[arg-type]
    env = seen["env"]
    assert isinstance(env, dict)
    assert not [k for k in env if k.startswith("HAVEN_")]
    assert "canary" not in " ".join(env.values())


def test_proofs_against_an_older_checkpoint_after_the_log_grew(audit_log: AuditLog) -> None:
    """A lawyer holds the checkpoint of 8 entries; the log has 13 since. The proofs asked
    for that size are built over its first 8 leaves (not the head's), from the first entry
    to the last; a position outside it is refused in words; the printed proof is line
    based."""
    audit_log.write(8)
    held = open_checkpoint(audit_log.checkpoint_note(), [verifier_key(audit_log.keyring, ORIGIN)])
    audit_log.write(5)
    ids = {seq: audit_log.entry_id(seq) for seq in (0, 7)}
    with transaction(audit_log.factory) as s:
        for seq in (0, 7):
            proof = inclusion_proof(s, seq, 8)
            assert (proof.size, proof.root) == (8, held.root)
            entry = s.scalars(select(AuditEntry).where(AuditEntry.id == ids[seq])).one()
            proof.verify(leaf_hash(leaf_input(seq, entry.id, entry.body)))
        assert proof.text().endswith("\n")
        assert not proof.text().endswith("\n\n")
        assert proof.text().splitlines()[:2] == ["seq 7", "tree size 8"]
        for seq in (8, -1):
            with pytest.raises(LookupError, match=f"^no entry {seq} in a tree of 8 entries$"):
                inclusion_proof(s, seq, 8)
        head = read_head(s)[1]
        verify_consistency(8, 13, consistency_proof(s, 8), held.root, head)
        verify_consistency(3, 8, consistency_proof(s, 3, 8), tree_root(s, 3), held.root)
        with pytest.raises(
            LookupError, match=r"^the stored leaves do not cover positions 0\.\.13$"
        ):
            stored_tree(s, 14)
