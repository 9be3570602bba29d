"""Inclusion and consistency proofs over the stored leaves, for a partner or lawyer to check
against a signed checkpoint they hold."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.merkle import MerkleTree, verify_inclusion
from app.audit.models import AuditLeaf
from app.audit.tree import read_head


def stored_tree(session: Session, size: int | None = None) -> MerkleTree:
    """The tree over the stored leaf hashes of positions [0, size) (default: the head's)."""
    size = read_head(session)[0] if size is None else size
    stmt = select(AuditLeaf.seq, AuditLeaf.leaf_hash).where(AuditLeaf.seq < size)
    rows = session.execute(stmt.order_by(AuditLeaf.seq)).all()
    if [r.seq for r in rows] != list(range(size)):
        raise LookupError(f"the stored leaves do not cover positions 0..{size - 1}")
    return MerkleTree([r.leaf_hash for r in rows])


def tree_root(session: Session, size: int) -> bytes:
    """The root of the first `size` stored leaves."""
    return stored_tree(session, size).root()


@dataclass(frozen=True)
class InclusionProof:
    """Proof that the entry at `seq` is in the tree of `size` entries with `root`."""

    seq: int
    size: int
    root: bytes
    leaf: bytes
    path: list[bytes]

    def verify(self, leaf: bytes) -> None:
        """Check a recomputed leaf hash against this proof; raises ProofError."""
        verify_inclusion(leaf, self.seq, self.size, self.path, self.root)

    def text(self) -> str:
        """A printable, line-based form (base64 hashes)."""

        def b64(h: bytes) -> str:
            return base64.b64encode(h).decode()

        lines = [f"seq {self.seq}", f"tree size {self.size}", f"root {b64(self.root)}"]
        lines.append(f"leaf {b64(self.leaf)}")
        lines += [f"path {b64(h)}" for h in self.path]
        return "\n".join(lines) + "\n"


def inclusion_proof(session: Session, seq: int, size: int | None = None) -> InclusionProof:
    """An inclusion proof for position seq in the tree at `size` (default: the head)."""
    tree = stored_tree(session, size)
    if not 0 <= seq < tree.size:
        raise LookupError(f"no entry {seq} in a tree of {tree.size} entries")
    path = tree.inclusion_proof(seq)
    return InclusionProof(seq, tree.size, tree.root(), tree.leaf(seq), path)


def consistency_proof(session: Session, size1: int, size2: int | None = None) -> list[bytes]:
    """A proof that the tree at size2 (default: the head) extends the tree at size1."""
    tree = stored_tree(session, size2)
    return tree.consistency_proof(size1)
