"""`haven demo` cases: invented Cyrillic names with Latin aliases, every stage the gates
reach, tasks for the demo volunteer, one self-referral; a second run adds nothing."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, select

from app.cases import record as rec
from app.cases.demo import load_demo_cases
from app.cases.models import Case
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import upgrade
from app.referrals.models import Referral
from app.tasks.models import Task
from app.users.demo import ensure_demo_accounts
from tests.conftest import ScratchDatabase


def test_demo_cases_are_believable_and_idempotent(
    fresh_db: ScratchDatabase, keyring: Keyring
) -> None:
    upgrade(fresh_db.url)
    engine = make_engine(fresh_db.url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as db:
        ensure_demo_accounts(db, keyring=keyring)
    first = load_demo_cases(factory, keyring=keyring, target=25, seed=7)
    assert (first.added, first.self_referral) == (25, True)
    assert first.tasks > 0
    again = load_demo_cases(factory, keyring=keyring, target=25, seed=7)
    assert (again.added, again.tasks, again.self_referral) == (0, 0, False)
    with transaction(factory) as db:
        cases = list(db.scalars(select(Case)))
        assert len(cases) == 26
        stages = Counter(c.stage for c in cases)
        assert set(stages) == {"intake", "documentation", "referral", "follow_up", "closed"}
        refs = Counter(db.scalars(select(Referral.status)))
        assert refs["sent"] == stages["follow_up"] > 0
        assert refs["draft"] == stages["referral"] > 0
        assert any(c.assigned_to is None and c.source == "staff" for c in cases)
        assert sum(c.source == "self_referral" for c in cases) == 1
        assert db.scalar(select(func.count()).select_from(Task)) == first.tasks
        staff_made = [c for c in cases if c.source == "staff"]
        citizenships = {c.citizenship for c in staff_made}
        assert citizenships <= {"RU", "BY", "UA"}
        assert len(citizenships) >= 2
        for case in staff_made[:10]:
            f = rec.read(case, rec.case_key(db, keyring=keyring, case=case))
            assert re.search(r"[А-Яа-яІіЎўЇїЄєҐґ]", f["legal_name"])
            assert re.fullmatch(r"[A-Za-z' -]+", f["aliases"][0])
            assert f["contacts"][0]["value"].split(".")[0].endswith("_demo")
    engine.dispose()
