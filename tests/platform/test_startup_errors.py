"""Every start-up failure of a `haven` command is one line naming what to fix, a non-zero exit
and no traceback; `haven --help` of every command shows no value for flags that take none."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from app.cli import cli

HAVEN = str(Path(sys.executable).with_name("haven"))
POSTGRES = os.environ.get("HAVEN_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES, reason="PostgreSQL tests skipped: HAVEN_TEST_POSTGRES_URL is not set"
)


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    base |= {
        "HAVEN_DATABASE_URL": f"sqlite:///{tmp_path}/var/haven.db",
        "HAVEN_KEY_FILE": str(tmp_path / "var" / "dev-root.key"),
        "HAVEN_BLOB_DIR": str(tmp_path / "var" / "blobs"),
    }
    return subprocess.run(
        [HAVEN, *args],
        env=base | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str], *names: str) -> str:
    text = done.stdout + done.stderr
    lines = [line for line in text.splitlines() if line.strip()]
    assert done.returncode != 0, text
    assert len(lines) == 1, text
    for leak in ("Traceback", "╭", 'File "', "sqlalche.me"):
        assert leak not in text, text
    for name in names:
        assert name in lines[0], text
    return lines[0]


def _postgres(database: str | None = None, user: str | None = None) -> str:
    url = make_url(POSTGRES or "postgresql://postgres@127.0.0.1:5432/test")
    if database is not None:
        url = url.set(database=database)
    if user is not None:
        url = url.set(username=user, password="not-the-password")
    return url.render_as_string(hide_password=False)


BAD_URLS = {
    "postgres_scheme": lambda: "postgres://postgres@127.0.0.1:5432/test",
    "unknown_backend": lambda: "mysql://someone@127.0.0.1/haven",
    "unreachable_host": lambda: "postgresql://postgres@127.0.0.1:1/test",
    "sqlite_folder": lambda: "sqlite:////tmp",
    "sqlite_under_a_file": lambda: "sqlite:////etc/hostname/haven.db",
}
BAD_POSTGRES = {
    "missing_database": lambda: _postgres(database="haven_no_such_database_here"),
    "wrong_credentials": lambda: _postgres(user="haven_no_such_role_here"),
}


@pytest.mark.slow
@pytest.mark.parametrize("command", [["init"], ["serve"], ["audit", "verify"]])
@pytest.mark.parametrize("case", sorted(BAD_URLS))
def test_a_bad_database_url_is_one_line(tmp_path: Path, case: str, command: list[str]) -> None:
    done = _run(tmp_path, *command, HAVEN_DATABASE_URL=BAD_URLS[case]())
    _one_line(done, "HAVEN_DATABASE_URL")


@needs_postgres
@pytest.mark.slow
@pytest.mark.parametrize("command", [["init"], ["serve"], ["user", "add", "x@example.invalid",
                                                           "--role", "admin"]])  # fmt: skip
@pytest.mark.parametrize("case", sorted(BAD_POSTGRES))
def test_a_database_that_refuses_is_one_line(tmp_path: Path, case: str, command: list[str]) -> None:
    done = _run(tmp_path, *command, HAVEN_DATABASE_URL=BAD_POSTGRES[case]())
    line = _one_line(done, "HAVEN_DATABASE_URL")
    assert "not-the-password" not in line


def test_a_bad_setting_is_one_line_per_setting(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve", HAVEN_SEAL_MODE="none")
    _one_line(done, "HAVEN_SEAL_MODE")
    done = _run(tmp_path, "init", HAVEN_TRUSTED_PROXIES="the proxy")
    _one_line(done, "HAVEN_TRUSTED_PROXIES")


@pytest.mark.slow
def test_commands_outside_the_checkout_say_which_folder_they_look_in(tmp_path: Path) -> None:
    """The defaults are relative (./var/…): from another folder a command must say so, and
    must not make an empty database there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    for command in (["audit", "verify"], ["serve"], ["retention", "purge"], ["keys", "rotate"]):
        done = subprocess.run(
            [HAVEN, *command], env=env, cwd=elsewhere, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        line = _one_line(done, "HAVEN_DATABASE_URL", str(elsewhere / "var" / "haven.db"))
        assert "folder" in line
    assert list(elsewhere.iterdir()) == []


@pytest.mark.slow
def test_missing_schema_key_file_and_busy_port_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "haven.db").touch()
    _one_line(_run(tmp_path, "serve"), "HAVEN_DATABASE_URL", "haven init")
    (tmp_path / "var" / "haven.db").unlink()
    assert _run(tmp_path, "init").returncode == 0
    (tmp_path / "var" / "dev-root.key").unlink()
    _one_line(_run(tmp_path, "serve"), "HAVEN_KEY_FILE")
    _one_line(_run(tmp_path, "audit", "checkpoint", "--out", "x"), "HAVEN_KEY_FILE")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        _one_line(_run(tmp_path, "serve", "--port", port), "--port")


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(group, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


def test_no_help_shows_a_value_for_a_flag() -> None:
    root = typer.main.get_command(cli)
    commands = _commands(root)
    assert ("user", "add") in commands
    assert ("audit", "verify") in commands
    for path in commands:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
        assert "BOOLEAN" not in result.output, (path, result.output)
    flags = CliRunner().invoke(cli, ["user", "add", "--help"]).output
    assert "--json " in flags
    assert "--password-stdin " in flags
