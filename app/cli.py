"""`haven`: the operator's command line. Each command is small; the work is in services."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from app.audit.cli import audit_cli
from app.backup.cli import backup_cli
from app.cases.cli import retention_cli
from app.cli_ceremonies import register_ceremonies
from app.cli_support import (
    command_group,
    dev_key_or_exit,
    engine_or_exit,
    port_or_exit,
    settings_or_exit,
    unexpected,
)
from app.config import SealMode, Settings
from app.demo.cli import load_demo_cases_with_progress
from app.referrals.cli import partner_cli, referral_cli
from app.reports.cli import reports_cli

cli = command_group(
    "Haven: secure case management. Settings come from HAVEN_* environment variables.",
    name="haven",
)
cli.add_typer(audit_cli, name="audit")
cli.add_typer(backup_cli, name="backup")
cli.add_typer(partner_cli, name="partner")
cli.add_typer(referral_cli, name="referral")
cli.add_typer(reports_cli, name="reports")
cli.add_typer(retention_cli, name="retention")
out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    return settings_or_exit()


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
    shares: Annotated[int, typer.Option(help="shamir: how many shares to make.")] = 3,
    threshold: Annotated[int, typer.Option(help="shamir: how many shares unseal.")] = 2,
) -> None:
    """Create the schema (Alembic upgrade head) and the root key; print shares once."""
    from app.cli_keys import ensure_sqlite_parent, init_keyring
    from app.crypto.keyring import create_dev_key_file
    from app.db import make_sessionmaker
    from app.migrate import upgrade

    settings = _settings()
    mode = seal_mode or settings.seal_mode
    ensure_sqlite_parent(settings.database_url)
    engine_or_exit(settings, create=True).dispose()  # reachable, before any work
    upgrade(settings.database_url)
    out.print("Schema is at the latest migration.")
    if mode is SealMode.DEV:
        if settings.key_file.exists():
            out.print(f"Dev root key already at {settings.key_file}; left as it is.")
        else:
            create_dev_key_file(settings.key_file)
            out.print(f"Dev root key written to {settings.key_file} (mode 0600).")
        _warn_dev_mode()
    engine = engine_or_exit(settings)
    try:
        init_keyring(make_sessionmaker(engine), settings, mode, shares, threshold)
    finally:
        engine.dispose()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the service (unsealed at start only in dev mode)."""
    import uvicorn

    from app.crypto.keyring import Keyring
    from app.db import make_sessionmaker, transaction
    from app.main import create_app
    from app.security.proxies import uvicorn_options

    settings = _settings()
    port_or_exit(host, port)
    engine = engine_or_exit(settings)
    dev_key_or_exit(settings)
    factory = make_sessionmaker(engine)
    keyring = Keyring()
    if settings.seal_mode is SealMode.DEV:
        _warn_dev_mode()
        with transaction(factory) as session:
            keyring.unseal_from_key_file(session, settings.key_file)
    else:
        out.print("Starting sealed: unseal with `haven unseal`.")
    app = create_app(settings, engine=engine, session_factory=factory, keyring=keyring)
    base = f"http://{host}:{port}"
    # Plain echo, not rich: a wrapped line would break the address in two.
    typer.echo(f"Haven is running. Sign in at {base}/login  (health: {base}/api/v1/sys/health)")
    # Forwarded headers only from HAVEN_TRUSTED_PROXIES (uvicorn alone would trust 127.0.0.1,
    # where a Tor onion service or a local proxy connects from, and so anyone behind it).
    proxy_headers, forwarded_allow_ips = uvicorn_options(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@cli.command()
def unseal(
    url: Annotated[str, typer.Option(help="The service to unseal.")] = "http://127.0.0.1:8000",
) -> None:
    """Read a passphrase or share from the terminal or stdin and send it to the service.

    Piped input may hold several shares, one per line."""
    from app.cli_keys import post_unseal, read_secret

    lines = [line.strip() for line in sys.stdin] if not sys.stdin.isatty() else []
    keys = [line for line in lines if line] or [read_secret("Passphrase or unseal share")]
    body: dict[str, object] = {}
    for key in keys:
        body = post_unseal(url, key)
        if not body.get("sealed"):
            break
    if body.get("sealed"):
        out.print(f"Still sealed: {body.get('progress')} of {body.get('threshold')} entered.")
    else:
        out.print("Unsealed.")


keys_cli = command_group("Key management.")
cli.add_typer(keys_cli, name="keys")
register_ceremonies(keys_cli)


@keys_cli.command("rotate")
def keys_rotate(
    batch_size: Annotated[int, typer.Option(help="Data keys rewrapped per transaction.")] = 500,
) -> None:
    """New KEK version; rewrap every data key under it (resumable; the service keeps running)."""
    from app.cli_keys import rotation_progress, unseal_locally
    from app.crypto.rotation import rotate
    from app.db import make_sessionmaker

    settings = _settings()
    engine = engine_or_exit(settings)
    factory = make_sessionmaker(engine)
    try:
        keyring = unseal_locally(factory, settings)
        with rotation_progress() as progress:
            task = progress.add_task("rewrap", total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = rotate(factory, keyring=keyring, batch_size=batch_size, on_progress=update)
        keyring.seal()
    finally:
        engine.dispose()
    verb = "Resumed rotation to" if report.resumed else "Rotated to"
    out.print(f"{verb} KEK version {report.current_version}: {report.rewrapped} rewrapped.")
    if report.retired:
        out.print(f"Retired versions: {', '.join(map(str, report.retired))}.")
    if report.remaining:
        out.print(f"[yellow]{report.remaining} data keys were busy; run it again to finish.[/]")
        raise typer.Exit(1)


@cli.command()
def demo(
    cases: Annotated[
        int, typer.Option(min=0, help="How many demo cases the demo team should hold.")
    ] = 40,
) -> None:
    """Load synthetic demo data (invented people only). Safe to run twice: it tops up."""
    from app.cli_keys import unseal_locally
    from app.db import make_sessionmaker, transaction
    from app.demo.accounts import ensure_demo_accounts

    settings = _settings()
    if settings.seal_mode is not SealMode.DEV:
        # Demo accounts come with printed passwords: on a real installation they would be a
        # way in (and a team that public requests might land in).
        err.print("[red]haven demo runs only in dev seal mode (a demo installation).[/]")
        raise typer.Exit(2)
    engine = engine_or_exit(settings)
    factory = make_sessionmaker(engine)
    keyring = unseal_locally(factory, settings)  # TOTP secrets are stored encrypted
    with transaction(factory) as db:
        accounts = ensure_demo_accounts(db, keyring=keyring)
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
    load_demo_cases_with_progress(settings, cases)


user_cli = command_group("Accounts.")
cli.add_typer(user_cli, name="user")


@user_cli.command("add")
def user_add(  # noqa: PLR0917 - Typer reads the options from the parameters
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    role: Annotated[str, typer.Option(help="admin, coordinator, caseworker, volunteer, auditor.")],
    team: Annotated[
        list[str] | None, typer.Option(help="A team (created if new); repeat for several.")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    name: Annotated[
        str | None, typer.Option(help="How colleagues see the account (default: the e-mail).")
    ] = None,
) -> None:
    """Create an account; prints a one-time password (unless given on stdin) and the TOTP link.
    Either password works once: it must be replaced at the first sign-in."""
    import json

    from app.cli_keys import unseal_locally
    from app.db import make_sessionmaker, transaction
    from app.errors import HavenError
    from app.users.service import create_user

    settings = _settings()
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    engine = engine_or_exit(settings)
    factory = make_sessionmaker(engine)
    try:
        keyring = unseal_locally(factory, settings)  # TOTP secrets are stored encrypted
        with transaction(factory) as db:
            made = create_user(
                db,
                email=email,
                role=role,
                teams=team or [],
                password=password,
                keyring=keyring,
                name=name,
            )
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
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback
        unexpected(exc)
