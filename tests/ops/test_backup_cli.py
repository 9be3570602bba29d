"""`haven backup keygen | create | verify | restore` as an operator runs them (CliRunner, the
same entry point as the `haven` script): a dev installation on SQLite backed up and
restored into a second database of the backend under test, whose audit log verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.audit.checkpoints import verifier_key
from app.audit.verify import verify_log
from app.cli import cli
from app.crypto.keyring import Keyring, read_dev_key_file
from app.db import make_engine, make_sessionmaker, transaction
from tests.conftest import new_database

runner = CliRunner()


def _audit_intact(url: str, key_file: Path) -> bool:
    """What `haven audit verify` checks, on an engine this test disposes of."""
    engine = make_engine(url)
    keyring = Keyring()
    keyring.unseal_with_root(read_dev_key_file(key_file))
    try:
        with transaction(make_sessionmaker(engine)) as session:
            key = verifier_key(keyring, "haven.test/audit")
            report = verify_log(session, keys=[key], origin="haven.test/audit")
        return report.ok and report.entries + report.pending > 0  # sequenced or not yet
    finally:
        engine.dispose()


def _use(monkeypatch: pytest.MonkeyPatch, url: str, var: Path) -> None:
    monkeypatch.setenv("HAVEN_DATABASE_URL", url)
    monkeypatch.setenv("HAVEN_KEY_FILE", str(var / "dev-root.key"))
    monkeypatch.setenv("HAVEN_BLOB_DIR", str(var / "blobs"))
    monkeypatch.setenv("HAVEN_SEAL_MODE", "dev")
    monkeypatch.setenv("HAVEN_AUDIT_ORIGIN", "haven.test/audit")


def test_backup_commands_round_trip(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    _use(monkeypatch, f"sqlite:///{var}/haven.db", var)
    assert runner.invoke(cli, ["init", "--seal-mode", "dev"]).exit_code == 0

    identity = tmp_path / "backup-identity.txt"
    made = runner.invoke(cli, ["backup", "keygen", str(identity)])
    assert made.exit_code == 0, made.output
    assert identity.stat().st_mode & 0o777 == 0o600
    public = made.output.strip().splitlines()[-1]
    assert public.startswith("age1")
    assert "AGE-SECRET-KEY" not in made.output
    again = runner.invoke(cli, ["backup", "keygen", str(identity)])
    assert again.exit_code == 2, "an identity is never overwritten"

    recipients = tmp_path / "recipients.txt"
    recipients.write_text(f"# the office's offline key\n{public}\n")
    out = tmp_path / "nightly.age"
    created = runner.invoke(
        cli, ["backup", "create", str(out), "--recipient-file", str(recipients), "--quiet"]
    )
    assert created.exit_code == 0, created.output
    assert "Backup written" in created.output
    bad_recipient = runner.invoke(
        cli, ["backup", "create", str(tmp_path / "x.age"), "--recipient", "age1nope"]
    )
    assert bad_recipient.exit_code == 2
    assert "not an age public key" in bad_recipient.output

    verified = runner.invoke(cli, ["backup", "verify", str(out), "--identity", str(identity)])
    assert verified.exit_code == 0, verified.output
    assert "Backup intact" in verified.output

    damaged = tmp_path / "damaged.age"
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x40
    damaged.write_bytes(bytes(data))
    refused = runner.invoke(cli, ["backup", "verify", str(damaged), "--identity", str(identity)])
    assert refused.exit_code == 1
    assert "REFUSED" in refused.output
    assert "Traceback" not in refused.output

    target = new_database(backend, tmp_path)
    try:
        restored_var = tmp_path / "restored"
        _use(monkeypatch, target.url, restored_var)
        # The same dev root key: the restored keyring is the original's.
        monkeypatch.setenv("HAVEN_KEY_FILE", str(var / "dev-root.key"))
        refused = runner.invoke(
            cli, ["backup", "restore", str(damaged), "--identity", str(identity), "--quiet"]
        )
        assert refused.exit_code == 1
        assert "nothing restored" in refused.output
        restored = runner.invoke(
            cli, ["backup", "restore", str(out), "--identity", str(identity), "--quiet"]
        )
        assert restored.exit_code == 0, restored.output
        assert _audit_intact(target.url, var / "dev-root.key")
        twice = runner.invoke(
            cli, ["backup", "restore", str(out), "--identity", str(identity), "--quiet"]
        )
        assert twice.exit_code == 2
        assert "empty database" in twice.output
    finally:
        target.drop()
