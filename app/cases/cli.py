"""`haven retention purge`: a small command, the work in app/cases/retention.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from app.cli_support import command_group, engine_or_exit, settings_or_exit
from app.config import Settings

retention_cli = command_group("Retention: erase what must not be kept.")
out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    return settings_or_exit()


def _codes(codes: list[str]) -> str:
    shown = ", ".join(codes[:20])
    return shown + (f" and {len(codes) - 20} more" if len(codes) > 20 else "")


@retention_cli.command("purge")
def purge(
    execute: Annotated[
        bool,
        typer.Option("--execute/--dry-run", help="Erase for real (default: only show what)."),
    ] = False,
) -> None:
    """Crypto-shred closed cases past HAVEN_RETENTION_MONTHS (unless on legal hold) and
    destroy movement plans past their destroy_after. A dry run unless --execute."""
    from app.cases import retention
    from app.cli_keys import unseal_locally
    from app.crypto.shred import checkpoint_sqlite
    from app.db import make_sessionmaker, transaction
    from app.documents.blobs import BlobStore

    settings = _settings()
    engine = engine_or_exit(settings)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)
    try:
        with transaction(factory) as db:
            plan = retention.plan(db, now=now, months=settings.retention_months)
        cutoff = plan.cutoff.date().isoformat() if plan.cutoff else "-"
        out.print(
            f"Movement plans past destroy_after: {len(plan.movement_due)} "
            f"{_codes(plan.movement_due)}"
        )
        out.print(
            f"Closed cases past {settings.retention_months} months (closed before {cutoff}): "
            f"{len(plan.expired)} {_codes(plan.expired)}"
        )
        out.print(f"On legal hold (kept): {plan.on_hold}")
        if not execute:
            out.print("Dry run: nothing was erased. Run with --execute to erase.")
            return
        keyring = unseal_locally(factory, settings) if plan.movement_due else None
        with transaction(factory) as db:
            report = retention.execute(
                db,
                keyring=keyring,
                now=now,
                months=settings.retention_months,
                blob_store=BlobStore(settings.blob_dir),
            )
        checkpoint_sqlite(engine)
    finally:
        engine.dispose()
    out.print(
        f"Destroyed {len(report.movements_destroyed)} movement plan(s); "
        f"crypto-shredded {len(report.cases_erased)} case(s)."
    )
