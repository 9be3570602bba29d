"""Attachment streams: chunks cannot be reordered, dropped, truncated, extended or swapped."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.crypto.aead import DecryptionFailed
from app.crypto.envelope import OpenDataKey
from app.crypto.stream import (
    CHUNK_BYTES,
    MAGIC,
    SEALED_CHUNK_BYTES,
    StreamEncryptor,
    decrypt_stream,
)


def _seal(dek: OpenDataKey, blob_id: uuid.UUID, data: bytes, piece: int = 10_000) -> bytes:
    enc = StreamEncryptor(dek, blob_id)
    out = b"".join(enc.update(data[i : i + piece]) for i in range(0, len(data), piece))
    return out + enc.finish()


def _chunks(sealed: bytes) -> list[bytes]:
    body = sealed[len(MAGIC) :]
    return [body[i : i + SEALED_CHUNK_BYTES] for i in range(0, len(body), SEALED_CHUNK_BYTES)]


def _open(dek: OpenDataKey, blob_id: uuid.UUID, sealed: bytes) -> bytes:
    return b"".join(decrypt_stream(dek, blob_id, [sealed]))


@pytest.fixture
def blob_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def three_chunks() -> bytes:
    return bytes(range(256)) * (CHUNK_BYTES * 2 // 256) + b"tail of the summons"


def test_round_trip_and_chunking(dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes) -> None:
    sealed = _seal(dek, blob_id, three_chunks)
    assert len(_chunks(sealed)) == 3
    assert _open(dek, blob_id, sealed) == three_chunks


def test_reordered_chunks_fail(dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes) -> None:
    a, b, c = _chunks(_seal(dek, blob_id, three_chunks))
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, MAGIC + b + a + c)


def test_truncated_at_a_chunk_boundary_fails(
    dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes
) -> None:
    a, b, _c = _chunks(_seal(dek, blob_id, three_chunks))
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, MAGIC + a + b)


def test_dropped_middle_chunk_fails(
    dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes
) -> None:
    a, _b, c = _chunks(_seal(dek, blob_id, three_chunks))
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, MAGIC + a + c)


def test_extended_stream_fails(dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes) -> None:
    sealed = _seal(dek, blob_id, three_chunks)
    a = _chunks(sealed)[0]
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, sealed + a)
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, sealed + b"\x00")


def test_cut_mid_chunk_fails(dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes) -> None:
    sealed = _seal(dek, blob_id, three_chunks)
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, sealed[:-100])


def test_chunks_of_another_blob_fail(
    dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes
) -> None:
    other = uuid.uuid4()
    sealed_other = _seal(dek, other, three_chunks)
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, sealed_other)


def test_flipped_bit_fails_and_releases_nothing_after_it(
    dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes
) -> None:
    sealed = bytearray(_seal(dek, blob_id, three_chunks))
    sealed[len(MAGIC) + SEALED_CHUNK_BYTES + 40] ^= 0x01  # inside chunk 2
    stream = decrypt_stream(dek, blob_id, [bytes(sealed)])
    assert len(next(stream)) == CHUNK_BYTES  # the authentic first chunk
    with pytest.raises(DecryptionFailed):
        next(stream)  # nothing of the tampered chunk is released


def test_empty_file_is_one_authenticated_chunk(dek: OpenDataKey, blob_id: uuid.UUID) -> None:
    sealed = _seal(dek, blob_id, b"")
    assert _open(dek, blob_id, sealed) == b""
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, MAGIC)


def test_exact_multiple_of_chunk_size(dek: OpenDataKey, blob_id: uuid.UUID) -> None:
    data = b"\x42" * (CHUNK_BYTES * 2)
    sealed = _seal(dek, blob_id, data, piece=CHUNK_BYTES)
    assert len(_chunks(sealed)) == 2
    assert _open(dek, blob_id, sealed) == data
    with pytest.raises(DecryptionFailed):
        _open(dek, blob_id, MAGIC + _chunks(sealed)[0])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.sampled_from([0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1])
    | st.integers(0, 3 * CHUNK_BYTES),
    piece=st.integers(1, 2 * CHUNK_BYTES),
    read_piece=st.integers(1, 3 * SEALED_CHUNK_BYTES),
)
def test_round_trip_property(dek: OpenDataKey, size: int, piece: int, read_piece: int) -> None:
    blob_id = uuid.uuid4()
    data = bytes((i * 7) % 251 for i in range(size))
    sealed = _seal(dek, blob_id, data, piece=piece)
    pieces = [sealed[i : i + read_piece] for i in range(0, len(sealed), read_piece)]
    assert b"".join(decrypt_stream(dek, blob_id, pieces)) == data


def test_any_piece_size_round_trips_even_several_chunks_at_once(
    dek: OpenDataKey, blob_id: uuid.UUID, three_chunks: bytes
) -> None:
    """A reader may hand the encryptor one byte or the whole file at once: every chunk it
    seals comes out, in order (one update spanning three chunks keeps all three)."""
    for piece in (1_000_000, CHUNK_BYTES, CHUNK_BYTES + 1, 7_919):
        sealed = _seal(dek, blob_id, three_chunks, piece=piece)
        assert len(_chunks(sealed)) == 3, piece
        assert _open(dek, blob_id, sealed) == three_chunks, piece


def test_a_finished_stream_takes_nothing_more(dek: OpenDataKey, blob_id: uuid.UUID) -> None:
    enc = StreamEncryptor(dek, blob_id)
    enc.update(b"scan of a summons")
    enc.finish()
    with pytest.raises(ValueError, match=r"^stream already finished$"):
        enc.update(b"more")
    with pytest.raises(ValueError, match=r"^stream already finished$"):
        enc.finish()
