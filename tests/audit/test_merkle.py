"""The Merkle code against the transparency-dev vectors, and proofs against the RFC recursion."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    StreamingTree,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

# The transparency-dev vectors live in the repository (vectors/merkle/README.md says whence):
# missing ones are a failure, never a skip.
VECTORS = Path(__file__).resolve().parent / "vectors" / "merkle"


def _vectors(kind: str) -> list[tuple[str, dict[str, Any]]]:
    folder = VECTORS / kind
    if not folder.is_dir():
        raise FileNotFoundError(f"Merkle test vectors missing at {folder}")
    return [
        (str(p.relative_to(VECTORS)), json.loads(p.read_text()))
        for p in sorted(folder.rglob("*.json"))
    ]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in case["proof"] or []]


INCLUSION = _vectors("inclusion")
CONSISTENCY = _vectors("consistency")


def test_vectors_are_present() -> None:
    assert len(INCLUSION) > 50
    assert len(CONSISTENCY) > 50
    assert any(not c["wantErr"] for _, c in INCLUSION)
    assert any(not c["wantErr"] for _, c in CONSISTENCY)


@pytest.mark.parametrize(("name", "case"), INCLUSION, ids=[n for n, _ in INCLUSION])
def test_inclusion_vector(name: str, case: dict[str, Any]) -> None:
    def run() -> None:
        verify_inclusion(
            _b64(case["leafHash"]),
            case["leafIdx"],
            case["treeSize"],
            _proof(case),
            _b64(case["root"]),
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


@pytest.mark.parametrize(("name", "case"), CONSISTENCY, ids=[n for n, _ in CONSISTENCY])
def test_consistency_vector(name: str, case: dict[str, Any]) -> None:
    def run() -> None:
        verify_consistency(
            case["size1"], case["size2"], _proof(case), _b64(case["root1"]), _b64(case["root2"])
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            run()
    else:
        run()


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH written as the RFC states it, recursively."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"entry {i}".encode()) for i in range(n)]


def test_known_roots_from_rfc6962_reference() -> None:
    # Roots of the 8-leaf tree used by certificate-transparency's merkle tests.
    data = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
            "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
    tree = MerkleTree([leaf_hash(d) for d in data])
    assert tree.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert tree.root(1).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert tree.root(0) == EMPTY_ROOT


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_proofs_round_trip_at_every_size(n: int, data: st.DataObject) -> None:
    leaves = _leaves(n)
    tree = MerkleTree(leaves)
    assert tree.root() == _reference_root(leaves)
    size = data.draw(st.integers(min_value=1, max_value=n))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(leaves[index], index, size, proof, tree.root(size))
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, size, proof, tree.root(size - 1) + b"")
    size1 = data.draw(st.integers(min_value=1, max_value=size))
    cproof = tree.consistency_proof(size1, size)
    verify_consistency(size1, size, cproof, tree.root(size1), tree.root(size))
    if size1 < size:
        forged = MerkleTree([leaf_hash(b"forged"), *leaves[1:]])
        with pytest.raises(ProofError):
            verify_consistency(size1, size, cproof, forged.root(size1), tree.root(size))


def test_streaming_tree_matches_in_memory_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StreamingTree, "CHUNK", 8)
    leaves = _leaves(45)
    tree = MerkleTree(leaves)
    stream = StreamingTree()
    for start in range(0, len(leaves), 8):
        stream.add_chunk(leaves[start : start + 8])
        for size in range(start, min(start + 8, len(leaves)) + 1):
            assert stream.root_at(size) == tree.root(size), size
    assert stream.root() == tree.root()
    with pytest.raises(ValueError, match="last chunk"):
        stream.add_chunk(leaves[:1])


def test_every_proof_of_every_tree_up_to_33_leaves_verifies() -> None:
    """Every (index, size) inclusion proof and every (size1, size2) consistency proof, not
    a sample: the right-hand branches of the proof builders and the last leaf at an even
    index (where the verifier shifts its counters inside the loop) are all reached."""
    leaves = _leaves(33)
    tree = MerkleTree(leaves)
    for size in range(1, 34):
        root = tree.root(size)
        for index in range(size):
            verify_inclusion(leaves[index], index, size, tree.inclusion_proof(index, size), root)
        for size1 in range(1, size + 1):
            proof = tree.consistency_proof(size1, size)
            verify_consistency(size1, size, proof, tree.root(size1), root)


def _exactly(text: str) -> str:
    return "^" + re.escape(text) + "$"


def test_each_refusal_says_what_is_wrong() -> None:
    """The verifier's findings quote these words: each says which check failed."""
    leaves = _leaves(7)
    tree = MerkleTree(leaves)
    root, proof = tree.root(), tree.inclusion_proof(6)
    h = leaves[0]
    inclusion = [
        ((leaves[6], 7, 7, proof), "index 7 outside a tree of size 7"),
        ((leaves[6], -1, 7, proof), "index -1 outside a tree of size 7"),
        ((h[:31], 6, 7, proof), "leaf hash is 31 bytes, not 32"),
        ((leaves[6], 6, 7, [*proof[:-1], h + b"x"]), "proof hash is 33 bytes, not 32"),
        ((leaves[6], 6, 7, [*proof, h]), "proof too long"),
        ((leaves[6], 6, 7, proof[:-1]), "proof too short"),
    ]
    for args, words in inclusion:
        with pytest.raises(ProofError, match=_exactly(words)):
            root_from_inclusion_proof(*args)
    with pytest.raises(ProofError, match=_exactly("inclusion proof does not lead to the root")):
        verify_inclusion(leaves[5], 6, 7, proof, root)
    r3, r7, c = tree.root(3), tree.root(7), tree.consistency_proof(3, 7)
    consistency = [
        ((0, 7, c, r3, r7), "no consistency proof from size 0 to size 7"),
        ((7, 3, c, r3, r7), "no consistency proof from size 7 to size 3"),
        ((7, 7, c, r7, r7), "equal sizes need an empty proof"),
        ((7, 7, [], r3, r7), "equal sizes but different roots"),
        ((3, 7, [], r3, r7), "empty proof"),
        ((3, 7, [*c[:-1], h[:5]], r3, r7), "proof hash is 5 bytes, not 32"),
        ((3, 7, c, r3[:4], r7), "root1 is 4 bytes, not 32"),
        ((3, 7, [*c, h], r3, r7), "proof too long"),
        ((3, 7, c[:-1], r3, r7), "proof too short"),
        ((3, 7, c, tree.root(2), r7), "consistency proof does not lead to both roots"),
        ((3, 7, c, r3, tree.root(6)), "consistency proof does not lead to both roots"),
    ]
    for args, words in consistency:
        with pytest.raises(ProofError, match=_exactly(words)):
            verify_consistency(*args)  # type: ignore[arg-type]
    verify_consistency(7, 7, [], r7, r7)  # equal sizes, equal roots: consistent
    for call, words in (
        (lambda: tree.root(8), "size outside the tree"),
        (lambda: tree.root(-1), "size outside the tree"),
        (lambda: tree.inclusion_proof(7, 7), "index or size outside the tree"),
        (lambda: tree.inclusion_proof(0, 8), "index or size outside the tree"),
        (lambda: tree.consistency_proof(0, 7), "sizes outside the tree"),
        (lambda: tree.consistency_proof(5, 4), "sizes outside the tree"),
    ):
        with pytest.raises(ValueError, match=_exactly(words)):
            call()


