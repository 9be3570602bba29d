"""What Haven writes to disk is readable by its own user only: the SQLite database and its
-wal/-shm/-journal files, the blob folder and every blob, whatever the process umask."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db import make_engine
from app.documents.blobs import BlobStore

HAVEN = str(Path(sys.executable).with_name("haven"))


@pytest.fixture(params=[0o000, 0o022])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under a permissive umask (and the usual one), then put it back."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_sqlite_database_and_its_side_files_are_private(tmp_path: Path, umask: int) -> None:
    db = tmp_path / "haven.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('invented')"))
            conn.commit()
            side = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert all(p.exists() for p in side)
            assert {p.name: _mode(p) for p in side} == {p.name: 0o600 for p in side}
    finally:
        engine.dispose()


def test_a_rollback_journal_is_private_too(tmp_path: Path, umask: int) -> None:
    import sqlite3

    db = tmp_path / "journal.db"
    make_engine(f"sqlite:///{db}").dispose()  # creates the file as Haven would
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES ('invented')")
        journal = Path(f"{db}-journal")
        assert journal.exists()
        assert _mode(journal) == 0o600
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "haven.db"
    for name in ("haven.db", "haven.db-wal", "haven.db-shm"):
        (tmp_path / name).touch()
        (tmp_path / name).chmod(0o644)
    make_engine(f"sqlite:///{db}").dispose()
    for name in ("haven.db", "haven.db-wal", "haven.db-shm"):
        assert _mode(tmp_path / name) == 0o600, name


def test_the_blob_folder_and_blobs_are_private(tmp_path: Path, umask: int) -> None:
    store = BlobStore(tmp_path / "var" / "blobs")
    assert _mode(tmp_path / "var" / "blobs") == 0o700
    writer = store.create()
    part = store.path(writer.blob_id).with_suffix(".part")
    assert _mode(part) == 0o600  # private while it is being written, too
    writer.write(os.urandom(64))  # stands in for sealed bytes: only the mode is at stake
    writer.commit()
    assert _mode(store.path(writer.blob_id)) == 0o600
    # A folder that others can read (restored by hand, say) is closed when the store opens.
    (tmp_path / "var" / "blobs").chmod(0o755)
    BlobStore(tmp_path / "var" / "blobs")
    assert _mode(tmp_path / "var" / "blobs") == 0o700


@pytest.mark.slow
def test_haven_init_leaves_nothing_readable_by_others(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    done = subprocess.run(
        ["/bin/sh", "-c", f"umask 022 && exec {HAVEN} init --seal-mode dev"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    var = tmp_path / "var"
    assert _mode(var) == 0o700
    found = {p.name: _mode(p) for p in var.iterdir()}
    assert found["haven.db"] == 0o600
    assert found["dev-root.key"] == 0o600
    assert all(mode & 0o077 == 0 for mode in found.values()), found
