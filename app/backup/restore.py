"""`haven backup verify` and `haven backup restore`.

Both decrypt the whole file and check every hash; restore also writes, and only into an empty
database (of either kind) and an empty blob folder. Decrypted rows go into ONE transaction
and the blobs into a staging folder: until the age stream's last tag and the manifest have
been checked nothing is committed or published, so a damaged, truncated or forged backup
leaves the target as it was (migrated, empty)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from alembic.script import ScriptDirectory
from sqlalchemy import Table, func, insert, inspect, select, text
from sqlalchemy.engine import Connection

from app.backup import age, frames
from app.backup.create import stored_columns, tables
from app.backup.frames import BackupInvalid, FrameReader
from app.backup.values import codec_for
from app.db import make_engine
from app.migrate import alembic_config, upgrade

INSERT_BATCH = 500
# Rows the migrations themselves write: replaced by the backup's.
SEEDED = frozenset({"audit_head"})

Progress = Callable[[int], None]


class IdentityInvalid(ValueError):
    """A file that holds no age X25519 identity."""


class TargetNotEmpty(Exception):
    """The database or blob folder to restore into already holds data."""


def read_identities(path: Path) -> list[age.Identity]:
    """The AGE-SECRET-KEY-1... lines of an identity file (comments ignored)."""
    found = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            found.append(age.identity(line))
        except age.KeyInvalid:
            raise IdentityInvalid(f"{path} holds a line that is not an age identity") from None
    if not found:
        raise IdentityInvalid(f"{path} holds no age identity (AGE-SECRET-KEY-1...)")
    return found


@dataclass
class Contents:
    """What a verified backup holds."""

    created_at: str = ""
    dialect: str = ""
    revision: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    blobs: int = 0
    blob_bytes: int = 0

    @property
    def total_rows(self) -> int:
        """Rows in every table together."""
        return sum(self.rows.values())


class _Checker:
    """Follows the frames in order and checks each against the header, the table ends,
    the blob ends and the manifest. Hands rows and blob pieces to the sinks."""

    def __init__(
        self,
        *,
        on_rows: Callable[[Table, list[dict[str, Any]]], None] | None = None,
        on_blob: Callable[[uuid.UUID, bytes | None], None] | None = None,
        require_revision: str | None = None,
    ) -> None:
        self.reader = FrameReader(self._frame)
        self._require_revision = require_revision
        self.contents = Contents()
        self._on_rows = on_rows
        self._on_blob = on_blob
        self._known = {t.name: t for t in tables()}
        self._expected_tables: list[str] = []
        self._table: Table | None = None
        self._table_name: str | None = None
        # Restoring: rows must fit this Haven's schema; verifying: any v1 backup is checked.
        self._strict = require_revision is not None
        self._columns: list[str] = []
        self._decoders: list[Callable[[Any], Any]] = []
        self._digest = hashlib.sha256()
        self._count = 0
        self._batch: list[dict[str, Any]] = []
        self._seen_tables: dict[str, dict[str, Any]] = {}
        self._blob: uuid.UUID | None = None
        self._blob_digest = hashlib.sha256()
        self._blob_size = 0
        self._seen_blobs: dict[str, dict[str, Any]] = {}
        self._state = "start"
        self.finished = False

    def _load(self, payload: bytes) -> Any:
        try:
            return json.loads(payload)
        except ValueError:
            raise BackupInvalid("a frame of the backup is not valid JSON") from None

    def _frame(self, kind: bytes, payload: bytes) -> None:
        if self.finished:
            raise BackupInvalid("data follows the manifest")
        if self._state == "start":
            if kind != frames.HEADER:
                raise BackupInvalid("not a Haven backup (no header)")
            self._header(self._load(payload))
            self._state = "tables"
        elif kind == frames.TABLE and self._state == "tables" and self._table_name is None:
            self._begin_table(self._load(payload))
        elif kind == frames.ROW and self._table_name is not None:
            self._row(payload)
        elif kind == frames.TABLE_END and self._table_name is not None:
            self._end_table(self._load(payload))
        elif kind == frames.BLOB and self._table_name is None and self._blob is None:
            self._state = "blobs"
            self._begin_blob(self._load(payload))
        elif kind == frames.BLOB_DATA and self._blob is not None:
            self._blob_digest.update(payload)
            self._blob_size += len(payload)
            if self._on_blob is not None:
                self._on_blob(self._blob, payload)
        elif kind == frames.BLOB_END and self._blob is not None:
            self._end_blob(self._load(payload))
        elif kind == frames.MANIFEST and self._table_name is None and self._blob is None:
            self._manifest(self._load(payload))
        else:
            raise BackupInvalid("the backup's frames are out of order")

    def _header(self, header: Any) -> None:
        if not isinstance(header, dict) or header.get("format") != frames.FORMAT:
            raise BackupInvalid("not a Haven backup")
        if header.get("version") != frames.VERSION:
            raise BackupInvalid(
                f"backup format version {header.get('version')} is not one this Haven reads "
                f"({frames.VERSION})"
            )
        self.contents.created_at = str(header.get("created_at", ""))
        self.contents.dialect = str(header.get("dialect", ""))
        self.contents.revision = str(header.get("revision", ""))
        self._expected_tables = list(header.get("tables", []))
        wanted = self._require_revision
        if wanted is not None and self.contents.revision != wanted:
            raise BackupInvalid(
                f"the backup is of schema revision {self.contents.revision}, this Haven's is "
                f"{wanted}: restore it with the Haven version that made it, then upgrade"
            )
        if self._strict and set(self._expected_tables) != set(self._known):
            raise BackupInvalid(
                "the backup's tables differ from this Haven's schema: restore it with the "
                f"Haven version that made it (schema revision {self.contents.revision})"
            )

    def _begin_table(self, info: Any) -> None:
        name, columns = info.get("name"), info.get("columns")
        if name not in self._expected_tables or name in self._seen_tables:
            raise BackupInvalid(f"unexpected table {name!r} in the backup")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise BackupInvalid(f"table {name}: no column list")
        if self._strict:
            table = self._known[name]
            if columns != stored_columns(table):
                raise BackupInvalid(f"table {name}: its columns differ from this Haven's schema")
            self._table = table
            self._decoders = [codec_for(table.c[c])[1] for c in columns]
        self._table_name, self._columns = str(name), list(columns)
        self._digest, self._count, self._batch = hashlib.sha256(), 0, []

    def _row(self, payload: bytes) -> None:
        if self._table_name is None:
            raise BackupInvalid("a row outside a table")
        self._digest.update(len(payload).to_bytes(4, "big") + payload)
        self._count += 1
        values = self._load(payload)
        if not isinstance(values, list) or len(values) != len(self._columns):
            raise BackupInvalid(f"table {self._table_name}: a row has the wrong shape")
        if self._table is None:
            return  # verifying only: the hashes are the check
        try:
            row = {
                c: decode(v)
                for c, decode, v in zip(self._columns, self._decoders, values, strict=True)
            }
        except (TypeError, ValueError):
            raise BackupInvalid(f"table {self._table.name}: a value cannot be read") from None
        self._batch.append(row)
        if len(self._batch) >= INSERT_BATCH:
            self._flush_rows()

    def _flush_rows(self) -> None:
        if self._batch and self._on_rows is not None and self._table is not None:
            self._on_rows(self._table, self._batch)
        self._batch = []

    def _end_table(self, info: Any) -> None:
        if self._table_name is None:
            raise BackupInvalid("a table end outside a table")
        name = self._table_name
        entry = {"rows": self._count, "sha256": self._digest.hexdigest()}
        if info != {"name": name, **entry}:
            raise BackupInvalid(f"table {name}: its rows do not match their hash")
        self._flush_rows()
        self._seen_tables[name] = entry
        self.contents.rows[name] = self._count
        self._table, self._table_name = None, None

    def _begin_blob(self, info: Any) -> None:
        try:
            blob_id = uuid.UUID(hex=str(info.get("id")))
        except ValueError:
            raise BackupInvalid("a blob of the backup has a bad id") from None
        if blob_id.hex in self._seen_blobs:
            raise BackupInvalid("a blob appears twice in the backup")
        self._blob, self._blob_digest, self._blob_size = blob_id, hashlib.sha256(), 0
        if self._on_blob is not None:
            self._on_blob(blob_id, None)

    def _end_blob(self, info: Any) -> None:
        if self._blob is None:
            raise BackupInvalid("a blob end outside a blob")
        entry = {"size": self._blob_size, "sha256": self._blob_digest.hexdigest()}
        if info != {"id": self._blob.hex, **entry}:
            raise BackupInvalid("a blob does not match its hash")
        self._seen_blobs[self._blob.hex] = entry
        self.contents.blobs += 1
        self.contents.blob_bytes += self._blob_size
        self._blob = None

    def _manifest(self, manifest: Any) -> None:
        if list(self._seen_tables) != self._expected_tables:
            raise BackupInvalid("tables are missing from the backup")
        expected = {
            "tables": self._seen_tables,
            "blobs": self._seen_blobs,
            "stream_sha256": self.reader.stream_hash.hexdigest(),
        }
        if manifest != expected:
            raise BackupInvalid("the backup's manifest does not match its contents")
        self.finished = True

    def end(self) -> None:
        self.reader.finish()
        if not self.finished:
            raise BackupInvalid("the backup is incomplete (no manifest): truncated")


class _Counting(io.RawIOBase):
    """A file that reports how many bytes were read from it (for the progress bar)."""

    def __init__(self, raw: BinaryIO, on_read: Progress) -> None:
        self._raw, self._on_read = raw, on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._on_read(len(data))
        return len(data)


def _decrypt(
    path: Path, identities: list[age.Identity], checker: _Checker, on_read: Progress | None
) -> None:
    with path.open("rb") as raw:
        source = io.BufferedReader(_Counting(raw, on_read or (lambda _n: None)), 1024 * 1024)
        try:
            age.decrypt_io(source, checker.reader, identities)
        except age.DecryptFailed as exc:
            if checker.reader.error is not None:
                raise checker.reader.error from None
            if exc.wrong_key:
                raise BackupInvalid("this identity cannot open the backup (wrong key)") from None
            raise BackupInvalid("the backup is damaged or was altered: decryption failed") from None
    checker.end()


def verify_backup(
    path: Path, identities: list[age.Identity], *, on_read: Progress | None = None
) -> Contents:
    """Decrypt and check the whole backup; its contents, or BackupInvalid. `on_read(n)` is
    told of each n bytes of the file read (a progress bar's advance)."""
    checker = _Checker()
    _decrypt(path, identities, checker, on_read)
    return checker.contents


def code_head() -> str:
    """The newest schema revision of this Haven."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations")
    return head


def _check_empty(conn: Connection) -> None:
    for table in tables():
        if table.name in SEEDED or table.name == "alembic_version":
            continue
        if conn.execute(select(func.count()).select_from(table)).scalar_one():
            raise TargetNotEmpty(
                f"the database already holds data (table {table.name}): restore only into "
                "an empty database"
            )


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: each serial/identity column continues after the restored ids."""
    if conn.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself
    for table in tables():
        column = table.autoincrement_column
        if column is None:
            continue
        highest = conn.execute(select(func.max(column))).scalar()
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence(:t, :c), :n, false)"),
            {"t": table.name, "c": column.name, "n": (highest or 0) + 1},
        )


