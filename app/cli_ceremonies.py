"""`haven keys passphrase | rotate-root | reshare`: the key ceremonies
(app/system/key_ceremonies.py; docs/operations.md, "Key ceremonies")."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from app.cli_support import engine_or_exit, settings_or_exit
from app.config import SealMode

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

out = Console()
err = Console(stderr=True)


def register_ceremonies(keys_cli: typer.Typer) -> None:
    """Add the ceremony commands to `haven keys`."""
    keys_cli.command("passphrase")(change_passphrase_cmd)
    keys_cli.command("rotate-root")(rotate_root_cmd)
    keys_cli.command("reshare")(reshare_cmd)


def change_passphrase_cmd() -> None:
    """Change the unseal passphrase (the root key stays; see rotate-root after a leak)."""
    from app.cli_keys import read_secret
    from app.crypto.errors import UnsealRejected
    from app.db import make_sessionmaker
    from app.system.key_ceremonies import CeremonyRefused, change_passphrase

    settings = settings_or_exit()
    engine = engine_or_exit(settings)
    try:
        current = read_secret("Current passphrase")
        new = read_secret("New passphrase (12+ characters)", confirm=True)
        change_passphrase(make_sessionmaker(engine), current=current, new=new)
    except UnsealRejected as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    except (CeremonyRefused, ValueError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    out.print(
        "Passphrase changed. Running processes stay unsealed; the new passphrase unseals "
        "them from their next restart. (A leaked passphrase: run `haven keys rotate-root`.)"
    )


def rotate_root_cmd(
    seal_mode: Annotated[
        SealMode | None,
        typer.Option(help="How the new root is protected (default: as now)."),
    ] = None,
    shares: Annotated[int, typer.Option(help="shamir: how many new shares.")] = 3,
    threshold: Annotated[int, typer.Option(help="shamir: how many unseal.")] = 2,
    wait: Annotated[
        float | None,
        typer.Option(help="Seconds to let running processes follow the seal (default: 2 polls)."),
    ] = None,
) -> None:
    """A new root key: blind indexes, TOTP secrets and KEKs move under it in one transaction
    (interrupted, it changed nothing: run it again). Every running process is sealed first
    and must be unsealed with the new passphrase or shares."""
    _rotate(seal_mode, shares, threshold, wait)


def reshare_cmd(
    shares: Annotated[int, typer.Option(help="How many new shares.")] = 3,
    threshold: Annotated[int, typer.Option(help="How many of them unseal.")] = 2,
    wait: Annotated[
        float | None,
        typer.Option(help="Seconds to let running processes follow the seal (default: 2 polls)."),
    ] = None,
) -> None:
    """New Shamir shares (new K of N) for a NEW root key, so the old shares open nothing:
    `rotate-root --seal-mode shamir`."""
    _rotate(SealMode.SHAMIR, shares, threshold, wait)


def _target_mode(
    factory: sessionmaker[Session], mode: SealMode | None, shares: int, threshold: int
) -> SealMode:
    """The protection the new root gets (default: as now); refuses dev mode."""
    from app.crypto.models import KeyringState
    from app.db import transaction

    with transaction(factory) as session:
        state = session.get(KeyringState, 1)
        current = SealMode(state.mode) if state is not None else SealMode.DEV
    target = mode or current
    if SealMode.DEV in (target, current):
        err.print("[red]Dev mode keeps its root key in a file: nothing to rotate.[/]")
        raise typer.Exit(2)
    if target is SealMode.SHAMIR and not 2 <= threshold <= shares <= 16:
        err.print("[red]Need 2 <= threshold <= shares <= 16.[/]")
        raise typer.Exit(2)
    return target


def _rotate(mode: SealMode | None, shares: int, threshold: int, wait: float | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from app.cli_keys import print_shares, read_secret, unseal_locally
    from app.crypto.errors import UnsealRejected
    from app.db import make_sessionmaker
    from app.system.key_ceremonies import (
        CeremonyRefused,
        NewProtection,
        rotate_root,
        seal_everywhere,
    )

    settings = settings_or_exit()
    engine = engine_or_exit(settings)
    factory = make_sessionmaker(engine)
    try:
        target = _target_mode(factory, mode, shares, threshold)
        out.print("First, the CURRENT secret (it proves the right to rotate):")
        old = unseal_locally(factory, settings)
        new_passphrase = None
        if target is SealMode.PASSPHRASE:
            new_passphrase = read_secret("New passphrase (12+ characters)", confirm=True)
        seal_everywhere(factory, reason="root_rotation")
        pause = settings.seal_follow_poll_seconds * 2 + 1 if wait is None else wait
        out.print(f"Sealed: every running process follows within {pause:.0f} s.")
        time.sleep(pause)
        protection = NewProtection(
            mode=target, passphrase_text=new_passphrase, shares=shares, threshold=threshold
        )
        columns = (TextColumn("Moving under the new root"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=out) as progress:
            task = progress.add_task("rotate", total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = rotate_root(
                factory,
                old=old,
                protection=protection,
                origin=settings.audit_origin,
                on_progress=update,
            )
    except UnsealRejected as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    except (CeremonyRefused, ValueError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    out.print(
        f"Root key rotated: {report.cases} cases re-indexed ({report.unreadable_cases} erased), "
        f"{report.accounts} authenticator secrets and {report.keks} key versions moved."
    )
    if report.shares:
        print_shares(report.shares, threshold)
        out.print("The OLD shares open nothing any more: collect and destroy them.")
    out.print("Unseal every process with the new secret (`haven unseal --url ...`).")
