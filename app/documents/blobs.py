"""The blob store: encrypted attachment bodies under random names in HAVEN_BLOB_DIR.

Only ciphertext ever reaches this folder (see app/crypto/stream.py). Names are random
UUIDs, unrelated to cases; the folder is 0700 and each file 0600. A blob is written to a
`.part` file and renamed when complete, so a reader never sees half a blob."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

log = logging.getLogger("haven.blobs")

_READ_BYTES = 256 * 1024


class BlobStore:
    """A folder of sealed blobs addressed by random UUIDs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if root.stat().st_mode & 0o077:
            root.chmod(0o700)

    def path(self, blob_id: uuid.UUID) -> Path:
        """Where a blob lives (the name is the id's hex: random, not derived from a case)."""
        return self.root / blob_id.hex

    def create(self) -> BlobWriter:
        """A writer for a new blob under a fresh random id."""
        return BlobWriter(self, uuid.uuid4())

    def open(self, blob_id: uuid.UUID) -> Iterator[bytes]:
        """The sealed bytes of a blob, in pieces."""
        with self.path(blob_id).open("rb") as fh:
            while piece := fh.read(_READ_BYTES):
                yield piece

    def exists(self, blob_id: uuid.UUID) -> bool:
        """True if the blob is stored."""
        return self.path(blob_id).exists()

    def delete(self, blob_id: uuid.UUID) -> None:
        """Remove a blob (idempotent). Its content is already unreadable once its DEK is gone."""
        for path in (self.path(blob_id), self.path(blob_id).with_suffix(".part")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class BlobWriter:
    """Appends sealed bytes to a new blob; commit() publishes it, abort() removes it."""

    def __init__(self, store: BlobStore, blob_id: uuid.UUID) -> None:
        self.store = store
        self.blob_id = blob_id
        self.size = 0
        self._part = store.path(blob_id).with_suffix(".part")
        fd = os.open(self._part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._fh = os.fdopen(fd, "wb")

    def write(self, sealed: bytes) -> None:
        """Append ciphertext (never plaintext: callers hand in StreamEncryptor output)."""
        if sealed:
            self._fh.write(sealed)
            self.size += len(sealed)

    def commit(self) -> None:
        """Flush to disk and publish the blob under its final name."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._part.rename(self.store.path(self.blob_id))

    def abort(self) -> None:
        """Discard a partial blob."""
        if not self._fh.closed:
            self._fh.close()
        with contextlib.suppress(FileNotFoundError):
            self._part.unlink()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None or not self._fh.closed:
            self.abort()
