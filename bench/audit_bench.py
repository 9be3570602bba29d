"""Audit log benchmark: verification speed, and what the append adds to a transaction.

    .venv/bin/python bench/audit_bench.py [--entries N] [--postgres URL] [--seconds S]

1. Verification: N synthetic entries (default 1,000,000) are written straight into a fresh
   database with their leaves, head and a signed checkpoint; only `verify_log` is timed,
   `--repeats` times as shipped (a worker process per half of the log) and in one process.
   A log much smaller than a million pays the workers' start (~0.2 to 0.6 s) on fewer
   entries, so its per-entry rate is lower (bench/RESULTS.md).
2. Append cost: a read transaction (one SELECT by key, then a little request work) with
   and without `record()`, one writer, then 8 concurrent writers on PostgreSQL, for the
   chosen design (head locked at commit) and the two alternatives it was weighed against:
   the head locked for the rest of the request, and an asynchronous sequencer
   (Trillian-style) whose integration delay is reported.
PostgreSQL runs when --postgres or HAVEN_TEST_POSTGRES_URL is set (a scratch database is
created and dropped).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from app.audit.canonical import encode_body, entry_leaf
from app.audit.checkpoints import take_checkpoint, verifier_key
from app.audit.events import AuditAction
from app.audit.log import record
from app.audit.merkle import frontier_append, pack_frontier
from app.audit.models import AuditEntry, AuditLeaf
from app.audit.tree import append_leaves, lock_head
from app.audit.verify import verify_log
from app.audit.workers import PARALLEL_MIN
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import upgrade

ORIGIN = "bench.haven/audit"
FIELDS = ("legal_name", "unit")
WORK_SECONDS = 0.002  # the rest of a request after its audit call (render, serialise)


@contextmanager
def scratch(backend: str, pg_url: str) -> Iterator[str]:
    """A fresh, migrated database URL, removed afterwards."""
    name = f"haven_bench_{secrets.token_hex(4)}"
    if backend == "sqlite":
        path = Path(tempfile.gettempdir()) / f"{name}.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    base = make_url(pg_url).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _synthetic(n: int) -> Iterator[tuple[int, int, str]]:
    """(seq, entry id, body) of n entries like a busy service writes them."""
    roles = ("caseworker", "coordinator", "auditor")
    actions = ("case.read", "case.updated", "document.downloaded")
    actors = [uuid.uuid4() for _ in range(200)]
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    for i in range(n):
        body = encode_body(
            at=start + timedelta(microseconds=i * 7_919),
            actor_id=actors[i % 200],
            actor_role=roles[i % 3],
            action=actions[i % 3],
            object_type="case",
            object_id=f"HV-2026-{i % 9999:04d}",
            fields=FIELDS,
            request_id=f"{i:016x}",
        )
        yield i, i + 1, body


def build_log(url: str, n: int, keyring: Keyring) -> None:
    """Write n entries with their leaves and head directly, then sign one checkpoint."""
    engine = make_engine(url)
    frontier: list[bytes] = []
    entries, leaves = [], []
    for seq, entry_id, body in _synthetic(n):
        leaf = entry_leaf(seq, entry_id, body)
        frontier_append(frontier, seq, leaf)
        entries.append((entry_id, body))
        leaves.append((seq, entry_id, leaf))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            cur.executemany("INSERT INTO audit_entries (id, body) VALUES (?,?)", entries)
            cur.executemany("INSERT INTO audit_leaves VALUES (?,?,?)", leaves)
        else:
            _pg_copy(cur, entries, leaves)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_head SET size = :n, frontier = :f"),
            {"n": n, "f": pack_frontier(frontier)},
        )
    with transaction(make_sessionmaker(engine)) as s:
        take_checkpoint(s, keyring=keyring, origin=ORIGIN)
    # A live table has planner statistics (autovacuum); a bulk-loaded one has none yet.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _pg_copy(cur: Any, entries: list[tuple[Any, ...]], leaves: list[tuple[Any, ...]]) -> None:
    with cur.copy("COPY audit_entries (id, body) FROM STDIN") as copy:
        for e in entries:
            copy.write_row(e)
    with cur.copy("COPY audit_leaves (seq, entry_id, leaf_hash) FROM STDIN") as copy:
        for leaf in leaves:
            copy.write_row(leaf)
    cur.execute("SELECT setval('audit_entries_id_seq', %s)", (len(entries),))


def bench_verify(url: str, n: int, repeats: int) -> list[tuple[str, list[float], bool]]:
    """Seconds per verification of a log of n entries (the build is not timed), `repeats`
    times each: as shipped (worker processes from 200,000 entries), and in one process."""
    keyring = Keyring()
    keyring.unseal_with_root(secrets.token_bytes(32))
    build_log(url, n, keyring)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    key = verifier_key(keyring, ORIGIN)
    modes = [("as shipped (2 workers)", PARALLEL_MIN), ("one process", n + 1)]
    out = []
    for name, parallel_min in modes:
        times, ok = [], True
        for _ in range(repeats):
            start = time.perf_counter()
            with transaction(factory) as s:
                report = verify_log(s, keys=[key], origin=ORIGIN, parallel_min=parallel_min)
            times.append(time.perf_counter() - start)
            ok = ok and report.ok and report.entries == n
        out.append((name, times, ok))
    engine.dispose()
    return out


def _setup_cases(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_cases (id INTEGER PRIMARY KEY, stage TEXT)"))
        for i in range(0, 1000, 100):
            conn.execute(
                text("INSERT INTO bench_cases VALUES (:i, 'intake')"),
                [{"i": j} for j in range(i, i + 100)],
            )


Variant = Callable[[Session, int], None]


def read_only(s: Session, case: int) -> None:
    """An unaudited case read."""
    s.execute(text("SELECT stage FROM bench_cases WHERE id = :i"), {"i": case}).one()
    time.sleep(WORK_SECONDS)


def audited(s: Session, case: int) -> None:
    """The chosen design: entry now, position and head lock at commit."""
    s.execute(text("SELECT stage FROM bench_cases WHERE id = :i"), {"i": case}).one()
    record(s, AuditAction.CASE_READ, on=("case", str(case)))
    time.sleep(WORK_SECONDS)


def head_for_request(s: Session, case: int) -> None:
    """Alternative 1: the head locked when the entry is written, held to the request's end."""
    s.execute(text("SELECT stage FROM bench_cases WHERE id = :i"), {"i": case}).one()
    lock_head(s)
    record(s, AuditAction.CASE_READ, on=("case", str(case)))
    time.sleep(WORK_SECONDS)


