"""Shared by `haven` commands: their help, and what they check before they start, so that
every start-up problem is one line naming the setting to fix (never a traceback): the
settings themselves, the database the URL points at (reachable, holding Haven's schema), the
dev root key and the address to listen on."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import NoReturn

import typer
from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from app.config import SealMode, Settings, SettingsError, load_settings
from app.db import make_engine

# The longest driver message quoted in a start-up line; past it the line stays readable.
_REASON_MAX = 200


def command_group(help_text: str, *, name: str | None = None) -> typer.Typer:
    """A Typer group with Click's plain help: Typer's rich help shows a `<bool>` value after
    flags such as `--json`, which take none."""
    return typer.Typer(
        name=name,
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        add_completion=False,
    )


def fail(line: str, code: int = 2) -> NoReturn:
    """Print one line on stderr and stop the command with `code`."""
    typer.echo(f"haven: {line}", err=True)
    raise typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings, or one line per bad setting (exit 2)."""
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo("\n".join(f"haven: {line}" for line in str(exc).splitlines()), err=True)
        raise typer.Exit(2) from None


def sqlite_path(url: str) -> Path | None:
    """The absolute file of a SQLite URL (None for any other database)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).resolve()


def describe_database_error(settings: Settings, exc: SQLAlchemyError) -> str:
    """One line for a failure to reach or use the database, naming HAVEN_DATABASE_URL."""
    orig = getattr(exc, "orig", None)
    reason = " ".join(str(orig if orig is not None else exc).split())
    reason = reason.removeprefix("connection failed: ")
    if len(reason) > _REASON_MAX:
        reason = reason[: _REASON_MAX - 1] + "…"
    path = sqlite_path(settings.database_url)
    if path is not None:
        return f"HAVEN_DATABASE_URL: cannot open the SQLite database {path} ({reason})"
    # Driver messages name host, port, database and user, never the password.
    return f"HAVEN_DATABASE_URL: cannot use the database ({reason})"


def _missing_database(path: Path) -> str:
    return (
        f"HAVEN_DATABASE_URL: no database at {path} (relative paths start from the current "
        f"folder, {Path.cwd()}): run haven from the folder that holds var/, set "
        "HAVEN_DATABASE_URL to an absolute path, or run `haven init` to create one"
    )


def engine_or_exit(settings: Settings, *, create: bool = False) -> Engine:
    """An engine on a database that answers and (unless `create`) holds Haven's schema."""
    path = sqlite_path(settings.database_url)
    if path is not None:
        if path.is_dir():
            fail(f"HAVEN_DATABASE_URL: {path} is a folder, not a database file")
        if not create and not path.exists():
            # SQLite would make an empty file here and every command would then fail oddly.
            fail(_missing_database(path))
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            has_schema = inspect(conn).has_table("alembic_version")
    except SQLAlchemyError as exc:
        engine.dispose()
        fail(describe_database_error(settings, exc))
    if not create and not has_schema:
        engine.dispose()
        fail(
            "HAVEN_DATABASE_URL: the database holds no Haven schema: run `haven init` "
            "(or point the setting at the installation's database)"
        )
    return engine


def dev_key_or_exit(settings: Settings) -> None:
    """In dev seal mode, stop with one line when the root key file is missing or unusable."""
    if settings.seal_mode is not SealMode.DEV:
        return
    path = settings.key_file.resolve()
    if not path.is_file():
        fail(
            f"HAVEN_KEY_FILE: no dev root key at {path} (relative paths start from the "
            f"current folder, {Path.cwd()}): run `haven init` or set HAVEN_KEY_FILE"
        )
    if path.stat().st_mode & 0o077:
        fail(f"HAVEN_KEY_FILE: {path} is readable by others; chmod 600 it")


def port_or_exit(host: str, port: int) -> None:
    """Stop with one line when the address to listen on is taken or not ours."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        fail(f"--host {host}: not an address to listen on ({exc.strerror or exc})")
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            fail(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})")


def unexpected(exc: BaseException) -> NoReturn:
    """The last resort of `haven`: one line, and the traceback only when asked for."""
    if os.environ.get("HAVEN_LOG_LEVEL", "").upper() == "DEBUG":
        raise exc
    if isinstance(exc, SQLAlchemyError):
        try:
            settings = load_settings()
        except SettingsError:  # pragma: no cover - settings were checked before any work
            fail(f"database error: {type(exc).__name__}", 1)
        fail(describe_database_error(settings, exc), 1)
    fail(
        f"stopped by an unexpected {type(exc).__name__} (HAVEN_LOG_LEVEL=DEBUG shows the "
        "traceback)",
        1,
    )
