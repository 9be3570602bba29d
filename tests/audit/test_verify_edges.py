"""The verifier at its edges: the first entry, the last, and both sides of every chunk
boundary (with chunks of 4 entries instead of 16,384), each edited alone and named; and a
stored checkpoint sequence that goes backwards reported as a rollback."""

from __future__ import annotations

import pytest

from app.audit.merkle import StreamingTree
from tests.audit.conftest import AuditLog

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
