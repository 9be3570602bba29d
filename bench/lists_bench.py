"""Lists and the report summary at 1,000 to 1,000,000 cases: the same service calls timed at
each size, so their growth shows (issue 15: list p99 at a million <= 1.5x at a thousand;
issue 13: the summary under a second at a million).

    .venv/bin/python bench/lists_bench.py --cases 1000 100000 1000000 [--only sqlite]

For each size, a fresh migrated database is loaded by bench/reports_bench.py's loader
(plain columns and stage history, 20 teams, 36 months; no encrypted field: neither the list
nor the summary reads one), the report counts are rebuilt (as `haven reports rebuild`), and
a volunteer of team 0 is given 40% of that team's cases as tasks (a third of its
volunteers' share, as bench/dataset.py spreads them). Then, `--repeats` times each, as the
coordinator of team 0 (a twentieth of the cases):

- the case list's first page (50) by the default sort, by stage, by country (counted up to
  the cap), by last change, and its 20th page;
- the volunteer's task list: the page's statement and its bounded count (the tasks' texts,
  decrypted per row of the page in the real service, are the same work at any size);
- the summary: the auditor's (every team, 36 months) and the coordinator's.

Median and p99 (of the repeats) per call; nothing is asserted. PostgreSQL runs when
--postgres or HAVEN_TEST_POSTGRES_URL is set (a scratch database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

from audit_bench import scratch
from reports_bench import NOW, START, _actor, load

from app.cases import search
from app.db import make_engine, make_sessionmaker
from app.pagination import DEFAULT_COUNT_CAP, PageQuery, page_rows_bounded
from app.policy.permissions import Permission, Role
from app.reports import counts
from app.reports.service import Period, build_summary
from app.tasks.models import Task


def _tasks(engine: Engine, team: uuid.UUID, volunteer: uuid.UUID) -> int:
    """Give the volunteer 40% of the team's cases as tasks (texts are placeholder bytes:
    the timed statements select ids only)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if not sqlite:
            conn.exec_driver_sql("SET session_replication_role = replica")
        ids = conn.execute(
            text("SELECT id, created_at FROM cases WHERE team_id = :t"),
            {"t": team.hex if sqlite else team},
        ).all()
        rows = []
        for i, (case_id, created) in enumerate(ids):
            if i % 5 >= 2:
                continue
            due = None if i % 3 == 0 else NOW + timedelta(days=i % 40)
            rows.append(
                {
                    "id": uuid.uuid4().hex if sqlite else uuid.uuid4(),
                    "case_id": case_id,
                    "assigned_to": volunteer.hex if sqlite else volunteer,
                    "status": "open",
                    "due": None
                    if due is None
                    else (due.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else due),
                    "title": b"x",
                    "instructions": b"x",
                    "created_at": created,
                    "updated_at": created,
                }
            )
        conn.execute(
            text(
                "INSERT INTO tasks (id, case_id, assigned_to, status, due, title, instructions, "
                "created_at, updated_at) VALUES (:id, :case_id, :assigned_to, :status, :due, "
                ":title, :instructions, :created_at, :updated_at)"
            ),
            rows,
        )
        conn.execute(text("ANALYZE"))
    return len(rows)


def _time(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times), p99


def run(url: str, n: int, repeats: int) -> None:
    """Load n cases, then time each call; one line per call."""
    engine = make_engine(url)
    name = engine.dialect.name
    if name == "sqlite":
        event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA foreign_keys=OFF"))
    began = time.perf_counter()
    teams = load(engine, n, 20)
    factory = make_sessionmaker(engine)
    with factory() as db:
        counts.rebuild(db)
        db.commit()
    volunteer = uuid.uuid4()
    n_tasks = _tasks(engine, teams[0], volunteer)
    print(f"{name} {n:,}: loaded in {time.perf_counter() - began:.0f} s ({n_tasks:,} tasks)")
    coordinator = _actor(Role.COORDINATOR, frozenset(teams[:1]))
    now = datetime.now(UTC)
    whole = Period((START.year, START.month), (NOW.year, NOW.month))

    def page(db: Session, page: int = 1, sort: str = "-created", **f: Any) -> None:
        search.page_in_scope(
            db,
            keyring=None,  # type: ignore[arg-type] - plain filters open no key
            actor=coordinator,
            permission=Permission.CASE_LIST,
            f=search.Filters(**f),
            paging=PageQuery(page=page, per_page=50),
            sort=sort,
            now=now,
        )

    def tasks(db: Session) -> None:
        stmt = (
            select(Task.id)
            .where(Task.assigned_to == volunteer)
            .order_by(Task.due.is_(None), Task.due, Task.created_at, Task.id)
        )
        page_rows_bounded(db, stmt, PageQuery(page=1, per_page=50), cap=DEFAULT_COUNT_CAP)

    calls: dict[str, Callable[[Session], Any]] = {
        "case list, page 1": page,
        "case list, stage=documentation": lambda db: page(db, stage="documentation"),
        "case list, country=GE (capped count)": lambda db: page(db, country="GE"),
        "case list, sort=-updated": lambda db: page(db, sort="-updated"),
        "case list, page 20": lambda db: page(db, page=20),
        "volunteer task list": tasks,
        "summary, auditor, every team": lambda db: build_summary(
            db, actor=_actor(Role.AUDITOR, frozenset()), period=whole, team_id=None, k=5, now=NOW
        ),
        "summary, coordinator, one team": lambda db: build_summary(
            db, actor=coordinator, period=whole, team_id=None, k=5, now=NOW
        ),
    }
    for label, call in calls.items():
        with factory() as db:
            call(db)  # warm
            median, p99 = _time(lambda db=db, call=call: call(db), repeats)
        print(f"| {name} | {n:,} | {label} | {median * 1000:.1f} ms | {p99 * 1000:.1f} ms |")
    engine.dispose()


def main() -> None:
    """Parse the options and run each size on SQLite, then PostgreSQL when configured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--postgres", default=os.environ.get("HAVEN_TEST_POSTGRES_URL", ""))
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    for n in args.cases:
        for backend in ("sqlite", "postgresql"):
            if (args.only and backend != args.only) or (
                backend == "postgresql" and not args.postgres
            ):
                continue
            with scratch(backend, args.postgres) as url:
                run(url, n, args.repeats)


if __name__ == "__main__":
    main()
