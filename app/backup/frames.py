"""The plaintext inside a backup: a sequence of frames, each `kind (1 byte) | length (u32,
big-endian) | payload`. JSON payloads except blob data, which is raw (already ciphertext).

    H  header     {"format", "version", "created_at", "dialect", "revision", "tables"}
    T  table      {"name", "columns"}
    R  row        [value, ...] in the table's column order (app/backup/values.py)
    E  table end  {"name", "rows", "sha256"}   (hash of the table's R payloads)
    B  blob       {"id"}
    D  blob data  raw bytes
    F  blob end   {"id", "size", "sha256"}
    M  manifest   {"tables": {name: {rows, sha256}}, "blobs": {id: {size, sha256}},
                   "stream_sha256"}            (hash of every frame before it)

age authenticates every 64 KiB chunk and the end of the stream; the hashes make a backup
check itself, table by table, whatever carried it, and let `verify` say what is inside."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from typing import Any

FORMAT = "haven-backup"
VERSION = 1
MAX_FRAME = 16 * 1024 * 1024
_HEAD = struct.Struct(">cI")

HEADER, TABLE, ROW, TABLE_END = b"H", b"T", b"R", b"E"
BLOB, BLOB_DATA, BLOB_END, MANIFEST = b"B", b"D", b"F", b"M"
KINDS = frozenset({HEADER, TABLE, ROW, TABLE_END, BLOB, BLOB_DATA, BLOB_END, MANIFEST})


class BackupInvalid(Exception):
    """The backup cannot be trusted: damaged, truncated, forged or of an unknown format."""


def frame(kind: bytes, payload: bytes) -> bytes:
    """One frame."""
    if len(payload) > MAX_FRAME:
        raise ValueError("frame too large")
    return _HEAD.pack(kind, len(payload)) + payload


def dumps(value: Any) -> bytes:
    """Canonical JSON (sorted keys, no spaces): the bytes that are hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class FrameReader:
    """A push parser: `write()` takes decrypted bytes in any pieces and calls
    `on_frame(kind, payload)` for each whole frame. Keeps the running stream hash (of every
    frame before the manifest) for the manifest check."""

    def __init__(self, on_frame: Callable[[bytes, bytes], None]) -> None:
        self._on_frame = on_frame
        self._buffer = bytearray()
        self.stream_hash = hashlib.sha256()
        self.error: BaseException | None = None

    def write(self, data: bytes) -> int:
        """Take decrypted bytes (pyrage calls this); errors are kept and re-raised later."""
        if self.error is not None:
            raise self.error
        self._buffer += data
        try:
            self._drain()
        except BaseException as exc:
            self.error = exc
            raise
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered beyond an incomplete frame."""

    def _drain(self) -> None:
        while len(self._buffer) >= _HEAD.size:
            kind, length = _HEAD.unpack_from(self._buffer)
            if kind not in KINDS or length > MAX_FRAME:
                raise BackupInvalid("the backup's frames are damaged")
            end = _HEAD.size + length
            if len(self._buffer) < end:
                return
            whole = bytes(self._buffer[:end])
            del self._buffer[:end]
            if kind != MANIFEST:
                self.stream_hash.update(whole)
            self._on_frame(kind, whole[_HEAD.size :])

    def finish(self) -> None:
        """At the end of the stream: nothing may be left over."""
        if self.error is not None:
            raise self.error
        if self._buffer:
            raise BackupInvalid("the backup ends inside a frame (truncated)")
