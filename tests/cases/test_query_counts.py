"""How many SQL statements the hot routes send (a functional property, not a timing): an
audited case read and a case list page each stay under a ceiling, so a lookup added per
request (or per row) shows up here. Counted with SQLAlchemy's engine events."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.cases.conftest import Org
from tests.casework import PERSON
from tests.conftest import StatementCounter

# Statements per request, counting the test's SAVEPOINT and RELEASE (BEGIN and COMMIT in
# production are not statements here). A read: the session with its account (one join),
# the account's teams, the case in scope, its data key, the revision that vouches for an
# authorising field, the audit entry and its pending row. A list page: session and account,
# teams, the caller's break-glass grants, the total and the page.
READ_CEILING = 9
LIST_CEILING = 7


def test_an_audited_case_read_stays_under_its_query_ceiling(
    client: TestClient, org: Org, sql_statements: StatementCounter
) -> None:
    h = org.headers["caseworker"]
    made = client.post("/api/v1/cases", json=PERSON, headers=h)
    assert made.status_code == 201
    case_id = made.json()["id"]
    client.get(f"/api/v1/cases/{case_id}", headers=h)  # the session's first touch
    with sql_statements.counting() as statements:
        r = client.get(f"/api/v1/cases/{case_id}", headers=h)
    assert r.status_code == 200
    assert len(statements) <= READ_CEILING, statements


def test_a_case_list_page_stays_under_its_query_ceiling(
    client: TestClient, org: Org, sql_statements: StatementCounter
) -> None:
    h = org.headers["caseworker"]
    for _ in range(3):
        assert client.post("/api/v1/cases", json=PERSON, headers=h).status_code == 201
    client.get("/api/v1/cases", headers=h)
    with sql_statements.counting() as few:
        assert client.get("/api/v1/cases?per_page=50", headers=h).status_code == 200
    for _ in range(6):
        assert client.post("/api/v1/cases", json=PERSON, headers=h).status_code == 201
    with sql_statements.counting() as more:
        r = client.get("/api/v1/cases?per_page=50", headers=h)
    assert r.status_code == 200
    assert len(r.json()["items"]) >= 9
    assert len(more) == len(few), "a statement per row"
    assert len(more) <= LIST_CEILING, "\n".join(s[:50].replace("\n", " ") for s in more)
