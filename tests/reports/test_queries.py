"""The report's counts (read from the maintained report_counts) answer what the plain-Python
model of tests/reports/model.py answers for the same cases, on both databases (so the
property tests, which run on the model, speak for the service), and one statement reads them
for 5 cases as for 40."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from app.crypto.keyring import Keyring
from app.reports import queries
from app.reports.queries import Population
from app.security.clock import FrozenClock
from tests.conftest import StatementCounter
from tests.factories import make_team
from tests.reports.conftest import Spec, add_cases
from tests.reports.model import Plain, raw_counts

CITIZENSHIPS = ["RU", "BY", "UA", None]
SITUATIONS = ["deserted", "awol", "refused_service", None]
COUNTRIES = ["GE", "KZ", "AM", None]
NEEDS = [[], ["legal"], ["legal", "visa"], ["shelter", "medical", "documents"]]


def _specs(seed: int, n: int) -> list[Spec]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        moves: list[tuple[str, int]] = []
        day = 0
        for stage in rng.choice([[], ["documentation"], ["documentation", "referral"], ["closed"]]):
            day += rng.randint(1, 30)
            moves.append((stage, day))
        out.append(
            Spec(
                citizenship=rng.choice(CITIZENSHIPS),
                situation=rng.choice(SITUATIONS),
                current_country=rng.choice(COUNTRIES),
                needs=rng.choice(NEEDS),
                source=rng.choice(["staff", "self_referral"]),
                age_days=rng.randint(100, 300),
                moves=moves,
                outcome_kind=rng.choice([None, "contact_lost", "protection_granted"]),
            )
        )
    return out


def _month(at: datetime) -> tuple[int, int]:
    return (at.year, at.month)


def _plain(spec: Spec, now: datetime) -> Plain:
    created = now - timedelta(days=spec.age_days)
    stays, stage, began = [], "intake", 0
    closed = None
    for to, day in spec.moves:
        stays.append((stage, day - began))
        stage, began = to, day
        if to == "closed":
            at = created + timedelta(days=day)
            closed = (at.year, at.month)
    return Plain(
        team=0,
        month=(created.year, created.month),
        stage=stage,
        citizenship=spec.citizenship,
        situation=spec.situation,
        current_country=spec.current_country,
        source=spec.source,
        needs=tuple(spec.needs),
        closed=closed,
        stays=tuple(stays),
        outcome_kind=spec.outcome_kind,
    )


def test_the_sql_counts_what_the_model_counts(
    db: Session, keyring: Keyring, clock: FrozenClock
) -> None:
    now = clock.now()
    team, other = make_team(db), make_team(db)
    specs = _specs(7, 30)
    add_cases(db, keyring, team, specs, now=now)
    add_cases(db, keyring, other, _specs(8, 5), now=now)
    pop = Population(frozenset({team.id}), _month(now - timedelta(days=400)), _month(now))
    got = queries.collect(db, pop)
    want = raw_counts([_plain(s, now) for s in specs])
    assert got == want


def test_the_period_takes_in_by_month_of_intake(
    db: Session, keyring: Keyring, clock: FrozenClock
) -> None:
    now = clock.now()
    team = make_team(db)
    specs = _specs(9, 12)
    add_cases(db, keyring, team, specs, now=now)
    start = (datetime(now.year, now.month, 1, tzinfo=UTC) - timedelta(days=150)).replace(day=1)
    pop = Population(frozenset({team.id}), _month(start), _month(now))
    got = queries.collect(db, pop)
    inside = [s for s in specs if now - timedelta(days=s.age_days) >= start]
    assert got.total == len(inside)


def test_a_summary_sends_one_statement_for_40_cases_as_for_5(
    db: Session, keyring: Keyring, clock: FrozenClock, sql_statements: StatementCounter
) -> None:
    now = clock.now()
    small, large = make_team(db), make_team(db)
    add_cases(db, keyring, small, _specs(1, 5), now=now)
    add_cases(db, keyring, large, _specs(2, 40), now=now)
    counts = []
    for team in (small, large):
        pop = Population(frozenset({team.id}), _month(now - timedelta(days=400)), _month(now))
        with sql_statements.counting() as seen:
            queries.collect(db, pop)
        counts.append(len(seen))
    assert counts[0] == counts[1] == 1
