"""How fast `haven demo --cases N` fills a database through the real services (encryption,
blind indexes, revisions, gates, audit entries), on SQLite or a PostgreSQL URL.

Run: .venv/bin/python bench/demo_bench.py [--cases N] [--url URL]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.demo.accounts import ensure_demo_accounts
from app.demo.cases import load_demo_cases
from app.migrate import upgrade
from app.security import passwords


def _run(url: str, cases: int) -> tuple[float, int]:
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    keyring = Keyring()
    keyring.unseal_with_root(secrets.token_bytes(32))
    with transaction(factory) as db:
        ensure_demo_accounts(db)
    start = time.perf_counter()
    report = load_demo_cases(factory, keyring=keyring, target=cases, seed=1)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed, report.tasks


def main() -> None:
    """Print cases, tasks, seconds and cases per second."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--url", help="an empty database URL (default: a temporary SQLite)")
    args = parser.parse_args()
    # Demo accounts hash passwords; that is not what is measured here.
    passwords.use_params(passwords.HashParams(time_cost=1, memory_cost_kib=8, parallelism=1))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        elapsed, tasks = _run(url, args.cases)
    backend = url.split(":", 1)[0]
    print(f"{'backend':<12}{'cases':>8}{'tasks':>8}{'seconds':>10}{'cases/s':>10}")
    print(f"{backend:<12}{args.cases:>8}{tasks:>8}{elapsed:>10.2f}{args.cases / elapsed:>10.0f}")


if __name__ == "__main__":
    main()
