"""Reports benchmark: how long the suppressed summary takes at a million cases.

    .venv/bin/python bench/reports_bench.py [--cases N] [--teams T] [--postgres URL] [--repeats R]

N synthetic cases (default 1,000,000) spread over T teams (default 20) and 36 months of
intake, with about two stage changes each, are written straight into a fresh, migrated
database (plain columns only: a report reads nothing else, so no data is encrypted and the
data-key foreign key is switched off while loading), and the maintained counts are rebuilt
from them (`haven reports rebuild`: the loader bypasses the application). Then
`build_summary` — the service behind GET /api/v1/reports/summary and /reports — is timed
`--repeats` times for an auditor (every team, 36 months), a coordinator (one team, 36
months) and an auditor's last twelve months. PostgreSQL runs when --postgres or
HAVEN_TEST_POSTGRES_URL is set (a scratch database is created and dropped). Nothing here is
asserted: bench/RESULTS.md has figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psycopg.types.json import Jsonb
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_bench import scratch

from app.cases.vocab import Need, OutcomeKind, Situation, Stage
from app.db import make_engine, make_sessionmaker
from app.policy.deps import Actor, AuthMethod
from app.policy.permissions import Role
from app.reports import counts
from app.reports.service import Period, build_summary

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
START = NOW - timedelta(days=36 * 30)
CITIZENSHIPS = ["RU"] * 6 + ["BY"] * 3 + ["UA", "KZ", "AM", None]
COUNTRIES = ["GE", "GE", "KZ", "AM", "DE", "LT", "PL", "TR", "RS", "UZ", None]
PATH = [Stage.INTAKE, Stage.DOCUMENTATION, Stage.REFERRAL, Stage.FOLLOW_UP, Stage.CLOSED]
BATCH = 20_000


def _rows(
    n: int, teams: list[uuid.UUID], seed: int
) -> Iterator[tuple[dict[str, object], list[dict[str, object]]]]:
    rng = random.Random(seed)
    needs = [n.value for n in Need]
    for i in range(n):
        created = START + timedelta(seconds=rng.randrange(36 * 30 * 86_400))
        case_id = uuid.uuid4()
        steps = rng.choice([0, 1, 1, 2, 2, 3, 4])
        changes = [
            {
                "id": uuid.uuid4(),
                "case_id": case_id,
                "at": created,
                "from_stage": None,
                "to_stage": "intake",
            }
        ]
        at = created
        for s in range(steps):
            at = min(NOW, at + timedelta(days=rng.randint(1, 60)))
            changes.append(
                {
                    "id": uuid.uuid4(),
                    "case_id": case_id,
                    "at": at,
                    "from_stage": PATH[s].value,
                    "to_stage": PATH[s + 1].value,
                }
            )
        stage = PATH[steps]
        yield (
            {
                "id": case_id, "case_code": f"HV-B-{i:08d}", "team_id": teams[i % len(teams)],
                "stage": stage.value, "created_at": created, "updated_at": at, "version": 1,
                "dek_id": uuid.uuid4(), "source": rng.choice(["staff"] * 3 + ["self_referral"]),
                "citizenship": rng.choice(CITIZENSHIPS), "current_country": rng.choice(COUNTRIES),
                "situation": rng.choice([s.value for s in Situation]),
                "needs": rng.sample(needs, rng.randint(0, 3)),
                "closed_at": at if stage is Stage.CLOSED else None,
                "outcome_kind": rng.choice([o.value for o in OutcomeKind])
                if stage is Stage.CLOSED else None,
                "legal_hold": False, "erasure_decision_due": False,
            },
            changes,
        )  # fmt: skip


CASE_COLUMNS = (
    "id", "case_code", "team_id", "stage", "created_at", "updated_at", "version", "dek_id",
    "source", "citizenship", "current_country", "situation", "needs", "closed_at",
    "outcome_kind", "legal_hold", "erasure_decision_due",
)  # fmt: skip
CHANGE_COLUMNS = ("id", "case_id", "at", "from_stage", "to_stage")


def _sql(table: str, columns: tuple[str, ...], mark: str) -> str:
    # Table and column names are this file's constants; the values travel as parameters.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"  # noqa: S608


def _value(value: object, sqlite: bool) -> object:
    """A value as the driver takes it (SQLite: as SQLAlchemy stores it; psycopg: native)."""
    if isinstance(value, uuid.UUID):
        return value.hex if sqlite else value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value
    if isinstance(value, list):
        return json.dumps(value) if sqlite else Jsonb(value)
    return value


def load(engine: Engine, n: int, n_teams: int) -> list[uuid.UUID]:
    """Write the teams and n cases with their stage history (the driver's executemany, in
    batches: the ORM would take longer than the report); return the team ids."""
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    teams = [uuid.uuid4() for _ in range(n_teams)]
    with engine.begin() as conn:
        if not sqlite:
            conn.exec_driver_sql("SET session_replication_role = replica")  # no FK checks
        cur = conn.connection.cursor()
        team_rows = [
            (_value(t, sqlite), f"Bench team {i}", _value(NOW, sqlite)) for i, t in enumerate(teams)
        ]
        cur.executemany(_sql("teams", ("id", "name", "created_at"), mark), team_rows)
        cases: list[tuple[object, ...]] = []
        changes: list[tuple[object, ...]] = []
        for case, history in _rows(n, teams, seed=7):
            cases.append(tuple(_value(case[c], sqlite) for c in CASE_COLUMNS))
            changes.extend(tuple(_value(h[c], sqlite) for c in CHANGE_COLUMNS) for h in history)
            if len(cases) >= BATCH:
                cur.executemany(_sql("cases", CASE_COLUMNS, mark), cases)
                cur.executemany(_sql("case_stage_changes", CHANGE_COLUMNS, mark), changes)
                cases, changes = [], []
        if cases:
            cur.executemany(_sql("cases", CASE_COLUMNS, mark), cases)
            cur.executemany(_sql("case_stage_changes", CHANGE_COLUMNS, mark), changes)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return teams


def _actor(role: Role, teams: frozenset[uuid.UUID]) -> Actor:
    return Actor(uuid.uuid4(), role, teams, AuthMethod.BEARER, uuid.uuid4(), None)


def run(url: str, n: int, n_teams: int, repeats: int) -> None:
    """Load, then time each summary; print one line per case."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA foreign_keys=OFF"))
    began = time.perf_counter()
    teams = load(engine, n, n_teams)
    print(f"{engine.dialect.name}: loaded {n:,} cases in {time.perf_counter() - began:.0f} s")
    factory = make_sessionmaker(engine)
    # The loader wrote rows behind the application's back: build the maintained counts the
    # summary reads, as `haven reports rebuild` would (the application keeps them itself).
    began = time.perf_counter()
    with factory() as db:
        rows, _ = counts.rebuild(db)
        db.commit()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(
        f"{engine.dialect.name}: rebuilt the report counts ({rows:,} rows) in "
        f"{time.perf_counter() - began:.0f} s"
    )
    year = Period(
        (NOW.year - 1, NOW.month + 1) if NOW.month < 12 else (NOW.year, 1), (NOW.year, NOW.month)
    )
    whole = Period((START.year, START.month), (NOW.year, NOW.month))
    runs = {
        "auditor, every team, 36 months": (_actor(Role.AUDITOR, frozenset()), whole),
        "coordinator, one team, 36 months": (_actor(Role.COORDINATOR, frozenset(teams[:1])), whole),
        "auditor, every team, last 12 months": (_actor(Role.AUDITOR, frozenset()), year),
    }
    for name, (actor, period) in runs.items():
        times = []
        for _ in range(repeats):
            with factory() as db:
                t = time.perf_counter()
                summary = build_summary(db, actor=actor, period=period, team_id=None, k=5, now=NOW)
                times.append(time.perf_counter() - t)
        print(f"{engine.dialect.name} | {name} | median {statistics.median(times):.2f} s | "
              f"best {min(times):.2f} s | total shown {summary.total.text(5)}")  # fmt: skip
    engine.dispose()


def main() -> None:
    """Parse the options and run on SQLite, then PostgreSQL when configured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("HAVEN_TEST_POSTGRES_URL", ""))
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql"):
        if (args.only and backend != args.only) or (backend == "postgresql" and not args.postgres):
            continue
        with scratch(backend, args.postgres) as url:
            run(url, args.cases, args.teams, args.repeats)


if __name__ == "__main__":
    main()