def test_streaming_tree_over_many_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thirteen chunks: the frontier merges several heights and keeps apart what must not
    merge (a tree of 96 leaves is 64 + 32, not one node)."""
    monkeypatch.setattr(StreamingTree, "CHUNK", 8)
    leaves = _leaves(100)
    tree = MerkleTree(leaves)
    stream = StreamingTree()
    for start in range(0, len(leaves), 8):
        stream.add_chunk(leaves[start : start + 8])
        assert stream.root() == tree.root(stream.size), stream.size
    summary = StreamingTree()
    with pytest.raises(ValueError, match=_exactly("a summary must cover its whole chunk")):
        summary.add_summary(8, {4: []})


def test_streaming_tree_edges_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty stream has the empty root; a chunk fed as a summary answers at its own start
    (the size before it) without asking the summary for a prefix of nothing; each misuse is
    refused in words."""
    from app.audit.merkle import decompose, unpack_frontier

    monkeypatch.setattr(StreamingTree, "CHUNK", 8)
    assert StreamingTree().root() == EMPTY_ROOT
    leaves = _leaves(20)
    tree = MerkleTree(leaves)
    stream = StreamingTree()
    stream.add_chunk(leaves[:8])
    second = MerkleTree(leaves[8:16])
    stream.add_summary(8, {8: decompose(second._levels, 0, 8)})  # the chunk's own ranges
    assert stream.root_at(8) == tree.root(8)
    assert stream.root() == tree.root(16)
    for call, words in (
        (lambda: stream.root_at(7), "size outside the current chunk"),
        (lambda: stream.add_chunk(leaves[:9]), "chunk too long"),
        (lambda: StreamingTree().add_summary(8, {4: []}), "a summary must cover its whole chunk"),
    ):
        with pytest.raises(ValueError, match=_exactly(words)):
            call()
    stream.add_chunk(leaves[16:20])
    with pytest.raises(ValueError, match=_exactly("only the last chunk may be shorter than CHUNK")):
        stream.add_chunk(leaves[:8])
    with pytest.raises(ValueError, match=_exactly("stored frontier does not match the tree size")):
        unpack_frontier(bytes(64), 3 + 4)  # three set bits need 96 bytes
