"""The keyring side of `haven`: init per seal mode, unseal (local or over HTTP), keys rotate."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session, sessionmaker

from app.cli_support import dev_key_or_exit, fail, sqlite_path
from app.config import SealMode, Settings
from app.crypto.errors import UnsealRejected
from app.crypto.keyring import Keyring, read_dev_key_file
from app.crypto.keystore import InitResult, initialise_keyring
from app.crypto.models import KeyringState
from app.db import transaction

out = Console()
err = Console(stderr=True)


def read_secret(prompt: str, *, confirm: bool = False) -> str:
    """A passphrase or share from the terminal (hidden) or, when piped, one line of stdin."""
    if sys.stdin.isatty():
        value = str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value.strip():
        err.print("[red]Nothing was entered.[/]")
        raise typer.Exit(2)
    return value


def init_keyring(
    factory: sessionmaker[Session], settings: Settings, mode: SealMode, shares: int, threshold: int
) -> None:
    """Create the keyring for `mode` unless one exists; print shares once."""
    with transaction(factory) as session:
        state = session.get(KeyringState, 1)
        if state is not None:
            if state.mode != mode.value:
                err.print(f"[red]This database is already sealed with mode {state.mode}.[/]")
                raise typer.Exit(2)
            out.print(f"Keyring already initialised ({state.mode}); left as it is.")
            return
        result = _initialise(session, settings, mode, shares, threshold)
    out.print(f"Keyring initialised: seal mode {mode.value}, KEK version {result.kek_version}.")
    if result.shares:
        print_shares(result.shares, threshold)


def _initialise(
    session: Session, settings: Settings, mode: SealMode, shares: int, threshold: int
) -> InitResult:
    keyring = Keyring()
    try:
        if mode is SealMode.DEV:
            root = read_dev_key_file(settings.key_file)
            return initialise_keyring(session, keyring=keyring, mode=mode, root=root)
        if mode is SealMode.PASSPHRASE:
            text = read_secret("New unseal passphrase (12+ characters)", confirm=True)
            return initialise_keyring(session, keyring=keyring, mode=mode, passphrase_text=text)
        return initialise_keyring(
            session, keyring=keyring, mode=mode, shares=shares, threshold=threshold
        )
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    finally:
        keyring.seal()


def print_shares(shares: list[str], threshold: int) -> None:
    typer.echo(
        f"\n{len(shares)} unseal shares follow; any {threshold} of them unseal the service.\n"
        "They are shown ONCE and stored nowhere. Give each to a different person, on paper.\n"
    )
    for number, share in enumerate(shares, start=1):
        typer.echo(f"Share {number}: {share}\n")


def unseal_locally(factory: sessionmaker[Session], settings: Settings) -> Keyring:
    """A keyring unsealed in this process (for CLI commands that need keys)."""
    keyring = Keyring()
    with transaction(factory) as session:
        state = session.get(KeyringState, 1)
        if state is None:
            err.print("[red]No keyring: run `haven init` first.[/]")
            raise typer.Exit(2)
        try:
            if state.mode == SealMode.DEV:
                dev_key_or_exit(settings)
                keyring.unseal_from_key_file(session, settings.key_file)
            while keyring.sealed:
                label = "Passphrase" if state.mode == SealMode.PASSPHRASE else "Unseal share"
                status = keyring.submit_unseal_key(session, read_secret(label))
                if status.sealed:
                    out.print(f"{status.progress} of {status.threshold} shares entered.")
        except UnsealRejected as exc:
            err.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from None
    return keyring


def post_unseal(url: str, key: str) -> dict[str, Any]:
    """POST one key to a running service's unseal endpoint."""
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter("the URL must start with http:// or https://")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url.rstrip("/") + "/api/v1/sys/unseal",
        data=json.dumps({"key": key}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - checked
            body: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as exc:
        detail = json.load(exc).get("detail", exc.reason)
        err.print(f"[red]Unseal refused ({exc.code}): {detail}[/]")
        raise typer.Exit(1) from None
    except urllib.error.URLError as exc:
        err.print(f"[red]Cannot reach {url}: {exc.reason}[/]")
        raise typer.Exit(1) from None
    return body


def rotation_progress() -> Progress:
    """The Rich progress bar for `haven keys rotate`."""
    return Progress(
        TextColumn("Rewrapping data keys"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out,
    )


def ensure_sqlite_parent(url: str) -> None:
    """Create the folder of a SQLite database file (0700)."""
    path = sqlite_path(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        fail(f"HAVEN_DATABASE_URL: cannot make the folder {path.parent} ({exc.strerror or exc})")
