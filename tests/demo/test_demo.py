"""`haven demo` cases: invented Cyrillic names with Latin aliases, every stage the gates
reach, tasks for the demo volunteer, one self-referral; a second run adds nothing."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cases import record as rec
from app.cases.models import Case, CaseDeadline
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.demo.accounts import ensure_demo_accounts
from app.demo.cases import demo_pdf, load_demo_cases
from app.documents import service as documents
from app.documents.blobs import BlobStore
from app.documents.models import Document
from app.migrate import upgrade
from app.referrals.models import Referral
from app.tasks.models import Task
from app.users.models import User
from tests.conftest import ScratchDatabase
from tests.factories import actor_of


def test_demo_cases_are_believable_and_idempotent(
    fresh_db: ScratchDatabase, keyring: Keyring, tmp_path: Path
) -> None:
    upgrade(fresh_db.url)
    engine = make_engine(fresh_db.url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as db:
        ensure_demo_accounts(db, keyring=keyring)
    store = BlobStore(tmp_path / "blobs")
    first = load_demo_cases(factory, keyring=keyring, target=25, seed=7, store=store)
    assert (first.added, first.self_referral) == (25, True)
    assert first.tasks > 0
    assert first.documents > 0
    again = load_demo_cases(factory, keyring=keyring, target=25, seed=7, store=store)
    assert (again.added, again.tasks, again.self_referral, again.documents) == (0, 0, False, 0)
    with transaction(factory) as db:
        cases = list(db.scalars(select(Case)))
        assert len(cases) == 26
        stages = Counter(c.stage for c in cases)
        assert set(stages) == {"intake", "documentation", "referral", "follow_up", "closed"}
        refs = Counter(db.scalars(select(Referral.status)))
        assert refs["sent"] == stages["follow_up"] > 0
        assert refs["draft"] == stages["referral"] > 0
        assert any(c.assigned_to is None and c.source == "staff" for c in cases)
        # Every feature can be tried: two coordinators (four-eyes erasure), a caseworker
        # with cases of their own, a volunteer with open tasks, hearings coming up.
        team_coordinators = db.scalars(select(User).where(User.role == "coordinator")).all()
        assert len(team_coordinators) == 2
        worker = db.scalars(select(User).where(User.role == "caseworker")).one()
        assert sum(c.assigned_to == worker.id for c in cases) >= 10
        assert db.scalar(select(func.count()).select_from(Task).where(Task.status == "open"))
        assert db.scalar(select(func.count()).select_from(CaseDeadline)) > 0
        assert sum(c.source == "self_referral" for c in cases) == 1
        assert db.scalar(select(func.count()).select_from(Task)) == first.tasks
        docs = list(db.scalars(select(Document)))
        assert len(docs) == first.documents
        coordinator = db.scalars(select(User).where(User.role == "coordinator")).first()
        assert coordinator is not None
        for doc in docs[:3]:  # each reads back whole through the documents service
            case = db.get_one(Case, doc.case_id)
            assert case.stage != "intake"
            actor = actor_of(db, coordinator)
            got = documents.open_download(
                db, keyring=keyring, store=store, actor=actor, case=case, doc=doc
            )
            body = b"".join(got.chunks)
            assert (got.content_type, got.name.endswith("-demo.pdf")) == ("application/pdf", True)
            assert body.startswith(b"%PDF-1.4")
            assert b"invented document" in body
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


def test_the_demo_pdf_is_well_formed() -> None:
    """Every cross-reference offset points at its object, and the trailer at the table."""
    pdf = demo_pdf("A title - DEMO")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[xref:].startswith(b"xref\n0 6\n")
    entries = pdf[xref:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry.split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert pdf.endswith(b"%%EOF\n")
    with pytest.raises(UnicodeEncodeError):
        demo_pdf("Повестка")  # the standard fonts carry no Cyrillic: refused, not garbled
