"""`haven audit ...`: verify the log, take and export checkpoints, print proofs and the key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli_support import command_group, dev_key_or_exit, engine_or_exit, settings_or_exit
from app.config import SealMode, Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.audit.note import VerifierKey
    from app.crypto.keyring import Keyring

audit_cli = command_group("The tamper-evident audit log: verify, checkpoints, proofs.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    return settings_or_exit()


def _keyring(settings: Settings) -> Keyring:
    """An unsealed keyring for signing: in dev mode from the dev key file, as `serve` does."""
    from app.crypto.keyring import Keyring, read_dev_key_file

    if settings.seal_mode is not SealMode.DEV:
        # Passphrase or shares from the terminal (or stdin), as `haven keys rotate` asks.
        from app.cli_keys import unseal_locally
        from app.db import make_sessionmaker

        engine = engine_or_exit(settings)
        try:
            return unseal_locally(make_sessionmaker(engine), settings)
        finally:
            engine.dispose()
    dev_key_or_exit(settings)
    try:
        root = read_dev_key_file(settings.key_file)
    except (OSError, ValueError) as exc:
        raise _fail(f"Cannot read the dev root key: {exc}") from None
    keyring = Keyring()
    keyring.unseal_with_root(root)
    return keyring


def _trusted_keys(
    settings: Settings, key_file: Path | None, factory: sessionmaker[Session]
) -> list[VerifierKey]:
    from app.audit.checkpoints import trusted_keys
    from app.audit.note import NoteError, parse_verifier_key
    from app.db import transaction

    if key_file is None:
        keyring = _keyring(settings)
        with transaction(factory) as session:  # today's key and those rotations retired
            return trusted_keys(session, keyring, settings.audit_origin)
    try:
        return [parse_verifier_key(line) for line in key_file.read_text().splitlines() if line]
    except (OSError, NoteError) as exc:
        raise _fail(f"Cannot read the verifier key: {exc}") from None


@contextmanager
def _factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database; the engine is disposed of at the end."""
    from app.db import make_sessionmaker

    engine = engine_or_exit(settings)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@audit_cli.command("verify")
def verify_cmd(
    checkpoint: Annotated[
        Path | None, typer.Option(help="A checkpoint kept outside the server to check against.")
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(help="Verifier key file (`haven audit pubkey`); default: the keyring's."),
    ] = None,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also compare every column with its entry's body (slower): for when the "
            "database's files or catalogs themselves may have been edited.",
        ),
    ] = False,
) -> None:
    """Recompute the tree, check signatures and consistency; exit 1 naming the first bad entry."""
    from app.audit.verify import verify_log
    from app.db import transaction

    settings = _settings()
    # The database first: it says which folder it is looking in.
    with _factory(settings) as factory:
        keys = _trusted_keys(settings, key, factory)
        try:
            external = checkpoint.read_text() if checkpoint is not None else None
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"Cannot read the checkpoint file: {exc.__class__.__name__}") from None
        with transaction(factory) as session:
            report = verify_log(
                session,
                keys=keys,
                origin=settings.audit_origin,
                external_checkpoint=external,
                deep=deep,
            )
    typer.echo(report.summary())
    raise typer.Exit(0 if report.ok else 1)


@audit_cli.command("checkpoint")
def checkpoint_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write the signed checkpoint.")],
) -> None:
    """Sequence what is committed, then sign a checkpoint of the log, store it and write it
    to a file."""
    from app.audit.checkpoints import take_checkpoint
    from app.audit.tree import sequence_now
    from app.db import transaction

    settings = _settings()
    keyring = _keyring(settings)
    with _factory(settings) as factory:
        sequence_now(factory)
        with transaction(factory) as session:
            row = take_checkpoint(session, keyring=keyring, origin=settings.audit_origin)
    out.write_text(row.note)
    typer.echo(f"Checkpoint of {row.tree_size} entries written to {out}.")


@audit_cli.command("sequence")
def sequence_cmd() -> None:
    """Give every committed entry not yet in the tree its position now (the server's
    sequencer does this in the background)."""
    from app.audit.tree import sequence_now

    settings = _settings()
    with _factory(settings) as factory:
        done = sequence_now(factory)
    typer.echo(f"Sequenced {done} entries.")


@audit_cli.command("prove")
def prove_cmd(seq: Annotated[int, typer.Argument(help="The entry's position (seq).")]) -> None:
    """Print an inclusion proof for one entry against the current tree."""
    from app.audit.proofs import inclusion_proof
    from app.db import transaction

    settings = _settings()
    with _factory(settings) as factory, transaction(factory) as session:
        try:
            proof = inclusion_proof(session, seq)
        except LookupError as exc:
            raise _fail(str(exc), 1) from None
    typer.echo(proof.text(), nl=False)


@audit_cli.command("pubkey")
def pubkey_cmd() -> None:
    """Print the note verifier key that checks this log's checkpoints."""
    from app.audit.checkpoints import verifier_key

    settings = _settings()
    typer.echo(verifier_key(_keyring(settings), settings.audit_origin).encode())
