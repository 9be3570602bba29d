"""The case part of `haven demo`: a progress bar over app/demo/cases.py."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.config import Settings

out = Console()
err = Console(stderr=True)


def load_demo_cases_with_progress(settings: Settings, target: int) -> None:
    """The case part of `haven demo`: top the demo team up to `target` cases, with a bar."""
    import time

    from app.cli_keys import unseal_locally
    from app.db import make_engine, make_sessionmaker
    from app.demo.cases import load_demo_cases
    from app.documents.blobs import BlobStore

    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    try:
        keyring = unseal_locally(factory, settings)
        columns = (TextColumn("demo cases"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        started = time.perf_counter()
        with Progress(*columns, console=err) as progress:
            bar = progress.add_task("cases", total=None)

            def update(done: int, total: int) -> None:
                progress.update(bar, completed=done, total=total)

            report = load_demo_cases(
                factory,
                keyring=keyring,
                target=target,
                on_progress=update,
                store=BlobStore(settings.blob_dir),
            )
        elapsed = time.perf_counter() - started
        keyring.seal()
    finally:
        engine.dispose()
    rate = f" ({report.added / elapsed:.0f} cases/s)" if report.added and elapsed > 0 else ""
    out.print(
        f"Demo cases: {report.existing} already there, {report.added} added{rate}, "
        f"{report.tasks} volunteer task(s), {report.documents} document(s)"
        + (", 1 self-referral." if report.self_referral else ".")
    )