def queued(s: Session, case: int) -> None:
    """Alternative 2 (Trillian-style): the entry only; a sequencer integrates it later."""
    s.execute(text("SELECT stage FROM bench_cases WHERE id = :i"), {"i": case}).one()
    body = encode_body(at=datetime.now(UTC), action="case.read", object_type="case")
    s.execute(insert(AuditEntry).values(body=body))
    time.sleep(WORK_SECONDS)


class Sequencer:
    """The alternative's background integrator: every 20 ms, everything committed."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory, self.stop, self.delays = factory, threading.Event(), []  # type: ignore[var-annotated]
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.02):
            with transaction(self.factory) as s:
                lock_head(s)
                done = select(AuditLeaf.entry_id)
                stmt = select(AuditEntry).where(AuditEntry.id.not_in(done)).order_by(AuditEntry.id)
                pending = list(s.scalars(stmt))
                if pending:
                    append_leaves(s, pending)
                    now = time.time()
                    self.delays += [now - e.at.timestamp() for e in pending]


def load(
    factory: sessionmaker[Session], variant: Variant, writers: int, seconds: float
) -> dict[str, float]:
    """Run `writers` threads for `seconds`; latency percentiles (ms) and throughput (tx/s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(n: int) -> None:
        mine = []
        i = n
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            with transaction(factory) as s:
                variant(s, i % 1000)
            mine.append(time.perf_counter() - t0)
            i += writers
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "p50": 1000 * statistics.median(latencies),
        "p95": 1000 * latencies[int(len(latencies) * 0.95)],
        "tps": len(latencies) / seconds,
    }


def bench_append(url: str, writers_list: list[int], seconds: float) -> list[tuple[Any, ...]]:
    """Rows of (writers, variant, p50, p95, tps, ratio to unaudited p50, note)."""
    engine = make_engine(url, pool_size=10)
    _setup_cases(engine)
    factory = make_sessionmaker(engine)
    rows: list[tuple[Any, ...]] = []
    variants: list[tuple[str, Variant]] = [
        ("no audit", read_only),
        ("audit, head at commit (chosen)", audited),
        ("audit, head held by request", head_for_request),
        ("audit, async sequencer", queued),
    ]
    for writers in writers_list:
        base = 0.0
        for name, variant in variants:
            seq = Sequencer(factory) if variant is queued else None
            if seq:
                seq.thread.start()
            r = load(factory, variant, writers, seconds)
            note = ""
            if seq:
                time.sleep(0.1)
                seq.stop.set()
                seq.thread.join()
                d = sorted(seq.delays)
                p50, worst = 1000 * d[len(d) // 2], 1000 * d[-1]
                note = f"integrated after p50 {p50:.0f} ms, max {worst:.0f} ms"
            base = base or r["p50"]
            rows.append((writers, name, r["p50"], r["p95"], r["tps"], r["p50"] / base, note))
    engine.dispose()
    return rows


def main() -> None:
    """Run both benchmarks and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("HAVEN_TEST_POSTGRES_URL", ""))
    parser.add_argument("--seconds", type=float, default=2.0, help="per load run")
    parser.add_argument("--repeats", type=int, default=3, help="verifications per mode")
    parser.add_argument("--verify-only", action="store_true", help="skip the append runs")
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    n, reps = args.entries, args.repeats
    print(f"## Verification ({n:,} entries, {reps} runs each; build not timed)\n")
    print("| backend | verifier | median s | median entries/s | best entries/s | "
          "median vs 500,000/s | intact |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---|")
    for backend in backends:
        with scratch(backend, args.postgres) as url:
            for name, times, ok in bench_verify(url, n, reps):
                med, best = statistics.median(times), min(times)
                print(f"| {backend} | {name} | {med:.2f} | {n / med:,.0f} | {n / best:,.0f} | "
                      f"{n / med / 500_000:.2f}x | {ok} |")  # fmt: skip
    if args.verify_only:
        return
    print(f"\n## Append cost (read transaction + {WORK_SECONDS * 1000:.0f} ms of request work)\n")
    print("| backend | writers | variant | p50 ms | p95 ms | tx/s | p50 vs no audit | note |")
    print("|---|---:|---|---:|---:|---:|---:|---|")
    for backend in backends:
        writers = [1, 4] if backend == "sqlite" else [1, 8]
        with scratch(backend, args.postgres) as url:
            for w, name, p50, p95, tps, ratio, note in bench_append(url, writers, args.seconds):
                print(f"| {backend} | {w} | {name} | {p50:.2f} | {p95:.2f} | {tps:,.0f} | "
                      f"{ratio:.2f}x | {note} |")  # fmt: skip


if __name__ == "__main__":
    main()
