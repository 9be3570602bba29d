"""RFC 6962 / RFC 9162 Merkle tree: tree hash, inclusion and consistency proofs.

Hashing is SHA-256 with domain separation: a leaf is H(0x00 || data), an interior node
H(0x01 || left || right). Proof verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2;
it is checked against the transparency-dev vectors in `tests/audit/vectors/merkle`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

HASH_SIZE = 32
_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof that does not verify (wrong shape, wrong hashes or wrong sizes)."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = _sha256(b"").digest()


def build_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every perfect, aligned subtree hash: levels[j][i] covers leaves [i*2^j, (i+1)*2^j)."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append(
            [_sha256(b"\x01" + a + b).digest() for a, b in zip(prev[::2], prev[1::2], strict=False)]
        )
    return levels


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect subtrees, largest first, into the RFC 6962 root of their union."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def decompose(levels: Sequence[Sequence[bytes]], lo: int, hi: int) -> list[bytes]:
    """Perfect subtrees covering [lo, hi), largest first; lo must be aligned to the largest."""
    out: list[bytes] = []
    pos, count = lo, hi - lo
    for j in range(count.bit_length() - 1, -1, -1):
        if count & (1 << j):
            out.append(levels[j][pos >> j])
            pos += 1 << j
    return out


class MerkleTree:
    """An in-memory tree over leaf hashes, for roots and proofs at any size."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.size = len(leaf_hashes)
        self._levels = build_levels(leaf_hashes)

    def leaf(self, index: int) -> bytes:
        """The leaf hash at index."""
        return self._levels[0][index]

    def _mth(self, lo: int, hi: int) -> bytes:
        return fold_right(decompose(self._levels, lo, hi))

    def root(self, size: int | None = None) -> bytes:
        """The root hash of the first `size` leaves (default: all)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError("size outside the tree")
        return self._mth(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 PATH(index, D[0:size])."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError("index or size outside the tree")
        return self._path(index, 0, size)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = 1 << ((n - 1).bit_length() - 1)
        if m < k:
            return [*self._path(m, lo, lo + k), self._mth(lo + k, hi)]
        return [*self._path(m - k, lo + k, hi), self._mth(lo, lo + k)]

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 6962 PROOF(size1, D[0:size2])."""
        size2 = self.size if size2 is None else size2
        if not 0 < size1 <= size2 <= self.size:
            raise ValueError("sizes outside the tree")
        if size1 == size2:
            return []
        return self._subproof(size1, 0, size2, complete=True)

    def _subproof(self, m: int, lo: int, hi: int, *, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [self._mth(lo, hi)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, complete=complete), self._mth(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, complete=False), self._mth(lo, lo + k)]


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 2.1.3.2); raises ProofError."""
    if index < 0 or index >= size:
        raise ProofError(f"index {index} outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof too short")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf` is at `index` in the tree of `size` with `root`; raises ProofError."""
    if root_from_inclusion_proof(leaf, index, size, proof) != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (size2, root2) extends (size1, root1); raises ProofError.

    A proof from the empty tree proves nothing and is refused, as the reference vectors ask:
    an empty tree is checked by its size alone.
    """
    if size1 <= 0 or size2 < size1:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty proof")
        if root1 != root2:
            raise ProofError("equal sizes but different roots")
        return
    if not proof:
        raise ProofError("empty proof")
    for p in proof:
        _check_hash(p, "proof hash")
    _check_hash(root1, "root1")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, root1)
    fr, sr = _consistency_roots(size1, size2, path)
    if fr != root1 or sr != root2:
        raise ProofError("consistency proof does not lead to both roots")


def _consistency_roots(size1: int, size2: int, path: list[bytes]) -> tuple[bytes, bytes]:
    """RFC 9162 2.1.4.2 steps 4-8: the old and new roots a consistency path implies."""
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof too short")
    return fr, sr


class StreamingTree:
    """Builds the tree over leaves fed in aligned chunks; roots at any size along the way.

    The verifier feeds chunks of CHUNK leaves (the last may be shorter), so hashing runs as
    list comprehensions over levels rather than one Python step per leaf. A chunk hashed
    elsewhere (a verifier worker process) arrives as a summary instead: the compact ranges
    of its prefixes at the sizes that will be asked for.
    """

    CHUNK = 1 << 14

    def __init__(self) -> None:
        self.size = 0
        self._frontier: list[tuple[int, bytes]] = []  # (height, hash), largest first
        self._chunk_start = 0
        self._chunk_size = 0
        self._prefix: Callable[[int], list[bytes]] = lambda _k: []

    def add_chunk(self, leaves: Sequence[bytes]) -> None:
        """Append the next chunk of leaf hashes (CHUNK long except the very last)."""
        levels = build_levels(leaves)
        self._start(len(leaves), lambda k: decompose(levels, 0, k) if k else [])

    def add_summary(self, size: int, prefixes: Mapping[int, Sequence[bytes]]) -> None:
        """Append a chunk of `size` leaves known by the compact ranges of its prefixes:
        prefixes[k] covers its first k leaves, for k = size and every size asked later."""
        if size not in prefixes:
            raise ValueError("a summary must cover its whole chunk")
        self._start(size, lambda k: list(prefixes[k]) if k else [])

    def _start(self, size: int, prefix: Callable[[int], list[bytes]]) -> None:
        if self.size % self.CHUNK:
            raise ValueError("only the last chunk may be shorter than CHUNK")
        if size > self.CHUNK:
            raise ValueError("chunk too long")
        if self._chunk_size == self.CHUNK:
            self._push(self.CHUNK.bit_length() - 1, self._prefix(self.CHUNK)[0])
        self._chunk_start, self._chunk_size, self._prefix = self.size, size, prefix
        self.size += size

    def _push(self, height: int, h: bytes) -> None:
        while self._frontier and self._frontier[-1][0] == height:
            h = node_hash(self._frontier.pop()[1], h)
            height += 1
        self._frontier.append((height, h))

    def root_at(self, size: int) -> bytes:
        """The root at `size`, which must lie within the most recent chunk (or equal it)."""
        if not self._chunk_start <= size <= self.size:
            raise ValueError("size outside the current chunk")
        return fold_right([h for _, h in self._frontier] + self._prefix(size - self._chunk_start))

    def root(self) -> bytes:
        """The root of everything added so far."""
        return self.root_at(self.size)


def frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> None:
    """Append a leaf to a compact range (perfect subtrees of [0, size), largest first)."""
    h = leaf
    while size & 1:
        h = node_hash(frontier.pop(), h)
        size >>= 1
    frontier.append(h)


def pack_frontier(frontier: Sequence[bytes]) -> bytes:
    """Store a compact range as concatenated hashes."""
    return b"".join(frontier)


def unpack_frontier(blob: bytes, size: int) -> list[bytes]:
    """Read a stored compact range, checking it has one hash per set bit of size."""
    if len(blob) != HASH_SIZE * size.bit_count():
        raise ValueError("stored frontier does not match the tree size")
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]
