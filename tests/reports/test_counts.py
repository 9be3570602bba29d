"""The maintained report counts (app/reports/counts.py) stay equal to a recomputation from the
cases after any sequence of case writes, on both databases: creation, updates of every
reportable field through the case service, stage changes (with the stage history), a
changed team or intake time, expired objects written without being read first, and
erasure. Also: `haven reports rebuild` puts a damaged table right and is audited, and the
migration builds the table from cases already there."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.audit.tree import sequence_now
from app.cases import service as case_service
from app.cases.erasure import erase_case
from app.cases.models import Case, StageChange
from app.cases.vocab import Need, OutcomeKind, Situation, Stage
from app.crypto.keyring import Keyring
from app.reports import counts
from app.reports.counts import ReportCount
from app.security.clock import FrozenClock
from app.users.models import Team
from tests.conftest import ScratchDatabase
from tests.factories import make_case, make_team

COUNTRIES = ["RU", "BY", "UA", "GE", "KZ", None]
plain_values = st.fixed_dictionaries(
    {},
    optional={
        "citizenship": st.sampled_from(COUNTRIES),
        "current_country": st.sampled_from(COUNTRIES),
        "situation": st.sampled_from([s.value for s in Situation] + [None]),
        "needs": st.lists(st.sampled_from([n.value for n in Need]), max_size=3, unique=True),
        "outcome_kind": st.sampled_from([o.value for o in OutcomeKind] + [None]),
    },
)
creates = st.tuples(st.just("create"), st.integers(0, 1), plain_values, st.integers(0, 400))
updates = st.tuples(st.just("update"), st.integers(0, 30), plain_values)
moves = st.tuples(
    st.just("move"),
    st.integers(0, 30),
    st.sampled_from([s.value for s in Stage]),
    st.integers(0, 90),
    # Seconds past the whole days: stays that end earlier in the day than they began.
    st.integers(0, 86_399),
)
teams = st.tuples(st.just("team"), st.integers(0, 30), st.integers(0, 1))
backdates = st.tuples(st.just("backdate"), st.integers(0, 30), st.integers(0, 400))
erases = st.tuples(st.just("erase"), st.integers(0, 30))
expires = st.tuples(st.just("expire"))
operations = st.lists(
    st.one_of(creates, creates, updates, moves, moves, teams, backdates, erases, expires),
    min_size=1,
    max_size=14,
)


def _case(cases: list[uuid.UUID], index: int) -> uuid.UUID | None:
    return cases[index % len(cases)] if cases else None


def _run(
    db: Session, keyring: Keyring, pair: list[Team], now: datetime, ops: list[tuple[Any, ...]]
) -> None:
    cases: list[uuid.UUID] = []
    clock = now
    for op in ops:
        clock += timedelta(hours=7)
        kind = op[0]
        if kind == "create":
            values = {k: v for k, v in op[2].items() if v is not None}
            made = make_case(
                db,
                keyring=keyring,
                team=pair[op[1]],
                values=values,
                now=now - timedelta(days=op[3]),
            )
            cases.append(made.id)
            continue
        if kind == "expire":
            db.flush()
            db.expire_all()
            continue
        case_id = _case(cases, op[1])
        if case_id is None:
            continue
        case = db.get(Case, case_id)
        assert case is not None
        if kind == "update":
            case_service.apply_changes(
                db, keyring=keyring, actor=None, case=case, changes=dict(op[2]), now=clock
            )
        elif kind == "move":
            # What app/cases/transitions.py writes (its gates are not what is tested here).
            at = case.created_at + timedelta(days=op[3], seconds=op[4], microseconds=op[4] % 7)
            db.add(StageChange(case_id=case.id, at=at, from_stage=case.stage, to_stage=op[2]))
            case.stage = op[2]
            case.closed_at = at if op[2] == Stage.CLOSED.value else None
        elif kind == "team":
            case.team_id = pair[op[2]].id
        elif kind == "backdate":
            case.created_at = now - timedelta(days=op[2])
        elif kind == "erase":
            erase_case(db, case=case, blob_store=None)
            cases.remove(case_id)
        db.flush()


def _nonzero(c: Counter[counts.Key]) -> dict[counts.Key, int]:
    return {k: n for k, n in c.items() if n}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_after_any_case_writes_the_counts_equal_a_recomputation(
    db: Session, keyring: Keyring, clock: FrozenClock, ops: list[tuple[Any, ...]]
) -> None:
    savepoint = db.begin_nested()
    try:
        pair = [make_team(db), make_team(db)]
        _run(db, keyring, pair, clock.now(), ops)
        db.flush()
        want = _nonzero(counts.recompute(db))
        assert _nonzero(counts.stored(db)) == want
        assert all(r.n >= 0 for r in db.scalars(select(ReportCount)))
        # The rebuild (SQL: every dimension in one statement, then the spells) counts the same.
        _, changed = counts.rebuild(db)
        assert _nonzero(counts.stored(db)) == want
        assert changed == 0
    finally:
        savepoint.rollback()
        db.expire_all()


def test_the_counts_are_not_empty_and_move_with_a_case(
    db: Session, keyring: Keyring, clock: FrozenClock
) -> None:
    """The equality above is not met by an empty table: a case is counted, and moved."""
    now = clock.now()
    team = make_team(db)
    case = make_case(db, keyring=keyring, team=team, values={"situation": "awol"}, now=now)
    db.flush()
    stored = counts.stored(db)
    month = counts.month_of(now)
    assert stored[(team.id, month, "situation", "awol", "")] == 1
    assert stored[(team.id, month, "stage", "intake", "")] == 1
    later = now + timedelta(days=3)
    db.add(StageChange(case_id=case.id, at=later, from_stage="intake", to_stage="closed"))
    case.stage, case.closed_at = "closed", later
    db.flush()
    stored = counts.stored(db)
    assert stored[(team.id, month, "stage", "intake", "")] == 0
    assert stored[(team.id, month, "stage", "closed", "")] == 1
    assert stored[(team.id, month, "spell", "intake", "3")] == 1
    erase_case(db, case=case, blob_store=None)
    db.flush()
    assert _nonzero(counts.stored(db)) == {}


def test_rebuild_puts_a_damaged_table_right(
    db: Session, keyring: Keyring, clock: FrozenClock
) -> None:
    team = make_team(db)
    for _ in range(3):
        make_case(db, keyring=keyring, team=team, values={"needs": ["legal"]}, now=clock.now())
    db.flush()
    good = _nonzero(counts.stored(db))
    db.execute(update(ReportCount).values(n=ReportCount.n + 7))
    assert _nonzero(counts.stored(db)) != good
    rows, changed = counts.rebuild(db)
    assert _nonzero(counts.stored(db)) == good
    assert rows == len(good)
    assert changed == len(good)


def test_the_cli_rebuilds_and_audits(
    committed: tuple[Engine, Any], fresh_db: ScratchDatabase, keyring: Keyring, monkeypatch: Any
) -> None:
    from app.cli import cli

    engine, factory = committed
    with factory() as db:
        team = make_team(db)
        make_case(db, keyring=keyring, team=team, values={"situation": "awol"})
        db.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM report_counts"))
    monkeypatch.setenv("HAVEN_DATABASE_URL", fresh_db.url)
    monkeypatch.setenv("HAVEN_SEAL_MODE", "dev")
    monkeypatch.setenv("HAVEN_AUDIT_ORIGIN", "haven.test/audit")
    result = CliRunner().invoke(cli, ["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    with factory() as db:
        assert _nonzero(counts.stored(db)) == _nonzero(counts.recompute(db)) != {}
        actions = db.scalars(text("SELECT action FROM audit_entries")).all()
        assert "sys.report_counts_rebuilt" in actions


def test_the_migration_builds_the_counts_from_the_cases_there(
    committed: tuple[Engine, Any], fresh_db: ScratchDatabase, keyring: Keyring
) -> None:
    from app.migrate import downgrade, upgrade

    engine, factory = committed
    with factory() as db:
        team = make_team(db)
        for situation in ("awol", "awol", "deserted"):
            make_case(db, keyring=keyring, team=team, values={"situation": situation})
        db.commit()
        want = _nonzero(counts.stored(db))
    assert want[(team.id, next(iter(want))[1], "situation", "awol", "")] == 2
    sequence_now(factory)  # the audit_pending downgrade refuses to drop unsequenced entries
    engine.dispose()
    downgrade(fresh_db.url, "0012_admin")
    upgrade(fresh_db.url)
    with factory() as db:
        assert _nonzero(counts.stored(db)) == want
