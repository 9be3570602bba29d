"""`haven backup create`: the snapshot, framed, encrypted to the recipients as it is read."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection

from app.backup import age, frames
from app.backup.frames import dumps, frame
from app.backup.snapshot import snapshot
from app.backup.values import codec_for
from app.db import Base, utcnow
from app.documents.blobs import BlobStore
from app.documents.models import Document

BATCH_ROWS = 1000
BLOB_PIECE = 1024 * 1024

Progress = Callable[[int], None]


def tables() -> list[Table]:
    """Every table of the schema, parents before children (restore inserts in this order)."""
    import app.models  # noqa: F401 - registers every table in Base.metadata

    return list(Base.metadata.sorted_tables)


def stored_columns(table: Table) -> list[str]:
    """The columns a backup carries: all but those the database generates."""
    return [c.name for c in table.columns if c.computed is None]


@dataclass
class Summary:
    """What went into a backup."""

    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    blob_bytes: int = 0
    missing_blobs: int = 0
    revision: str = ""

    @property
    def total_rows(self) -> int:
        """Rows in every table together."""
        return sum(self.rows.values())


@dataclass
class Plan:
    """The snapshot's sizes, counted inside the snapshot (for the progress bar)."""

    rows: dict[str, int]
    blob_ids: list[uuid.UUID]
    blob_bytes: int

    @property
    def total(self) -> int:
        """Units of progress: one per row, one per blob byte."""
        return sum(self.rows.values()) + self.blob_bytes


def _revision(conn: Connection) -> str:
    return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def _plan(conn: Connection, store: BlobStore) -> Plan:
    rows = {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in tables()
    }
    blob_ids = sorted(conn.execute(select(Document.__table__.c.blob_id)).scalars())
    size = 0
    for blob_id in blob_ids:
        with contextlib.suppress(FileNotFoundError):
            size += store.path(blob_id).stat().st_size
    return Plan(rows, blob_ids, size)


def _frames(
    conn: Connection, store: BlobStore, plan: Plan, summary: Summary, progress: Progress
) -> Iterator[bytes]:
    """Every frame of the backup, in order (reads the snapshot lazily, in batches)."""
    summary.revision = _revision(conn)
    stream = hashlib.sha256()
    manifest: dict[str, Any] = {"tables": {}, "blobs": {}}

    def emit(kind: bytes, payload: bytes) -> bytes:
        whole = frame(kind, payload)
        stream.update(whole)
        return whole

    header = {
        "format": frames.FORMAT,
        "version": frames.VERSION,
        "created_at": utcnow().isoformat(),
        "dialect": conn.dialect.name,
        "revision": summary.revision,
        "tables": [t.name for t in tables()],
    }
    yield emit(frames.HEADER, dumps(header))
    for table in tables():
        names = stored_columns(table)
        encoders = [codec_for(table.c[name])[0] for name in names]
        yield emit(frames.TABLE, dumps({"name": table.name, "columns": names}))
        digest, count = hashlib.sha256(), 0
        order = list(table.primary_key.columns) or [table.c[names[0]]]
        result = conn.execution_options(yield_per=BATCH_ROWS).execute(
            select(*(table.c[n] for n in names)).order_by(*order)
        )
        for row in result:
            payload = dumps([encode(value) for encode, value in zip(encoders, row, strict=True)])
            digest.update(len(payload).to_bytes(4, "big") + payload)
            count += 1
            yield emit(frames.ROW, payload)
            progress(1)
        summary.rows[table.name] = count
        entry = {"rows": count, "sha256": digest.hexdigest()}
        manifest["tables"][table.name] = entry
        yield emit(frames.TABLE_END, dumps({"name": table.name, **entry}))
    for blob_id in plan.blob_ids:
        try:
            fh = store.path(blob_id).open("rb")
        except FileNotFoundError:
            # Erased (its case shredded) after the snapshot began: nothing to keep.
            summary.missing_blobs += 1
            continue
        with fh:
            yield emit(frames.BLOB, dumps({"id": blob_id.hex}))
            digest, size = hashlib.sha256(), 0
            while piece := fh.read(BLOB_PIECE):
                digest.update(piece)
                size += len(piece)
                yield emit(frames.BLOB_DATA, piece)
                progress(len(piece))
        entry = {"size": size, "sha256": digest.hexdigest()}
        manifest["blobs"][blob_id.hex] = entry
        summary.blobs += 1
        summary.blob_bytes += size
        yield emit(frames.BLOB_END, dumps({"id": blob_id.hex, **entry}))
    manifest["stream_sha256"] = stream.hexdigest()
    yield frame(frames.MANIFEST, dumps(manifest))


class _FrameStream(io.RawIOBase):
    """The frames as a file to read from (pyrage pulls the plaintext it encrypts)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self._fill(memoryview(buffer).cast("B"))
        except BaseException as exc:
            self.error = exc  # pyrage reports only "read failed"; the cause is kept here
            raise

    def _fill(self, view: memoryview) -> int:
        while not self._pending:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._pending = nxt
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def create_backup(
    *,
    database_url: str,
    blob_dir: Path,
    out: Path,
    recipients: list[age.Recipient],
    on_plan: Callable[[Plan], None] | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Write an encrypted backup of the database and its blobs to `out` (mode 0600).

    Written to `out` + ".part" and renamed at the end, so a file named `out` is always
    whole. Refuses to overwrite."""
    if not recipients:
        raise age.KeyInvalid("at least one recipient is needed")
    if out.exists():
        raise FileExistsError(f"{out} exists; backups are never overwritten")
    part = out.with_name(out.name + ".part")
    summary = Summary()
    store = BlobStore(blob_dir)
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as sink, snapshot(database_url) as conn:
            plan = _plan(conn, store)
            if on_plan is not None:
                on_plan(plan)
            reader = _FrameStream(
                _frames(conn, store, plan, summary, progress or (lambda _n: None))
            )
            try:
                age.encrypt_io(io.BufferedReader(reader, 1024 * 1024), sink, recipients)
            except Exception:
                if reader.error is not None:
                    raise reader.error from None
                raise
            sink.flush()
            os.fsync(sink.fileno())
        part.rename(out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise
    return summary
