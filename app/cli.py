"""`haven`: the operator's command line. Each command is small; the work is in services."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.audit.cli import audit_cli
from app.config import SealMode, Settings, SettingsError, load_settings

cli = typer.Typer(
    name="haven",
    help="Haven: secure case management. Settings come from HAVEN_* environment variables.",
    no_args_is_help=True,
    add_completion=False,
)
cli.add_typer(audit_cli, name="audit")
out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[bold red]Invalid settings:[/]\n{exc}")
        raise typer.Exit(2) from None


def _warn_dev_mode() -> None:
    err.print(
        "[bold yellow]WARNING: dev seal mode.[/] The root key sits in a file beside the data; "
        "anyone with this disk can read every case. Never use it for real people."
    )


@cli.command()
def init(
    seal_mode: Annotated[
        SealMode | None, typer.Option(help="How the root key is protected (default: setting).")
    ] = None,
) -> None:
    """Create the schema (Alembic upgrade head) and the root key."""
    from app.crypto.keyring import create_dev_key_file
    from app.migrate import upgrade

    settings = _settings()
    mode = seal_mode or settings.seal_mode
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True, mode=0o700
        )
    upgrade(settings.database_url)
    out.print("Schema is at the latest migration.")
    if mode is SealMode.DEV:
        if settings.key_file.exists():
            out.print(f"Dev root key already at {settings.key_file}; left as it is.")
        else:
            create_dev_key_file(settings.key_file)
            out.print(f"Dev root key written to {settings.key_file} (mode 0600).")
        _warn_dev_mode()
    else:
        err.print(f"[red]Seal mode {mode.value} needs the keyring work; not available yet.[/]")
        raise typer.Exit(2)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the service (unsealed at start only in dev mode)."""
    import uvicorn

    from app.crypto.keyring import Keyring, read_dev_key_file
    from app.main import create_app

    settings = _settings()
    keyring = Keyring()
    if settings.seal_mode is SealMode.DEV:
        _warn_dev_mode()
        keyring.unseal_with_root(read_dev_key_file(settings.key_file))
    app = create_app(settings, keyring=keyring)
    out.print(f"Haven on http://{host}:{port}/  (health: /api/v1/sys/health)")
    uvicorn.run(app, host=host, port=port, access_log=False, server_header=False)


@cli.command()
def demo() -> None:
    """Load synthetic demo data (invented people only). Safe to run twice."""
    _settings()
    out.print("Demo data: nothing to load yet.")


def main() -> None:
    """Entry point of the `haven` script."""
    try:
        cli()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
