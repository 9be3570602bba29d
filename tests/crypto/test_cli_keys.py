"""`haven init` per seal mode, `haven keys rotate` and `haven unseal` from the command line."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.crypto.models import DataKey, KeyEncryptionKey, KeyringState
from app.db import make_engine, make_sessionmaker, transaction

runner = CliRunner()
PASSPHRASE = "a passphrase for a test only"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HAVEN_DATABASE_URL", f"sqlite:///{tmp_path}/var/haven.db")
    monkeypatch.setenv("HAVEN_KEY_FILE", str(tmp_path / "var" / "dev-root.key"))
    monkeypatch.setenv("HAVEN_BLOB_DIR", str(tmp_path / "var" / "blobs"))
    # Production Argon2 cost (64 MiB) is fine here: one derivation per command.
    return tmp_path


def _state(tmp: Path) -> KeyringState | None:
    engine = make_engine(f"sqlite:///{tmp}/var/haven.db")
    with transaction(make_sessionmaker(engine)) as s:
        state = s.get(KeyringState, 1)
    engine.dispose()
    return state


@pytest.mark.parametrize("command", [["unseal"], ["keys", "rotate"], ["init"]])
def test_help(command: list[str]) -> None:
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_init_passphrase_from_stdin_then_rotate(env: Path) -> None:
    result = runner.invoke(cli, ["init", "--seal-mode", "passphrase"], input=PASSPHRASE + "\n")
    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    state = _state(env)
    assert state is not None
    assert state.mode == "passphrase"
    assert state.wrapped_root is not None
    wrong = runner.invoke(cli, ["keys", "rotate"], input="not the passphrase\n")
    assert wrong.exit_code == 1
    assert "The passphrase is wrong." in wrong.output
    right = runner.invoke(cli, ["keys", "rotate"], input=PASSPHRASE + "\n")
    assert right.exit_code == 0, right.output
    assert "Rotated to KEK version 2" in right.output
    assert "Retired versions: 1" in right.output


def test_init_shamir_prints_shares_once_and_they_unseal(env: Path) -> None:
    result = runner.invoke(
        cli, ["init", "--seal-mode", "shamir", "--shares", "3", "--threshold", "2"]
    )
    assert result.exit_code == 0, result.output
    shares = [s.strip() for s in re.findall(r"Share \d: ([a-z ]+)", result.output)]
    assert len(shares) == 3
    assert all(len(s.split()) == 33 for s in shares)  # SLIP-39, 256-bit secret
    engine = make_engine(f"sqlite:///{env}/var/haven.db")
    with transaction(make_sessionmaker(engine)) as s:
        stored = b"".join(
            bytes(v or b"")
            for v in s.execute(select(KeyringState.check_value, KeyringState.wrapped_root)).one()
        )
    engine.dispose()
    assert all(share.encode() not in stored for share in shares)
    one = runner.invoke(cli, ["keys", "rotate"], input=shares[0] + "\n")
    assert one.exit_code == 2  # stdin ran out after one share: K-1 shares do not unseal
    assert "1 of 2 shares entered" in one.output
    both = runner.invoke(cli, ["keys", "rotate"], input=f"{shares[2]}\n{shares[1]}\n")
    assert both.exit_code == 0, both.output


def test_init_refuses_bad_share_counts(env: Path) -> None:
    result = runner.invoke(
        cli, ["init", "--seal-mode", "shamir", "--shares", "2", "--threshold", "3"]
    )
    assert result.exit_code == 2
    assert "threshold" in result.output


def test_init_dev_records_the_key_check_and_rotation_uses_the_key_file(env: Path) -> None:
    assert runner.invoke(cli, ["init", "--seal-mode", "dev"]).exit_code == 0
    assert runner.invoke(cli, ["init", "--seal-mode", "dev"]).exit_code == 0  # idempotent
    assert runner.invoke(cli, ["init", "--seal-mode", "shamir"]).exit_code == 2
    result = runner.invoke(cli, ["keys", "rotate", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{env}/var/haven.db")
    with transaction(make_sessionmaker(engine)) as s:
        assert s.scalars(
            select(KeyEncryptionKey.state).order_by(KeyEncryptionKey.version)
        ).all() == [
            "retired",
            "current",
        ]
        assert s.scalars(select(DataKey)).all() == []
    engine.dispose()


def test_unseal_reports_an_unreachable_service(env: Path) -> None:
    result = runner.invoke(cli, ["unseal", "--url", "http://127.0.0.1:9"], input="some share\n")
    assert result.exit_code == 1
    assert "Cannot reach" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_passphrase_server_starts_sealed_and_haven_unseal_opens_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HAVEN_DATABASE_URL": f"sqlite:///{tmp_path}/var/haven.db",
        "HAVEN_KEY_FILE": str(tmp_path / "var" / "dev-root.key"),
        "HAVEN_BLOB_DIR": str(tmp_path / "var" / "blobs"),
        "HAVEN_SEAL_MODE": "passphrase",
        "HAVEN_SECURE_COOKIES": "0",
    }
    haven = str(Path(sys.executable).parent / "haven")
    subprocess.run([haven, "init"], env=env, input=PASSPHRASE + "\n", text=True,
                   cwd=tmp_path, capture_output=True, timeout=60, check=True)  # fmt: skip
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([haven, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{url}/api/v1/sys/health", timeout=1).json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert health == {"status": "ok", "sealed": True, "database": "ok"}
        assert httpx.get(f"{url}/api/v1/anything").status_code == 503
        bad = subprocess.run([haven, "unseal", "--url", url], env=env, input="wrong one here\n",
                             text=True, capture_output=True, timeout=60, check=False)  # fmt: skip
        assert bad.returncode == 1
        assert "The passphrase is wrong." in bad.stderr + bad.stdout
        good = subprocess.run([haven, "unseal", "--url", url], env=env, input=PASSPHRASE + "\n",
                              text=True, capture_output=True, timeout=60, check=False)  # fmt: skip
        assert good.returncode == 0, good.stderr
        assert "Unsealed." in good.stdout
        assert httpx.get(f"{url}/api/v1/sys/health").json()["sealed"] is False
    finally:
        proc.terminate()
        proc.wait(timeout=10)
