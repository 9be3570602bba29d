"""`haven audit ...` end to end on a dev-mode SQLite install."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.note import public_verifier_key
from app.cli import cli
from app.db import make_engine, make_sessionmaker, transaction

runner = CliRunner()


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/var/haven.db"
    monkeypatch.setenv("HAVEN_DATABASE_URL", url)
    monkeypatch.setenv("HAVEN_KEY_FILE", str(tmp_path / "var" / "dev-root.key"))
    monkeypatch.setenv("HAVEN_SEAL_MODE", "dev")
    assert runner.invoke(cli, ["init", "--seal-mode", "dev"]).exit_code == 0
    engine = make_engine(url)
    for _ in range(5):
        with transaction(make_sessionmaker(engine)) as s:
            record(s, AuditAction.CASE_READ, on=("case", "HV-1"))
    engine.dispose()
    return url


@pytest.mark.parametrize("command", ["verify", "checkpoint", "prove", "pubkey"])
def test_help(command: str) -> None:
    assert runner.invoke(cli, ["audit", command, "--help"]).exit_code == 0


def test_checkpoint_verify_prove_and_tamper(install: str, tmp_path: Path) -> None:
    cp = tmp_path / "checkpoint.txt"
    result = runner.invoke(cli, ["audit", "checkpoint", "--out", str(cp)])
    assert result.exit_code == 0, result.output
    assert cp.read_text().split("\n")[1] == "5"

    key = tmp_path / "audit.pub"
    result = runner.invoke(cli, ["audit", "pubkey"])
    assert result.exit_code == 0
    key.write_text(result.output)
    assert result.output.startswith("haven.localhost/audit+")

    result = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(cp), "--key", str(key)])
    assert result.exit_code == 0, result.output
    assert "intact: 5 entries" in result.output
    result = runner.invoke(cli, ["audit", "verify", "--deep"])
    assert result.exit_code == 0, result.output

    result = runner.invoke(cli, ["audit", "prove", "3"])
    assert result.exit_code == 0
    assert result.output.startswith("seq 3\ntree size 5\n")
    assert runner.invoke(cli, ["audit", "prove", "9"]).exit_code == 1

    engine = make_engine(install)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_entries_no_update")
        conn.exec_driver_sql(
            "UPDATE audit_entries SET body = replace(body, 'case.read', 'case.updated') "
            "WHERE id = 3"
        )
    engine.dispose()
    for extra in ([], ["--deep"]):
        result = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(cp), *extra])
        assert result.exit_code == 1
        assert "first bad entry: 2" in result.output


def test_verify_with_another_key_fails(install: str, tmp_path: Path) -> None:
    cp = tmp_path / "checkpoint.txt"
    assert runner.invoke(cli, ["audit", "checkpoint", "--out", str(cp)]).exit_code == 0
    stranger = Ed25519PrivateKey.generate()
    other = tmp_path / "other.pub"
    other.write_text(public_verifier_key("haven.localhost/audit", stranger).encode() + "\n")
    result = runner.invoke(cli, ["audit", "verify", "--key", str(other)])
    assert result.exit_code == 1, result.output
    assert "no signature by a trusted key" in result.output
    broken = tmp_path / "broken.pub"
    broken.write_text("haven.localhost/audit+00000000+AQ" + "A" * 42 + "=\n")
    assert runner.invoke(cli, ["audit", "verify", "--key", str(broken)]).exit_code == 2


def test_a_checkpoint_file_that_cannot_be_read_is_named_not_a_traceback(
    install: str, tmp_path: Path
) -> None:
    result = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2
    assert "Cannot read the checkpoint file: FileNotFoundError" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_failure_goes_to_stderr(install: str, tmp_path: Path) -> None:
    """What a script reads from stdout (a checkpoint, a key) never holds an error."""
    result = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(tmp_path / "nope.txt")])
    assert "Cannot read the checkpoint file" in result.stderr
    assert "Cannot read" not in result.stdout


def test_a_passphrase_install_signs_after_the_passphrase_is_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside dev mode the root key is nowhere on disk: signing a checkpoint asks for the
    passphrase (from stdin here), and a wrong one signs nothing."""
    phrase = "a passphrase for a test only"
    monkeypatch.setenv("HAVEN_DATABASE_URL", f"sqlite:///{tmp_path}/var/haven.db")
    monkeypatch.setenv("HAVEN_KEY_FILE", str(tmp_path / "var" / "dev-root.key"))
    monkeypatch.setenv("HAVEN_SEAL_MODE", "passphrase")
    init = runner.invoke(cli, ["init", "--seal-mode", "passphrase"], input=phrase + "\n")
    assert init.exit_code == 0, init.output
    cp = tmp_path / "checkpoint.txt"
    wrong = runner.invoke(cli, ["audit", "checkpoint", "--out", str(cp)], input="not it\n")
    assert wrong.exit_code == 1
    assert not cp.exists()
    right = runner.invoke(cli, ["audit", "checkpoint", "--out", str(cp)], input=phrase + "\n")
    assert right.exit_code == 0, right.output
    key = runner.invoke(cli, ["audit", "pubkey"], input=phrase + "\n").stdout.strip()
    key_file = tmp_path / "audit.pub"
    key_file.write_text(key.splitlines()[-1] + "\n")
    verified = runner.invoke(
        cli, ["audit", "verify", "--checkpoint", str(cp), "--key", str(key_file)]
    )
    assert verified.exit_code == 0, verified.output


def test_an_unreadable_key_file_is_named_not_a_traceback(install: str, tmp_path: Path) -> None:
    """A dev root key file cut short, or a verifier key file that holds no key: the command
    says which file it could not read, on stderr, and exits 2."""
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("not a key\n")
    result = runner.invoke(cli, ["audit", "verify", "--key", str(garbage)])
    assert result.exit_code == 2
    assert result.stderr.startswith("Cannot read the verifier key: ")
    key_file = Path(os.environ["HAVEN_KEY_FILE"])
    key_file.write_bytes(b"short")
    result = runner.invoke(cli, ["audit", "checkpoint", "--out", str(tmp_path / "cp.txt")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Cannot read the dev root key: ")