def restore_backup(
    path: Path,
    identities: list[age.Identity],
    *,
    database_url: str,
    blob_dir: Path,
    on_read: Progress | None = None,
) -> Contents:
    """Restore into an empty database (created or migrated here) and an empty blob folder."""
    if blob_dir.exists() and any(
        p for p in blob_dir.iterdir() if not p.name.startswith(".restore-")
    ):
        raise TargetNotEmpty(f"the blob folder {blob_dir} is not empty")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            existing = set(inspect(conn).get_table_names())
        if existing - {"alembic_version"} and "alembic_version" not in existing:
            raise TargetNotEmpty("the database holds tables that are not Haven's")
        upgrade(database_url)
        with engine.begin() as conn:
            _check_empty(conn)
        blob_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = blob_dir / f".restore-{uuid.uuid4().hex}"
        staging.mkdir(mode=0o700)
        try:
            contents = _restore_into(engine, path, identities, staging, on_read)
            for item in staging.iterdir():
                item.rename(blob_dir / item.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        engine.dispose()
    return contents


def _restore_into(
    engine: Any,
    path: Path,
    identities: list[age.Identity],
    staging: Path,
    on_read: Progress | None,
) -> Contents:
    open_blob: dict[str, Any] = {}

    with engine.begin() as conn:
        for name in SEEDED:
            conn.execute(next(t for t in tables() if t.name == name).delete())

        def rows(table: Table, batch: list[dict[str, Any]]) -> None:
            conn.execute(insert(table), batch)

        def blob(blob_id: uuid.UUID, piece: bytes | None) -> None:
            if piece is None:
                _close(open_blob)
                fd = os.open(staging / blob_id.hex, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                open_blob["fh"] = os.fdopen(fd, "wb")
            else:
                open_blob["fh"].write(piece)

        checker = _Checker(on_rows=rows, on_blob=blob, require_revision=code_head())
        try:
            _decrypt(path, identities, checker, on_read)
        finally:
            _close(open_blob)
        _reset_sequences(conn)
    return checker.contents


def _close(open_blob: dict[str, Any]) -> None:
    fh = open_blob.pop("fh", None)
    if fh is not None:
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
