"""The verifier against an attacker with database access (triggers dropped): every edit,
deletion, reordering, insertion, truncation and rollback is detected and named."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.canonical import encode_entry
from app.audit.checkpoints import verifier_key
from app.audit.merkle import ProofError, leaf_hash, verify_consistency
from app.audit.models import AuditEntry
from app.audit.note import open_checkpoint
from app.audit.proofs import consistency_proof, inclusion_proof, tree_root
from app.audit.tree import append_leaves
from app.db import transaction
from tests.audit.conftest import ORIGIN, AuditLog

pytestmark = pytest.mark.slow


def _leaf_of(log: AuditLog, entry_id: int, seq: int) -> bytes:
    """What a careful attacker computes (the format is public)."""
    with transaction(log.factory) as s:
        entry = s.get(AuditEntry, entry_id)
        assert entry is not None
        return leaf_hash(encode_entry(entry, seq))


def _rehash(log: AuditLog, start: int) -> None:
    """The careful attacker recomputes the stored leaf hashes from `start` on."""
    rows = log.sql("SELECT seq, entry_id FROM audit_leaves WHERE seq >= :s ORDER BY seq", s=start)
    for seq, entry_id in rows:
        h = _leaf_of(log, int(entry_id), int(seq))  # type: ignore[call-overload]
        log.sql("UPDATE audit_leaves SET leaf_hash = :h WHERE seq = :s", h=h, s=seq)


@pytest.fixture
def tampered(audit_log: AuditLog) -> AuditLog:
    """20 committed entries, stored checkpoints at 5, 10, 15 and 20, triggers dropped."""
    audit_log.write(20, checkpoint_every=5)
    assert audit_log.verify().ok
    audit_log.drop_triggers()
    return audit_log


def test_intact_log_verifies(audit_log: AuditLog) -> None:
    audit_log.write(7, checkpoint_every=3)
    report = audit_log.verify(external=audit_log.checkpoint_note())
    assert report.as_dict() == {"ok": True, "entries": 7, "first_bad": None}
    assert "intact" in report.summary()


def test_empty_log_verifies(audit_log: AuditLog) -> None:
    assert audit_log.verify().as_dict() == {"ok": True, "entries": 0, "first_bad": None}


def test_edited_entry_is_named(tampered: AuditLog) -> None:
    tampered.sql(
        "UPDATE audit_entries SET actor_role = 'admin' WHERE id = :i", i=tampered.entry_id(7)
    )
    report = tampered.verify()
    assert report.as_dict() == {"ok": False, "entries": 20, "first_bad": 7}
    assert "entry 7" in report.summary()


def test_edit_with_recomputed_hashes_is_caught_by_checkpoints(tampered: AuditLog) -> None:
    tampered.sql(
        "UPDATE audit_entries SET action = 'case.created' WHERE id = :i", i=tampered.entry_id(7)
    )
    _rehash(tampered, 7)
    report = tampered.verify()
    assert not report.ok
    # Checkpoint 5 still matches, 10 does not: the first entry no checkpoint vouches for.
    assert report.first_bad == 5
    assert any("size 10" in f for f in report.findings)


def test_deleted_entry_is_named(tampered: AuditLog) -> None:
    eid = tampered.entry_id(7)
    tampered.sql("DELETE FROM audit_leaves WHERE seq = 7")
    tampered.sql("DELETE FROM audit_entries WHERE id = :i", i=eid)
    assert tampered.verify().first_bad == 7


def test_deleted_and_renumbered_entry_is_named(tampered: AuditLog) -> None:
    eid = tampered.entry_id(7)
    tampered.sql("DELETE FROM audit_leaves WHERE seq = 7")
    tampered.sql("DELETE FROM audit_entries WHERE id = :i", i=eid)
    for seq in range(8, 20):
        tampered.sql("UPDATE audit_leaves SET seq = :n WHERE seq = :o", n=seq - 1, o=seq)
    report = tampered.verify()
    assert report.first_bad == 7
    assert any("deleted" in f for f in report.findings)


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
    tampered.sql(
        "INSERT INTO audit_entries (at, action, fields, outcome) "
        "VALUES (:at, 'case.read', '[]', 'ok')",
        at="2026-01-01 00:00:00.000000",
    )
    forged = int(tampered.sql("SELECT max(id) FROM audit_entries")[0][0])  # type: ignore[call-overload]
    tampered.sql(  # a well-formed leaf for the forged entry at position 12
        "INSERT INTO audit_leaves (seq, entry_id, leaf_hash) VALUES (12, :e, :h)",
        e=forged,
        h=_leaf_of(tampered, forged, 12),
    )
    report = tampered.verify()
    assert report.first_bad == 12, report.findings


def test_truncated_log_is_named(tampered: AuditLog) -> None:
    tail = [r[0] for r in tampered.sql("SELECT entry_id FROM audit_leaves WHERE seq >= 15")]
    tampered.sql("DELETE FROM audit_leaves WHERE seq >= 15")
    for eid in tail:
        tampered.sql("DELETE FROM audit_entries WHERE id = :i", i=eid)
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
        proof.verify(leaf_hash(encode_entry(entry, 6)))
        with pytest.raises(ProofError):
            proof.verify(leaf_hash(encode_entry(entry, 7)))
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
    audit_log.sql(
        "INSERT INTO audit_entries (at, action, fields, outcome) "
        "VALUES (:at, 'case.read', '[]', 'ok')",
        at="2026-01-01 00:00:00.000000",
    )
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


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("fields", '{"not": "a list"'),  # malformed JSON must not break the fast query
        ("fields", '{"not": "a list"}'),
        ("fields", '["legal_name",  "unit"]'),  # same value, other spelling: not an edit
        ("object_id", "caf\u00e9"),  # non-ASCII: the database spells it raw
        ("action", None),  # a NULL where the schema forbids one
    ],
)
def test_odd_values_fall_back_to_the_exact_path(
    audit_log: AuditLog, column: str, value: str | None
) -> None:
    audit_log.write(8)
    audit_log.drop_triggers()
    pg = audit_log.backend == "postgresql"
    if value == '{"not": "a list"' and pg:
        pytest.skip("PostgreSQL's json column refuses malformed JSON itself")
    if column == "action":
        if not pg:
            pytest.skip("SQLite cannot drop a NOT NULL constraint in place")
        audit_log.sql("ALTER TABLE audit_entries ALTER COLUMN action DROP NOT NULL")
    victim = 5
    audit_log.sql(
        f"UPDATE audit_entries SET {column} = :v WHERE id = :i",  # noqa: S608 - fixed names
        v=value,
        i=audit_log.entry_id(victim),
    )
    report = audit_log.verify()
    if value == '["legal_name",  "unit"]':
        # Whitespace in stored JSON is not content: the canonical encoding re-spells it.
        assert report.ok, report.findings
        return
    assert not report.ok
    assert report.first_bad == victim, report.findings
