"""A small stand-in for bench/dataset.py while that loader is not there: `haven init --seal-mode
dev` and `haven demo --cases N` into bench/.data/standin-BACKEND-N (a database of its own on
PostgreSQL), cached by the accounts file the first run writes. Same interface as
bench.dataset (Account, Dataset, ensure); the samples are left empty and filled by the
runner through the API (bench/http_bench.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
DEMO_LINE = re.compile(r"^\s*(\w+)\s+(\S+@\S+)\s+password:\s+(\S+)\s+TOTP key:\s+(\S+)", re.M)


@dataclass(frozen=True)
class Account:
    """One sign-in of the dataset."""

    email: str
    password: str
    totp_secret: str | None


@dataclass(frozen=True)
class Dataset:
    """A dataset ready for `haven serve` (see bench/dataset.py for the real one)."""

    backend: str
    cases: int
    env: dict[str, str]
    accounts: dict[str, Account]
    sample_case_ids: list[str] = field(default_factory=list)
    search_names: list[str] = field(default_factory=list)
    duplicate_probe: dict[str, Any] = field(default_factory=dict)


def postgres_server() -> str:
    """The PostgreSQL server the benchmark uses (databases of its own named bench_*)."""
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("HAVEN_TEST_POSTGRES_URL")
    return (url or "postgresql://postgres@127.0.0.1:5432/test").rsplit("/", 1)[0]


def _create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(postgres_server() + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def ensure(backend: str, cases: int, root: Path = Path("bench/.data")) -> Dataset:
    """The stand-in dataset of `cases` demo cases on `backend`, made once."""
    folder = (root / f"standin-{backend}-{cases}").resolve()
    env = {
        "HAVEN_SEAL_MODE": "dev",
        "HAVEN_KEY_FILE": str(folder / "dev-root.key"),
        "HAVEN_BLOB_DIR": str(folder / "blobs"),
        "HAVEN_DATABASE_URL": (
            f"sqlite:///{folder / 'haven.db'}"
            if backend == "sqlite"
            else f"{postgres_server()}/bench_standin_{cases}"
        ),
    }
    saved = folder / "accounts.json"
    if saved.exists():
        accounts = {k: Account(**v) for k, v in json.loads(saved.read_text()).items()}
        return Dataset(backend=backend, cases=cases, env=env, accounts=accounts)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("haven.db*"):
        stale.unlink()
    (folder / "dev-root.key").unlink(missing_ok=True)
    if backend != "sqlite":
        _create_database(f"bench_standin_{cases}")
    run_env = {**os.environ, **env}
    subprocess.run([BIN / "haven", "init", "--seal-mode", "dev"], env=run_env, check=True)
    print(f"stand-in dataset: haven demo --cases {cases} on {backend}", file=sys.stderr)
    done = subprocess.run(
        [BIN / "haven", "demo", "--cases", str(cases)],
        env=run_env,
        check=True,
        capture_output=True,
        text=True,
    )
    accounts = {
        role: Account(email=email, password=password, totp_secret=secret)
        for role, email, password, secret in DEMO_LINE.findall(done.stdout)
        if not email.startswith("coordinator2")
    }
    saved.write_text(json.dumps({k: asdict(v) for k, v in accounts.items()}))
    return Dataset(backend=backend, cases=cases, env=env, accounts=accounts)
