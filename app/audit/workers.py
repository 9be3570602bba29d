"""Verification across processes: the fast path (app/audit/fastscan.py) run by worker
processes over disjoint runs of chunks, each with its own connection to the same database
(on PostgreSQL, the verifier's own snapshot), so hashing is not bound to one core by the GIL.

A worker hashes its chunks' bodies, checks them against the stored leaves and returns, per
chunk, only the compact ranges of the prefixes the verifier will ask for (the whole chunk
and each checkpoint size inside it): 32 bytes per perfect subtree, not a hash per entry. A
chunk that does not match comes back empty and the verifier takes it down the exact path
itself, on its own connection, naming the bad entry. Nothing a worker says is believed
that the verifier would not have accepted in-process: the same code decides.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.audit.scanner import Source, Summary, decode

ROOT = Path(__file__).resolve().parents[2]
# Below this many entries, starting processes (~0.1 s) costs more than it saves.
PARALLEL_MIN = 200_000
WORKERS = 2


def source_for(session: Session) -> Source | None:
    """Where workers can read what this session reads, or None (in-memory SQLite, or a
    snapshot that cannot be exported): the verifier then works in-process."""
    conn = session.connection()
    url = conn.engine.url
    if conn.dialect.name == "sqlite":
        path = url.database
        # Resolved here: the workers run in ROOT, not in the verifier's working directory.
        return Source("sqlite", str(Path(path).resolve())) if path and path != ":memory:" else None
    if conn.dialect.name != "postgresql":
        return None
    # Not in a savepoint (PostgreSQL exports no snapshot from one); a standby exports none.
    if conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one():
        return None
    snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return Source("postgresql", dsn, str(snapshot))


def run(
    source: Source, spans: list[tuple[int, int]], wanted: list[int], workers: int = WORKERS
) -> list[Summary]:
    """Every chunk's summary, in order, from `workers` processes over contiguous runs.

    Each worker is a fresh interpreter (`python -m app.audit.scanner`) told its job on
    stdin (so a connection string never shows in a process list) and answering in JSON on
    stdout: no fork of a threaded server, no re-import of the caller's main module."""
    per = -(-len(spans) // workers)
    groups = [spans[i : i + per] for i in range(0, len(spans), per)]
    # The service's own settings stay behind (the job carries what a worker needs); libpq's
    # PG* variables and the locale pass through.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAVEN_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *sys.path])
    procs = []
    try:
        for group in groups:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.audit.scanner"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=ROOT,
            )
            procs.append(proc)
            job = {"source": asdict(source), "spans": group, "wanted": wanted}
            assert proc.stdin is not None  # noqa: S101 - PIPE above
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
        out: list[Summary] = []
        for proc, group in zip(procs, groups, strict=True):
            assert proc.stdout is not None  # noqa: S101 - PIPE above
            answer = proc.stdout.read()
            if proc.wait() != 0:
                raise WorkerFailed(f"verification worker exited with {proc.returncode}")
            summaries = decode(json.loads(answer))
            if [(lo, hi) for lo, hi, _ in summaries] != group:
                raise WorkerFailed("a verification worker answered for other chunks")
            out += summaries
        return out
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()  # the pipe is ours: left open, it leaks a descriptor


class WorkerFailed(RuntimeError):
    """A worker process did not answer."""
