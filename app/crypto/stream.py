"""Attachments encrypted as a stream of 64 KiB chunks under the case DEK (STREAM construction).

    blob   = "HVB" || 0x01 || chunk*          (every chunk but the last holds 64 KiB)
    chunk  = nonce (12) || AES-256-GCM(plaintext) || tag (16)
    AAD    = "haven/blob/v1" || owner_id || blob_id || index (u64) || last (0x00 | 0x01)

Index and last-chunk flag in the AAD make reordering, dropping, truncating at a chunk
boundary and appending all fail; an empty file is one empty last chunk. Plaintext is held
in memory one chunk at a time and never written anywhere."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Iterator

from app.crypto import aead
from app.crypto.envelope import OpenDataKey

CHUNK_BYTES = 64 * 1024
SEALED_CHUNK_BYTES = CHUNK_BYTES + aead.NONCE_BYTES + aead.TAG_BYTES
MAGIC = b"HVB\x01"


def chunk_aad(*, owner_id: uuid.UUID, blob_id: uuid.UUID, index: int, last: bool) -> bytes:
    """Associated data of one chunk: its place in the stream and whether it ends it."""
    return (
        b"haven/blob/v1"
        + owner_id.bytes
        + blob_id.bytes
        + struct.pack(">Q", index)
        + (b"\x01" if last else b"\x00")
    )


class StreamEncryptor:
    """Feed plaintext in any pieces; get back sealed bytes to append to the blob."""

    def __init__(self, dek: OpenDataKey, blob_id: uuid.UUID) -> None:
        self._dek = dek
        self._blob_id = blob_id
        self._buffer = bytearray()
        self._index = 0
        self._started = False
        self._finished = False

    def _seal(self, plaintext: bytes, *, last: bool) -> bytes:
        aad = chunk_aad(
            owner_id=self._dek.owner_id, blob_id=self._blob_id, index=self._index, last=last
        )
        self._index += 1
        return aead.seal(self._dek.cipher(), plaintext, aad)

    def _header(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return MAGIC

    def update(self, data: bytes) -> bytes:
        """Buffer data; return the sealed chunks that are known not to be the last."""
        if self._finished:
            raise ValueError("stream already finished")
        self._buffer += data
        out = bytearray(self._header())
        # Keep at least one full chunk back: only finish() knows which chunk is last.
        while len(self._buffer) > CHUNK_BYTES:
            out += self._seal(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]
        return bytes(out)

    def finish(self) -> bytes:
        """Seal what remains as the last chunk (an empty last chunk for an empty stream)."""
        if self._finished:
            raise ValueError("stream already finished")
        self._finished = True
        out = self._header() + self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        return out


def decrypt_stream(
    dek: OpenDataKey, blob_id: uuid.UUID, sealed: Iterable[bytes]
) -> Iterator[bytes]:
    """Yield plaintext chunks from sealed bytes, failing on any tampering or truncation.

    A chunk is released only after it authenticates; a damaged stream raises
    DecryptionFailed at the first bad chunk (or at the end, if it was cut short)."""
    reader = _Rechunker(sealed)
    if reader.read(len(MAGIC)) != MAGIC:
        raise aead.DecryptionFailed("attachment")
    index = 0
    current = reader.read(SEALED_CHUNK_BYTES)
    while True:
        following = reader.read(SEALED_CHUNK_BYTES) if len(current) == SEALED_CHUNK_BYTES else b""
        last = not following
        aad = chunk_aad(owner_id=dek.owner_id, blob_id=blob_id, index=index, last=last)
        yield aead.unseal(dek.cipher(), current, aad, what="attachment chunk")
        if last:
            return
        current, index = following, index + 1


class _Rechunker:
    """Reads exact byte counts from an iterable of arbitrary pieces."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = iter(pieces)
        self._buffer = bytearray()

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out
