"""Encrypted backups: a round trip on either database into either database gives the same
rows, the same blobs and an audit log that verifies, and the restored service reads every
case and document; a flipped byte anywhere, a truncation or a wrong key is refused by verify
and by restore, and a refused restore writes nothing; the snapshot is consistent while the
service writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.backup import age
from app.backup.create import create_backup
from app.backup.frames import BackupInvalid
from app.backup.restore import TargetNotEmpty, restore_backup, verify_backup
from app.cases.models import Case
from app.db import transaction
from tests.conftest import BACKENDS
from tests.ops.conftest import (
    Installation,
    blob_hashes,
    install,
    reads_everything,
    table_rows,
)

KeyPair = tuple[age.Identity, age.Recipient]


def backup_of(source: Installation, tmp_path: Path, recipient: age.Recipient) -> Path:
    out = tmp_path / "haven.age"
    create_backup(
        database_url=source.url, blob_dir=source.blob_dir, out=out, recipients=[recipient]
    )
    return out


@pytest.mark.parametrize("target_backend", BACKENDS)
def test_round_trip_gives_the_same_data_and_a_verifying_audit_log(
    source: Installation, tmp_path: Path, key_pair: KeyPair, target_backend: str
) -> None:
    identity, recipient = key_pair
    before = source.verify_audit()
    assert before.ok
    with source.engine.connect() as conn:
        original = table_rows(conn)
    out = backup_of(source, tmp_path, recipient)

    contents = verify_backup(out, [identity])
    assert contents.rows == {name: len(rows) for name, rows in original.items()}
    assert contents.blobs == 3

    target = install(target_backend, tmp_path / "target", source.root, migrate=False)
    try:
        restore_backup(out, [identity], database_url=target.url, blob_dir=target.blob_dir)
        with target.engine.connect() as conn:
            assert table_rows(conn) == original
        assert blob_hashes(target.blob_dir) == blob_hashes(source.blob_dir)
        after = target.verify_audit()
        assert after.ok, after.findings
        assert (after.entries, after.root, after.checkpoints) == (
            before.entries,
            before.root,
            before.checkpoints,
        )
        # The restored service reads every case and document, and goes on writing: new
        # ids continue after the restored ones, and the log still verifies.
        assert reads_everything(target) == 3
        assert target.verify_audit().ok
        with target.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Case)).scalar() == 3
    finally:
        target.engine.dispose()
        target.db.drop()


def test_sqlite_backup_restores_into_postgresql(
    tmp_path: Path, key_pair: KeyPair, root: bytes
) -> None:
    """The move from a laptop to a server (also covered by the matrix above, stated here)."""
    from tests.ops.conftest import populate

    identity, recipient = key_pair
    laptop = install("sqlite", tmp_path / "laptop", root)
    populate(laptop, cases=2)
    out = backup_of(laptop, tmp_path, recipient)
    server = install("postgresql", tmp_path / "server", root, migrate=False)
    try:
        restore_backup(out, [identity], database_url=server.url, blob_dir=server.blob_dir)
        with laptop.engine.connect() as a, server.engine.connect() as b:
            assert table_rows(a) == table_rows(b)
        assert server.verify_audit().ok
        assert reads_everything(server) == 2
    finally:
        laptop.engine.dispose()
        server.engine.dispose()
        server.db.drop()


def flipped(path: Path, position: int) -> Path:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    bad = path.with_name(f"flipped-{position}.age")
    bad.write_bytes(bytes(data))
    return bad


def test_a_flipped_byte_anywhere_is_refused_and_restore_writes_nothing(
    source: Installation, tmp_path: Path, key_pair: KeyPair
) -> None:
    identity, recipient = key_pair
    out = backup_of(source, tmp_path, recipient)
    size = out.stat().st_size
    positions = sorted(
        {0, 20, 60, 150, 1000, size // 3, size // 2, size - 200, size - 17, size - 1}
    )
    target = install(source.db.backend, tmp_path / "target", source.root, migrate=False)
    try:
        for position in positions:
            bad = flipped(out, position)
            with pytest.raises(BackupInvalid):
                verify_backup(bad, [identity])
            with pytest.raises(BackupInvalid):
                restore_backup(bad, [identity], database_url=target.url, blob_dir=target.blob_dir)
            with target.engine.connect() as conn:
                for table in ("cases", "users", "audit_entries", "data_keys", "documents"):
                    count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
                    assert count == 0, (position, table)
            assert not list(target.blob_dir.iterdir()), position
        # The intact file still restores into the same (still empty) target.
        restore_backup(out, [identity], database_url=target.url, blob_dir=target.blob_dir)
        assert target.verify_audit().ok
    finally:
        target.engine.dispose()
        target.db.drop()


def test_truncation_and_a_wrong_key_are_refused(
    source: Installation, tmp_path: Path, key_pair: KeyPair
) -> None:
    identity, recipient = key_pair
    out = backup_of(source, tmp_path, recipient)
    data = out.read_bytes()
    for keep in (len(data) - 1, len(data) - 70_000, len(data) // 2, 100):
        cut = tmp_path / f"cut-{keep}.age"
        cut.write_bytes(data[:keep])
        with pytest.raises(BackupInvalid):
            verify_backup(cut, [identity])
    stranger = age.identity(age.generate()[0])
    with pytest.raises(BackupInvalid, match="wrong key"):
        verify_backup(out, [stranger])


def test_restore_refuses_a_database_or_blob_folder_that_holds_data(
    source: Installation, tmp_path: Path, key_pair: KeyPair
) -> None:
    identity, recipient = key_pair
    out = backup_of(source, tmp_path, recipient)
    with pytest.raises(TargetNotEmpty):
        restore_backup(out, [identity], database_url=source.url, blob_dir=tmp_path / "empty")
    busy = tmp_path / "busy-blobs"
    busy.mkdir()
    (busy / "something").write_bytes(b"x")
    target = install(source.db.backend, tmp_path / "target", source.root, migrate=False)
    try:
        with pytest.raises(TargetNotEmpty):
            restore_backup(out, [identity], database_url=target.url, blob_dir=busy)
    finally:
        target.engine.dispose()
        target.db.drop()


def test_the_snapshot_is_consistent_while_the_service_writes(
    source: Installation, tmp_path: Path, key_pair: KeyPair
) -> None:
    """A case created after the backup began is not in it, on either database, and the
    writer was not blocked by the backup (it committed while the snapshot was open)."""
    identity, recipient = key_pair
    from tests.factories import make_case, make_team

    with source.engine.connect() as conn:
        cases_before = conn.execute(select(func.count()).select_from(Case)).scalar()

    def write_meanwhile(_plan: object) -> None:
        with transaction(source.factory) as s:
            s.info["keyring"] = source.keyring
            make_case(
                s,
                keyring=source.keyring,
                team=make_team(s, "Written during the backup"),
                values={"legal_name": "Synthetic Late"},
            )

    out = tmp_path / "during.age"
    create_backup(
        database_url=source.url,
        blob_dir=source.blob_dir,
        out=out,
        recipients=[recipient],
        on_plan=write_meanwhile,
    )
    contents = verify_backup(out, [identity])
    assert contents.rows["cases"] == cases_before
    with source.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Case)).scalar() == cases_before + 1


def test_backups_are_private_and_never_overwritten(
    source: Installation, tmp_path: Path, key_pair: KeyPair
) -> None:
    _identity, recipient = key_pair
    out = backup_of(source, tmp_path, recipient)
    assert out.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        backup_of(source, tmp_path, recipient)
    assert not list(tmp_path.glob("*.part"))
    # Nothing readable inside: no name, no file body, no table name in the clear.
    data = out.read_bytes()
    assert data.startswith(b"age-encryption.org/v1\n")
    for needle in (b"Synthetic", b"audit_entries", b"haven-backup", b"%PDF"):
        assert needle not in data


def test_a_backup_of_another_schema_revision_verifies_but_does_not_restore(
    source: Installation, tmp_path: Path, key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newer Haven still checks an older backup; restoring it needs the Haven version that
    made it (then upgrade), and a refused restore writes nothing."""
    from app.backup import restore

    identity, recipient = key_pair
    out = backup_of(source, tmp_path, recipient)
    monkeypatch.setattr(restore, "code_head", lambda: "9999_future")
    assert verify_backup(out, [identity]).rows["cases"] == 3
    target = install(source.db.backend, tmp_path / "target", source.root, migrate=False)
    try:
        with pytest.raises(BackupInvalid, match="schema revision"):
            restore_backup(out, [identity], database_url=target.url, blob_dir=target.blob_dir)
        with target.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Case)).scalar() == 0
    finally:
        target.engine.dispose()
        target.db.drop()
