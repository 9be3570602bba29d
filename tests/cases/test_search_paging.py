"""The case list pages in SQL (COUNT, LIMIT, OFFSET, the `need` filter) instead of loading
every case in scope; a personal search decrypts a bounded candidate set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from app.cases import search
from app.crypto.keyring import Keyring
from app.pagination import DEFAULT_PER_PAGE
from tests.cases.conftest import Org
from tests.factories import make_case

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL the engine runs inside the block."""
    seen: list[str] = []

    def grab(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        seen.append(" ".join(sql.split()))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def _cases(db: Session, keyring: Keyring, org: Org, n: int, **values: Any) -> list[str]:
    made = [
        make_case(
            db,
            keyring=keyring,
            team=org.team_a,
            assigned_to=org.caseworker,
            values=values,
            now=T0 + timedelta(minutes=i),
        )
        for i in range(n)
    ]
    return [str(c.id) for c in reversed(made)]  # newest first, as listed


def _count_keys_opened(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """A list that grows by one each time the search opens a case's data key."""
    opened: list[object] = []
    real = search.rec.case_key
    monkeypatch.setattr(search.rec, "case_key", lambda *a, **k: opened.append(1) or real(*a, **k))
    return opened


def test_the_list_pages_in_sql(
    client: TestClient, db: Session, org: Org, keyring: Keyring, engine: Engine
) -> None:
    ids = _cases(db, keyring, org, DEFAULT_PER_PAGE + 7)
    h = org.headers["caseworker"]
    with statements(engine) as seen:
        first = client.get("/api/v1/cases", headers=h).json()
    second = client.get("/api/v1/cases?page=2", headers=h).json()
    assert first["total"] == second["total"] == len(ids)
    assert [c["id"] for c in first["items"]] == ids[:DEFAULT_PER_PAGE]
    assert [c["id"] for c in second["items"]] == ids[DEFAULT_PER_PAGE:]
    case_selects = [s for s in seen if " FROM cases" in s and "audit" not in s]
    assert any("count(" in s.lower() for s in case_selects), case_selects
    listing = [s for s in case_selects if "count(" not in s.lower()]
    assert listing, case_selects
    assert all(" LIMIT " in s for s in listing), listing  # never every case in scope
    beyond = client.get("/api/v1/cases?page=3", headers=h).json()
    assert (beyond["items"], beyond["total"]) == ([], len(ids))


def test_the_need_filter_runs_in_sql_and_matches_whole_words(
    client: TestClient, db: Session, org: Org, keyring: Keyring, engine: Engine
) -> None:
    legal = _cases(db, keyring, org, 2, needs=["legal", "shelter"])
    _cases(db, keyring, org, 2, needs=["asylum"])
    _cases(db, keyring, org, 1)
    h = org.headers["caseworker"]
    with statements(engine) as seen:
        r = client.get("/api/v1/cases?need=legal", headers=h).json()
    assert sorted(c["id"] for c in r["items"]) == sorted(legal)
    assert r["total"] == len(legal)
    assert any("LIKE" in s.upper() and " LIMIT " in s for s in seen)
    assert client.get("/api/v1/cases?need=medical", headers=h).json()["total"] == 0
    body = {"need": "shelter", "date_of_birth": "1990-01-01"}
    assert client.post("/api/v1/cases/search", json=body, headers=h).json()["total"] == 0


def test_personal_search_confirms_and_pages(
    client: TestClient, db: Session, org: Org, keyring: Keyring
) -> None:
    ids = _cases(db, keyring, org, DEFAULT_PER_PAGE + 3, legal_name="Miroslav Testovy")
    _cases(db, keyring, org, 3, legal_name="Other Person")
    h = org.headers["caseworker"]
    body: dict[str, Any] = {"name": "Miroslav Testovy"}
    first = client.post("/api/v1/cases/search", json=body, headers=h).json()
    second = client.post("/api/v1/cases/search", json={**body, "page": 2}, headers=h).json()
    # The first page stops confirming after itself and one more: at least a page's worth.
    assert (first["total"], first["total_capped"]) == (DEFAULT_PER_PAGE, True)
    # The last page confirmed every candidate: the exact number.
    assert (second["total"], second["total_capped"]) == (len(ids), False)
    assert [c["id"] for c in first["items"] + second["items"]] == ids
    oldest = client.post(
        "/api/v1/cases/search", json={**body, "sort": "created", "per_page": 2}, headers=h
    ).json()
    assert [c["id"] for c in oldest["items"]] == ids[::-1][:2]  # the asked order, not newest


def test_a_page_of_a_common_name_decrypts_a_page_not_every_match(
    client: TestClient,
    db: Session,
    org: Org,
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hundreds share a common name at a million cases: one page costs one page (and one more
    to know there is more); the refused candidates (index collisions) are skipped, not shown."""
    ids = _cases(db, keyring, org, 40, legal_name="Miroslav Testovy")
    _cases(db, keyring, org, 5, legal_name="Other Person")
    opened = _count_keys_opened(monkeypatch)
    h = org.headers["caseworker"]
    body = {"name": "Miroslav Testovy", "per_page": 5}
    page = client.post("/api/v1/cases/search", json=body, headers=h).json()
    assert [c["id"] for c in page["items"]] == ids[:5]
    assert (page["total"], page["total_capped"]) == (5, True)
    assert len(opened) == 6  # five shown and one that proves a next page
    opened.clear()
    last = client.post("/api/v1/cases/search", json={**body, "page": 8}, headers=h).json()
    assert [c["id"] for c in last["items"]] == ids[35:]
    assert (last["total"], last["total_capped"]) == (40, False)
    assert len(opened) == 40  # the whole name was needed to reach its last page
    none_left = client.post("/api/v1/cases/search", json={**body, "page": 9}, headers=h).json()
    assert (none_left["items"], none_left["total"], none_left["total_capped"]) == ([], 40, False)


def test_too_many_candidates_is_refused_not_decrypted(
    client: TestClient,
    db: Session,
    org: Org,
    keyring: Keyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cases(db, keyring, org, 4, date_of_birth="1990-01-01")
    monkeypatch.setattr(search, "MAX_CANDIDATES", 3)
    opened = _count_keys_opened(monkeypatch)
    h = org.headers["caseworker"]
    r = client.post("/api/v1/cases/search", json={"date_of_birth": "1990-01-01"}, headers=h)
    assert r.status_code == 422
    assert r.json()["code"] == "search_too_broad"
    assert opened == []  # refused before any case key was opened
    narrower = {"date_of_birth": "1990-01-01", "code": "HV-2026-000000"}
    assert client.post("/api/v1/cases/search", json=narrower, headers=h).status_code == 200
