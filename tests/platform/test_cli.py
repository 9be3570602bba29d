"""The `haven` command: help for every command, init builds the schema and a 0600 dev key."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from app.cli import cli
from app.db import make_engine

runner = CliRunner()


@pytest.mark.parametrize("command", ["init", "serve", "demo"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "HAVEN_DATABASE_URL": f"sqlite:///{tmp_path}/var/haven.db",
        "HAVEN_KEY_FILE": str(tmp_path / "var" / "dev-root.key"),
        "HAVEN_BLOB_DIR": str(tmp_path / "var" / "blobs"),
        "HAVEN_SEAL_MODE": "dev",
    }


def test_init_creates_schema_and_private_dev_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in _env(tmp_path).items():
        monkeypatch.setenv(k, v)
    result = runner.invoke(cli, ["init", "--seal-mode", "dev"])
    assert result.exit_code == 0, result.output
    key = tmp_path / "var" / "dev-root.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_bytes()) == 32
    engine = make_engine(f"sqlite:///{tmp_path}/var/haven.db")
    assert "audit_entries" in inspect(engine).get_table_names()
    engine.dispose()
    # Idempotent: a second init keeps the key it made.
    before = key.read_bytes()
    assert runner.invoke(cli, ["init", "--seal-mode", "dev"]).exit_code == 0
    assert key.read_bytes() == before


def test_bad_setting_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_SEAL_MODE", "none")
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 2
    assert "HAVEN_SEAL_MODE" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_answers_health(tmp_path: Path) -> None:
    env = {**os.environ, **_env(tmp_path), "HAVEN_SECURE_COOKIES": "0"}
    haven = str(Path(sys.executable).parent / "haven")
    subprocess.run([haven, "init", "--seal-mode", "dev"], env=env, check=True, cwd=tmp_path)
    port = _free_port()
    # As a context manager, so the output pipe is closed once the server has stopped.
    with subprocess.Popen(
        [haven, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as proc:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/api/v1/sys/health", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.2)
            assert r.json() == {"status": "ok", "sealed": False, "database": "ok"}
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_demo_refuses_a_real_installation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_SEAL_MODE", "passphrase")
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 2
    assert "only in dev seal mode" in result.output
