"""`haven backup`: keygen, create, verify, restore (docs/operations.md, "Backups")."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from app.cli_support import command_group, fail, settings_or_exit

if TYPE_CHECKING:
    from app.backup.age import Identity, Recipient

backup_cli = command_group(
    "Encrypted backups (age, X25519): keygen on an offline machine, create on the server, "
    "verify and restore where the identity is."
)
out = Console()
err = Console(stderr=True)


@backup_cli.command("keygen")
def keygen(
    identity_file: Annotated[
        Path, typer.Argument(help="Where to write the private identity (a new file, 0600).")
    ],
) -> None:
    """Make a backup key pair. Keep the identity file OFFLINE (a USB stick in a safe); give
    the server only the public key it prints."""
    from app.backup import age
    from app.db import utcnow

    identity, recipient = age.generate()
    try:
        fd = os.open(identity_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{identity_file} exists; a backup identity is never overwritten")
    except OSError as exc:
        fail(f"cannot write {identity_file} ({exc.strerror or exc})")
    with os.fdopen(fd, "w") as fh:
        fh.write(
            f"# Haven backup identity, created {utcnow().isoformat(timespec='seconds')}\n"
            f"# public key: {recipient}\n{identity}\n"
        )
    typer.echo(f"Identity written to {identity_file} (keep it offline; it opens every backup).")
    typer.echo("Public key (give this to `haven backup create --recipient`):")
    typer.echo(recipient)


@contextmanager
def _progress(label: str, *, quiet: bool, as_bytes: bool) -> Iterator[Callable[..., None]]:
    """A Rich progress bar; yields update(advance=..., total=...)."""
    if quiet:
        yield lambda **_kw: None
        return
    columns = [TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%")]
    if as_bytes:
        columns.append(DownloadColumn())
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(label, total=None)

        def update(**kw: Any) -> None:
            progress.update(task, **kw)

        yield update


def _recipients(values: list[str], files: list[Path]) -> list[Recipient]:
    from app.backup import age

    texts = list(values)
    for path in files:
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            fail(f"--recipient-file {path}: cannot read it ({exc.strerror or exc})")
        texts += [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]
    if not texts:
        fail("give at least one --recipient age1... or --recipient-file")
    found: list[Recipient] = []
    for text in texts:
        try:
            found.append(age.recipient(text))
        except age.KeyInvalid as exc:
            fail(f"--recipient: {exc}")
    return found


@backup_cli.command("create")
def create(
    file: Annotated[Path, typer.Argument(help="The backup file to write (never overwritten).")],
    recipient: Annotated[
        list[str] | None, typer.Option(help="An age public key (age1...); repeat for several.")
    ] = None,
    recipient_file: Annotated[
        list[Path] | None, typer.Option(help="A file of age public keys, one a line.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar (for timers).")] = False,
) -> None:
    """Back up every table (the audit log included) and every attachment, encrypted to the
    recipients, while the service keeps running (one consistent snapshot)."""
    from app.audit.events import AuditAction
    from app.audit.log import record
    from app.backup.create import create_backup
    from app.cli_support import engine_or_exit
    from app.db import make_sessionmaker, transaction

    settings = settings_or_exit()
    keys = _recipients(recipient or [], recipient_file or [])
    engine_or_exit(settings).dispose()  # reachable and holding Haven's schema
    if file.exists():
        fail(f"{file} exists; backups are never overwritten")
    with _progress("Backing up", quiet=quiet, as_bytes=False) as update:
        summary = create_backup(
            database_url=settings.database_url,
            blob_dir=settings.blob_dir,
            out=file,
            recipients=keys,
            on_plan=lambda plan: update(total=plan.total),
            progress=lambda n: update(advance=n),
        )
    engine = engine_or_exit(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            record(session, AuditAction.BACKUP_CREATED, reason="encrypted")
    finally:
        engine.dispose()
    typer.echo(
        f"Backup written to {file}: {summary.total_rows} rows in {len(summary.rows)} tables, "
        f"{summary.blobs} attachments ({summary.blob_bytes} bytes), schema {summary.revision}."
    )
    if summary.missing_blobs:
        typer.echo(f"{summary.missing_blobs} attachments were erased while it ran (not kept).")


def _identities(path: Path) -> list[Identity]:
    from app.backup.restore import IdentityInvalid, read_identities

    try:
        if path.stat().st_mode & 0o077:
            err.print(f"[yellow]{path} is readable by others: chmod 600 it.[/]")
        return read_identities(path)
    except OSError as exc:
        fail(f"--identity {path}: cannot read it ({exc.strerror or exc})")
    except IdentityInvalid as exc:
        fail(f"--identity: {exc}")


@backup_cli.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="The backup file.")],
    identity: Annotated[Path, typer.Option(help="The identity file from `backup keygen`.")],
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Decrypt the whole backup and check every hash; changes nothing anywhere."""
    from app.backup.frames import BackupInvalid
    from app.backup.restore import verify_backup

    ids = _identities(identity)
    if not file.is_file():
        fail(f"{file}: no such backup file")
    try:
        with _progress("Verifying", quiet=quiet, as_bytes=True) as update:
            update(total=file.stat().st_size)
            contents = verify_backup(file, ids, on_read=lambda n: update(advance=n))
    except BackupInvalid as exc:
        fail(f"REFUSED: {exc}", 1)
    typer.echo(
        f"Backup intact: made {contents.created_at} on {contents.dialect}, schema "
        f"{contents.revision}; {contents.total_rows} rows in {len(contents.rows)} tables "
        f"(audit log: {contents.rows.get('audit_entries', 0)} entries), {contents.blobs} "
        f"attachments ({contents.blob_bytes} bytes)."
    )


@backup_cli.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="The backup file.")],
    identity: Annotated[Path, typer.Option(help="The identity file from `backup keygen`.")],
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Restore into the EMPTY database HAVEN_DATABASE_URL names (SQLite or PostgreSQL) and an
    empty HAVEN_BLOB_DIR. Nothing is written unless the whole backup checks out."""
    from app.audit.events import AuditAction
    from app.audit.log import record
    from app.backup.frames import BackupInvalid
    from app.backup.restore import TargetNotEmpty, restore_backup
    from app.cli_keys import ensure_sqlite_parent
    from app.cli_support import engine_or_exit
    from app.db import make_sessionmaker, transaction

    settings = settings_or_exit()
    ids = _identities(identity)
    if not file.is_file():
        fail(f"{file}: no such backup file")
    ensure_sqlite_parent(settings.database_url)
    engine_or_exit(settings, create=True).dispose()  # reachable
    try:
        with _progress("Restoring", quiet=quiet, as_bytes=True) as update:
            update(total=file.stat().st_size)
            contents = restore_backup(
                file,
                ids,
                database_url=settings.database_url,
                blob_dir=settings.blob_dir,
                on_read=lambda n: update(advance=n),
            )
    except BackupInvalid as exc:
        fail(f"REFUSED, nothing restored: {exc}", 1)
    except TargetNotEmpty as exc:
        fail(f"REFUSED: {exc}", 2)
    engine = engine_or_exit(settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            record(session, AuditAction.BACKUP_RESTORED, reason=contents.dialect)
    finally:
        engine.dispose()
    typer.echo(
        f"Restored {contents.total_rows} rows and {contents.blobs} attachments (backup made "
        f"{contents.created_at} on {contents.dialect}). Unseal with the same passphrase or "
        "shares as the original; then `haven audit verify`."
    )
