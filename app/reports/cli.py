"""`haven reports rebuild`: recompute the maintained report counts from the cases."""

from __future__ import annotations

from rich.console import Console

from app.cli_support import command_group, engine_or_exit, settings_or_exit

reports_cli = command_group("Reports: the maintained counts a summary is read from.")
out = Console()


@reports_cli.command("rebuild")
def rebuild() -> None:
    """Recompute report_counts from the cases and their stage histories (one transaction,
    audited). Needed only after writing cases outside the application (a bulk load); every
    write of the application keeps the counts itself."""
    from app.audit.events import AuditAction
    from app.audit.log import record
    from app.db import make_sessionmaker, transaction
    from app.reports import counts

    settings = settings_or_exit()
    engine = engine_or_exit(settings)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            rows, changed = counts.rebuild(db)
            record(
                db,
                AuditAction.REPORT_COUNTS_REBUILT,
                by=None,
                on=("report", None),
                reason=f"rows={rows} changed={changed}",
            )
    finally:
        engine.dispose()
    out.print(f"Rebuilt the report counts: {rows} rows, {changed} differed from the stored ones.")
