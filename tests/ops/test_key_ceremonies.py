"""Key ceremonies: a passphrase change re-wraps the same root; a root rotation moves blind
indexes, TOTP secrets and KEKs under a new root in one transaction (the old secret, the old
shares and the old root then open nothing; every case, document and checkpoint still reads
and verifies); an interrupted rotation changed nothing; each is audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.audit.checkpoints import take_checkpoint, trusted_keys, verifier_key
from app.audit.models import AuditEntry
from app.audit.verify import verify_log
from app.cases.models import Case, CaseIndex
from app.cases.record import case_key, index_values, read
from app.cli import cli
from app.config import SealMode
from app.crypto.errors import UnsealRejected
from app.crypto.keyring import Keyring
from app.crypto.system_keys import open_totp_secret
from app.db import transaction
from app.system.key_ceremonies import (
    CeremonyRefused,
    NewProtection,
    change_passphrase,
    rotate_root,
)
from app.users.models import User
from tests.ops.conftest import (
    CHEAP,
    ORIGIN,
    PASSPHRASE,
    Installation,
    install,
    populate,
    reads_everything,
    table_rows,
)

NEW_PASSPHRASE = "a brand new passphrase for tests"


@pytest.fixture
def guarded(backend: str, tmp_path: Path, root: bytes) -> Iterator[Installation]:
    """A populated installation sealed with PASSPHRASE."""
    inst = install(backend, tmp_path / "guarded", root)
    populate(inst, cases=3, mode=SealMode.PASSPHRASE)
    yield inst
    inst.engine.dispose()
    inst.db.drop()


def unsealed_with(inst: Installation, *secrets: str) -> Keyring:
    keyring = Keyring()
    with transaction(inst.factory) as s:
        for secret in secrets:
            keyring.submit_unseal_key(s, secret)
    assert not keyring.sealed
    return keyring


def refused(inst: Installation, *secrets: str) -> None:
    keyring = Keyring()
    with transaction(inst.factory) as s:
        for secret in secrets[:-1]:
            keyring.submit_unseal_key(s, secret)
        with pytest.raises(UnsealRejected):
            keyring.submit_unseal_key(s, secrets[-1])
    assert keyring.sealed


def actions(inst: Installation) -> list[str]:
    with transaction(inst.factory) as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def totp_secrets(inst: Installation, keyring: Keyring) -> dict[str, str]:
    with transaction(inst.factory) as s:
        return {
            u.email: open_totp_secret(keyring, user_id=u.id, sealed=u.totp_secret)
            for u in s.scalars(select(User).where(User.totp_secret.is_not(None)))
            if u.totp_secret is not None
        }


def indexes_match(inst: Installation, keyring: Keyring) -> bool:
    with transaction(inst.factory) as s:
        for case in s.scalars(select(Case)):
            fields = read(case, case_key(s, keyring=keyring, case=case))
            stored = {
                (r.field, r.value)
                for r in s.scalars(select(CaseIndex).where(CaseIndex.case_id == case.id))
            }
            if stored != index_values(keyring, fields):
                return False
    return True


def test_a_passphrase_change_rewraps_the_root_and_is_audited(guarded: Installation) -> None:
    with pytest.raises(UnsealRejected):
        change_passphrase(guarded.factory, current="not the passphrase!", new=NEW_PASSPHRASE)
    unsealed_with(guarded, PASSPHRASE)  # nothing changed
    change_passphrase(guarded.factory, current=PASSPHRASE, new=NEW_PASSPHRASE, argon2=CHEAP)
    refused(guarded, PASSPHRASE)
    keyring = unsealed_with(guarded, NEW_PASSPHRASE)
    assert reads_everything(guarded, keyring) == 3
    assert "sys.passphrase_changed" in actions(guarded)
    with pytest.raises(ValueError, match="at least 12"):
        change_passphrase(guarded.factory, current=NEW_PASSPHRASE, new="short")


def test_a_root_rotation_moves_everything_under_the_new_root(guarded: Installation) -> None:
    old = unsealed_with(guarded, PASSPHRASE)
    secrets_before = totp_secrets(guarded, old)
    with guarded.engine.connect() as conn:
        before = table_rows(conn)
    progress: list[tuple[int, int]] = []
    report = rotate_root(
        guarded.factory,
        old=old,
        protection=NewProtection(SealMode.PASSPHRASE, NEW_PASSPHRASE, argon2=CHEAP),
        origin=ORIGIN,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    assert old.sealed
    assert (report.cases, report.unreadable_cases, report.keks) == (3, 0, 1)
    assert report.accounts == len(secrets_before) > 0
    assert progress[-1][0] == progress[-1][1] == 3 + report.accounts + 1
    refused(guarded, PASSPHRASE)
    new = unsealed_with(guarded, NEW_PASSPHRASE)
    with transaction(guarded.factory) as s, pytest.raises(UnsealRejected):
        Keyring().unseal_verified(s, guarded.root)  # the old root opens nothing
    assert totp_secrets(guarded, new) == secrets_before
    assert indexes_match(guarded, new)
    assert reads_everything(guarded, new) == 3
    with guarded.engine.connect() as conn:
        after = table_rows(conn)
    # Case data, documents and data keys are untouched; the index values all changed.
    for table in ("cases", "documents", "data_keys", "case_revisions", "tasks"):
        assert after[table] == before[table], table
    assert after["case_indexes"] != before["case_indexes"]
    # The checkpoint signed before still verifies (its key is kept), and new ones too.
    with transaction(guarded.factory) as s:
        take_checkpoint(s, keyring=new, origin=ORIGIN)
    with transaction(guarded.factory) as s:
        keys = trusted_keys(s, new, ORIGIN)
        assert len(keys) == 2
        report_after = verify_log(s, keys=keys, origin=ORIGIN)
        assert report_after.ok, report_after.findings
        assert report_after.checkpoints == 2
        alone = verify_log(s, keys=[verifier_key(new, ORIGIN)], origin=ORIGIN)
        assert not alone.ok  # without the retired key the old checkpoint would not verify
    assert "sys.root_rotated" in actions(guarded)


def test_a_reshare_makes_new_shares_and_the_old_ones_open_nothing(guarded: Installation) -> None:
    old = unsealed_with(guarded, PASSPHRASE)
    first = rotate_root(
        guarded.factory,
        old=old,
        protection=NewProtection(SealMode.SHAMIR, shares=3, threshold=2),
        origin=ORIGIN,
    )
    assert len(first.shares) == 3
    middle = unsealed_with(guarded, first.shares[0], first.shares[2])
    second = rotate_root(
        guarded.factory,
        old=middle,
        protection=NewProtection(SealMode.SHAMIR, shares=5, threshold=3),
        origin=ORIGIN,
    )
    assert len(second.shares) == 5
    keyring = unsealed_with(guarded, *second.shares[1:4])
    assert reads_everything(guarded, keyring) == 3
    # The old set is refused (another set), and its root, recombined, is not this one's.
    refused(guarded, first.shares[0])
    import shamir_mnemonic

    old_root = bytes(shamir_mnemonic.combine_mnemonics(first.shares[:2]))
    with transaction(guarded.factory) as s, pytest.raises(UnsealRejected):
        Keyring().unseal_verified(s, old_root)
    # Two new shares and an old one: the old one is refused (threshold is now three).
    refused(guarded, *second.shares[:2], first.shares[1])


def test_an_interrupted_rotation_changes_nothing(guarded: Installation) -> None:
    old = unsealed_with(guarded, PASSPHRASE)
    with guarded.engine.connect() as conn:
        before = table_rows(conn)

    def power_cut(done: int, total: int) -> None:
        if done == total - 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_root(
            guarded.factory,
            old=old,
            protection=NewProtection(SealMode.PASSPHRASE, NEW_PASSPHRASE, argon2=CHEAP),
            origin=ORIGIN,
            on_progress=power_cut,
        )
    with guarded.engine.connect() as conn:
        assert table_rows(conn) == before
    again = unsealed_with(guarded, PASSPHRASE)  # the old secret still works: run it again
    rotate_root(
        guarded.factory,
        old=again,
        protection=NewProtection(SealMode.PASSPHRASE, NEW_PASSPHRASE, argon2=CHEAP),
        origin=ORIGIN,
    )
    assert reads_everything(guarded, unsealed_with(guarded, NEW_PASSPHRASE)) == 3


def test_dev_mode_has_no_root_to_rotate(source: Installation) -> None:
    with pytest.raises(CeremonyRefused):
        rotate_root(
            source.factory,
            old=source.keyring,
            protection=NewProtection(SealMode.PASSPHRASE, NEW_PASSPHRASE),
            origin=ORIGIN,
        )


runner = CliRunner()


def test_the_ceremony_commands(guarded: Installation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_DATABASE_URL", guarded.url)
    monkeypatch.setenv("HAVEN_SEAL_MODE", "passphrase")
    monkeypatch.setenv("HAVEN_BLOB_DIR", str(guarded.blob_dir))
    monkeypatch.setenv("HAVEN_AUDIT_ORIGIN", ORIGIN)
    wrong = runner.invoke(
        cli, ["keys", "passphrase"], input=f"wrong passphrase!\n{NEW_PASSPHRASE}\n"
    )
    assert wrong.exit_code == 1
    assert "wrong" in wrong.output
    changed = runner.invoke(cli, ["keys", "passphrase"], input=f"{PASSPHRASE}\n{NEW_PASSPHRASE}\n")
    assert changed.exit_code == 0, changed.output
    assert NEW_PASSPHRASE not in changed.output
    reshared = runner.invoke(
        cli,
        ["keys", "reshare", "--shares", "4", "--threshold", "2", "--wait", "0"],
        input=f"{NEW_PASSPHRASE}\n",
    )
    assert reshared.exit_code == 0, reshared.output
    shares = [s.strip() for s in re.findall(r"Share \d: ([a-z ]+)", reshared.output)]
    assert len(shares) == 4
    assert "Root key rotated" in reshared.output
    keyring = unsealed_with(guarded, shares[3], shares[0])
    assert reads_everything(guarded, keyring) == 3
    assert actions(guarded).count("sys.sealed") == 1  # every process was told to seal
    # The audit commands unseal from the terminal in shamir mode, and the log (with the
    # checkpoint signed under the old root) verifies.
    monkeypatch.setenv("HAVEN_SEAL_MODE", "shamir")
    verified = runner.invoke(cli, ["audit", "verify"], input=f"{shares[1]}\n{shares[2]}\n")
    assert verified.exit_code == 0, verified.output
    assert "audit log intact" in verified.output
    pubkey = runner.invoke(cli, ["audit", "pubkey"], input=f"{shares[1]}\n{shares[2]}\n")
    assert pubkey.exit_code == 0, pubkey.output
    assert pubkey.output.strip().splitlines()[-1].startswith(ORIGIN + "+")


def test_a_damaged_case_stops_the_rotation_before_anything_changes(guarded: Installation) -> None:
    from app.crypto.ciphertext import Ciphertext

    old = unsealed_with(guarded, PASSPHRASE)
    with transaction(guarded.factory) as s:
        case = s.scalars(select(Case).order_by(Case.id)).first()
        assert case is not None
        assert case.legal_name is not None
        damaged = bytearray(case.legal_name.data)
        damaged[-1] ^= 0x01
        case.legal_name = Ciphertext(bytes(damaged))
        code = case.case_code
    with guarded.engine.connect() as conn:
        before = table_rows(conn)
    with pytest.raises(CeremonyRefused, match=code):
        rotate_root(
            guarded.factory,
            old=old,
            protection=NewProtection(SealMode.PASSPHRASE, NEW_PASSPHRASE, argon2=CHEAP),
            origin=ORIGIN,
        )
    with guarded.engine.connect() as conn:
        assert table_rows(conn) == before
    unsealed_with(guarded, PASSPHRASE)
