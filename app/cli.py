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
    from app.db import make_engine, make_sessionmaker, transaction
    from app.users.demo import ensure_demo_accounts

    settings = _settings()
    engine = make_engine(settings.database_url)
    with transaction(make_sessionmaker(engine)) as db:
        accounts = ensure_demo_accounts(db)
    engine.dispose()
    out.print("Demo sign-ins (invented accounts; passwords and TOTP keys are shown only once):")
    # Plain echo, not rich: a wrapped line would break a password in two.
    for acc in accounts:
        if acc.created:
            typer.echo(
                f"  {acc.role.value:<12} {acc.email}  password: {acc.password}  "
                f"TOTP key: {acc.totp_secret}"
            )
        else:
            typer.echo(f"  {acc.role.value:<12} {acc.email}  already present")


user_cli = typer.Typer(help="Accounts.", no_args_is_help=True)
cli.add_typer(user_cli, name="user")


@user_cli.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    role: Annotated[str, typer.Option(help="admin, coordinator, caseworker, volunteer, auditor.")],
    team: Annotated[
        list[str] | None, typer.Option(help="A team (created if new); repeat for several.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create an account; prints a one-time password (unless given on stdin) and the TOTP link."""
    import json

    from app.db import make_engine, make_sessionmaker, transaction
    from app.errors import HavenError
    from app.users.service import create_user

    settings = _settings()
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            made = create_user(db, email=email, role=role, teams=team or [], password=password)
    except HavenError as exc:
        err.print(f"[red]{exc.message}[/]", highlight=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    result: dict[str, str] = {"id": str(made.user.id), "email": made.user.email, "role": role}
    if made.password is not None:
        result["password"] = made.password
    result["totp_uri"] = made.totp_uri
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(f"Created {made.user.email} ({role}).")
    if made.password is not None:
        typer.echo(f"One-time password (shown once): {made.password}")
    typer.echo(f"Authenticator link (shown at first sign-in too): {made.totp_uri}")


@cli.command()
def seal(
    url: Annotated[str, typer.Option(help="The service's base URL.")] = "http://127.0.0.1:8000",
    token: Annotated[
        str | None,
        typer.Option(envvar="HAVEN_TOKEN", help="A coordinator's or admin's bearer token."),
    ] = None,
) -> None:
    """Seal the service at once: the key leaves memory and every session ends."""
    import httpx

    if not token:
        err.print("[red]A bearer token is needed: --token or HAVEN_TOKEN.[/]")
        raise typer.Exit(2)
    try:
        reply = httpx.post(
            url.rstrip("/") + "/api/v1/sys/seal",
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
    except httpx.HTTPError as exc:
        err.print(f"[red]Could not reach {url}: {type(exc).__name__}[/]", highlight=False)
        raise typer.Exit(1) from None
    if reply.status_code != 200:
        detail = (
            reply.json().get("detail", "")
            if reply.headers.get("content-type", "").startswith("application/json")
            else ""
        )
        err.print(f"[red]Sealing refused ({reply.status_code}): {detail}[/]", highlight=False)
        raise typer.Exit(1)
    out.print("Sealed. Every session has ended; unseal to resume.")


def main() -> None:
    """Entry point of the `haven` script."""
    try:
        cli()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
