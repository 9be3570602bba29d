"""Case lists (`GET /cases`) and search (`POST /cases/search`): the list shape only, scope
as the policy says, plain filters in the URL and personal terms never, a constant number of
SQL statements and no decryption whatever the length of the list."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.cases.list_pages import PER_PAGE
from app.cases.models import Case
from app.config import Settings
from app.crypto import aead
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from app.users.models import Team, User
from app.users.service import team_ids_of
from tests.conftest import StatementCounter
from tests.factories import make_case, make_team, make_user
from tests.pages.registry import PAGES, Visitor

PERSON = {"legal_name": "Oleg Primerov", "date_of_birth": "1998-03-14"}


@pytest.fixture
def visitor(client: TestClient, db: Session, clock: FrozenClock) -> Visitor:
    return Visitor(client=client, db=db, clock=clock, locale="en")


def _team(db: Session, user: User) -> Team:
    return db.get_one(Team, team_ids_of(db, user.id)[0])


def _cases(
    v: Visitor, team: Team, n: int, *, to: User | None = None, **values: object
) -> list[Case]:
    keyring = v.client.app.state.keyring  # type: ignore[attr-defined]
    base = {"current_country": "GE", "situation": "deserted", "needs": ["legal"]}
    return [
        make_case(v.db, keyring=keyring, team=team, assigned_to=to, values=base | values)
        for _ in range(n)
    ]


def test_my_cases_show_the_list_shape_and_nothing_personal(visitor: Visitor, db: Session) -> None:
    worker = visitor.signed_in(Role.CASEWORKER)
    mine = _cases(visitor, _team(db, worker), 2, to=worker, risk_level="high", **PERSON)
    others = _cases(visitor, _team(db, worker), 1, **PERSON)  # the team's, not assigned
    r = visitor.client.get("/cases?mine=true")
    assert r.status_code == 200
    assert "My cases" in r.text
    for case in mine:
        assert f'href="/cases/{case.id}"' in r.text
        assert case.case_code in r.text
    assert others[0].case_code not in r.text
    assert "Primerov" not in r.text
    assert "1998" not in r.text
    assert "High risk" in r.text
    assert "Georgia" in r.text
    assert "Legal help" in r.text


def test_a_coordinator_sees_the_team_and_filters_it(visitor: Visitor, db: Session) -> None:
    boss = visitor.signed_in(Role.COORDINATOR)
    team = _team(db, boss)
    high = _cases(visitor, team, 2, risk_level="high", needs=["asylum"])
    low = _cases(visitor, team, 2, risk_level="low", current_country="AM")
    elsewhere = _cases(visitor, make_team(db), 1, risk_level="high")
    everything = visitor.client.get("/cases").text
    assert all(c.case_code in everything for c in high + low)
    assert elsewhere[0].case_code not in everything
    r = visitor.client.get("/cases?risk=high&need=asylum&stage=intake&country=GE&sort=-risk")
    assert r.status_code == 200
    assert all(c.case_code in r.text for c in high)
    assert not any(c.case_code in r.text for c in low)
    armenia = visitor.client.get("/cases?country=AM").text
    assert all(c.case_code in armenia for c in low)
    assert high[0].case_code not in armenia


def test_a_wrong_filter_is_named_beside_its_field(visitor: Visitor) -> None:
    visitor.signed_in(Role.COORDINATOR)
    r = visitor.client.get("/cases?risk=enormous&country=XX")
    assert r.status_code == 422
    assert 'id="f-risk-error"' in r.text
    assert 'id="f-country-error"' in r.text
    assert "Traceback" not in r.text


def test_paging_keeps_the_filters_and_counts(visitor: Visitor, db: Session) -> None:
    boss = visitor.signed_in(Role.COORDINATOR)
    _cases(visitor, _team(db, boss), 30)
    first = visitor.client.get("/cases?country=GE")
    assert "30 cases" in first.text
    assert "Page 1 of 2" in first.text
    assert 'href="/cases?country=GE&amp;page=2"' in first.text
    second = visitor.client.get("/cases?country=GE&page=2")
    assert "Page 2 of 2" in second.text
    assert second.text.count("<tr>") - 1 == 5  # 25 a page; the header row aside


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.ADMIN, Role.AUDITOR])
def test_roles_without_cases_get_the_403_page(visitor: Visitor, role: Role) -> None:
    visitor.signed_in(role)
    assert visitor.client.get("/cases").status_code == 403
    home = visitor.client.get("/")
    data = {"name": "Primerov", "csrf_token": visitor.csrf(home.text)}
    assert visitor.client.post("/cases/search", data=data).status_code == 403


def test_a_stale_session_goes_to_sign_in(visitor: Visitor, settings: Settings) -> None:
    visitor.signed_in(Role.CASEWORKER)
    visitor.clock.advance(timedelta(minutes=settings.session_idle_minutes + 1))
    r = visitor.client.get("/cases?mine=true", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"


def _statements(v: Visitor, sql: StatementCounter, url: str) -> int:
    with sql.counting() as seen:
        assert v.client.get(url).status_code == 200
    return len(seen)


@pytest.mark.parametrize("who", [Role.CASEWORKER, Role.COORDINATOR])
def test_a_list_sends_as_many_statements_for_thirty_cases_as_for_three_and_decrypts_nothing(
    visitor: Visitor,
    db: Session,
    sql_statements: StatementCounter,
    monkeypatch: pytest.MonkeyPatch,
    who: Role,
) -> None:
    user = visitor.signed_in(who)
    team = _team(db, user)
    url = "/cases?mine=true" if who is Role.CASEWORKER else "/cases?country=GE"
    _cases(visitor, team, 3, to=user, **PERSON)
    visitor.client.get(url)  # the session's touch and caches settle
    few = _statements(visitor, sql_statements, url)
    _cases(visitor, team, 27, to=user, **PERSON)
    opened: list[str] = []
    real = aead.unseal

    def counted(*args: object, **kw: object) -> bytes:
        opened.append(str(kw.get("what", "")))
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(aead, "unseal", counted)
    many = _statements(visitor, sql_statements, url)
    assert few == many, (few, many)
    assert opened == [], opened


def test_search_finds_by_personal_terms_sent_only_in_the_body(
    visitor: Visitor, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    boss = visitor.signed_in(Role.COORDINATOR)
    team = _team(db, boss)
    (hit,) = _cases(
        visitor, team, 1, **PERSON, contacts=[{"channel": "phone", "value": "+995 555 12 34 56"}]
    )
    (miss,) = _cases(visitor, team, 1, legal_name="Ivan Drugov")
    (outside,) = _cases(visitor, make_team(db), 1, **PERSON)
    page = visitor.client.get("/cases")
    caplog.set_level(logging.DEBUG)
    data = {
        "name": "primerov",
        "date_of_birth": "1998-03-14",
        "csrf_token": visitor.csrf(page.text),
    }
    r = visitor.client.post("/cases/search", data=data, follow_redirects=False)
    assert r.status_code == 200
    assert "Search results" in r.text
    assert hit.case_code in r.text
    assert miss.case_code not in r.text
    assert outside.case_code not in r.text
    # The terms came back only inside the form, never in a link or an address.
    assert 'value="primerov"' in r.text
    assert "primerov" not in str(r.url)
    assert "primerov" not in " ".join(
        a for a in html.unescape(r.text).split('href="')[1:] if "primerov" in a.split('"')[0]
    )
    assert "primerov" not in caplog.text.lower()
    assert "1998-03-14" not in caplog.text
    entry = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "case.searched", AuditEntry.actor_id == boss.id)
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry is not None
    assert entry.fields == ["date_of_birth", "name"]
    assert "primerov" not in entry.body.lower()
    assert "1998" not in entry.body
    by_phone = {"phone": "+995 555 12 34 56", "csrf_token": visitor.csrf(page.text)}
    assert hit.case_code in visitor.client.post("/cases/search", data=by_phone).text


def test_search_mistakes_sit_beside_their_fields_and_what_was_typed_stays(
    visitor: Visitor,
) -> None:
    visitor.signed_in(Role.CASEWORKER)
    page = visitor.client.get("/cases?mine=true")
    data = {"name": "J", "phone": "call me", "csrf_token": visitor.csrf(page.text)}
    r = visitor.client.post("/cases/search", data=data)
    assert r.status_code == 422
    assert 'id="f-name-error"' in r.text
    assert 'id="f-phone-error"' in r.text
    assert 'aria-describedby="f-phone-error"' in r.text
    assert 'value="call me"' in r.text
    empty = visitor.client.post("/cases/search", data={"csrf_token": visitor.csrf(page.text)})
    assert empty.status_code == 422
    assert "Give a name, a phone" in empty.text


def test_search_without_the_csrf_token_is_refused(visitor: Visitor) -> None:
    visitor.signed_in(Role.CASEWORKER)
    assert visitor.client.post("/cases/search", data={"name": "Primerov"}).status_code == 403
    wrong = {"name": "Primerov", "csrf_token": "not-it"}
    assert visitor.client.post("/cases/search", data=wrong).status_code == 403


def test_a_search_in_the_url_is_not_a_search(visitor: Visitor, db: Session) -> None:
    boss = visitor.signed_in(Role.COORDINATOR)
    _cases(visitor, _team(db, boss), 1, **PERSON)
    r = visitor.client.get("/cases?name=Primerov")
    assert r.status_code == 200  # unknown parameters are ignored by the page
    assert 'value="Primerov"' not in r.text


def test_a_coordinator_finds_the_unassigned_cases_and_sees_who_has_the_others(
    visitor: Visitor, db: Session
) -> None:
    boss = visitor.signed_in(Role.COORDINATOR)
    team = _team(db, boss)
    worker = make_user(db, Role.CASEWORKER, teams=[team], email="tamar.w@example.invalid")
    (taken,) = _cases(visitor, team, 1, to=worker)
    (waiting,) = _cases(visitor, team, 1)
    everything = visitor.client.get("/cases").text
    assert "tamar.w" in everything
    assert "not assigned" in everything
    queue = visitor.client.get("/cases?assigned_to=none").text
    assert waiting.case_code in queue
    assert taken.case_code not in queue


def test_a_list_past_the_count_cap_says_at_least_and_the_whole_list_stays_exact(
    visitor: Visitor, db: Session, settings: Settings
) -> None:
    coordinator = visitor.signed_in(Role.COORDINATOR)
    _cases(visitor, _team(db, coordinator), 3)
    settings.list_count_cap = 2
    # Filtered by country: counted up to the cap, then "at least" (here: the 3 it shows).
    r = visitor.client.get("/cases?country=GE")
    assert r.status_code == 200
    assert "Cases found: 3+" in r.text
    assert "Page 1" in r.text
    assert "Page 1 of" not in r.text
    api = visitor.client.get("/api/v1/cases?country=GE").json()
    assert (api["total"], api["total_capped"]) == (3, True)
    # The whole list: exact from the kept counts, whatever the cap.
    r = visitor.client.get("/cases")
    assert "3 cases" in r.text
    assert "Cases found" not in r.text
    api = visitor.client.get("/api/v1/cases").json()
    assert (api["total"], api["total_capped"]) == (3, False)


def test_the_registered_capped_state_pages_on_without_a_last_page(visitor: Visitor) -> None:
    """The `cases-capped` page state (the cap set to 3 for the visit) is what it is named
    for: "at least" as many as the pages so far show, and previous, where we are, next."""
    (visit,) = (p for p in PAGES if p.name == "cases-capped")
    r = visit.reach(visitor)
    assert r.status_code == 200
    assert "Cases found: 50+" in r.text
    paging = re.search(r'<nav class="pages"[^>]*>(.*?)</nav>', r.text, re.S)
    assert paging, "no paging"
    shown = [" ".join(part.split()) for part in re.findall(r">([^<>]+)<", paging.group(1))]
    assert [p for p in shown if p] == ["Previous page", "Page 2", "Next page"]
    assert 'href="/cases?mine=true&amp;page=1" rel="prev"' in paging.group(1)
    assert 'href="/cases?mine=true&amp;page=3" rel="next"' in paging.group(1)


def test_a_search_past_its_page_says_at_least_and_pages_on_to_the_exact_end(
    visitor: Visitor, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared name confirms one page and one more: "at least" and a next page; the last
    page confirmed them all and knows the number."""
    monkeypatch.setattr("app.cases.list_pages.PER_PAGE", 2)
    coordinator = visitor.signed_in(Role.COORDINATOR)
    _cases(visitor, _team(db, coordinator), 4, **PERSON)
    token = visitor.csrf(visitor.client.get("/cases").text)
    first = visitor.client.post("/cases/search", data={"name": "primerov", "csrf_token": token})
    assert first.status_code == 200
    assert "Cases found: 2+" in first.text
    paging = re.search(r'<nav class="pages"[^>]*>(.*?)</nav>', first.text, re.S)
    assert paging, "no paging"
    assert 'name="page" value="2"' in paging.group(1)
    assert "Page 1 of" not in paging.group(1)
    data = {"name": "primerov", "page": "2", "csrf_token": token}
    last = visitor.client.post("/cases/search", data=data)
    assert "4 cases" in last.text
    assert "Page 2 of 2" in last.text
    assert 'value="3"' not in last.text


def test_the_registered_capped_search_says_at_least_and_pages_on(visitor: Visitor) -> None:
    """The `cases-search-capped` page state (a name shared by a page and two more) says "at
    least" and offers the next page, so the accessibility scan and the screenshots see it."""
    (visit,) = (p for p in PAGES if p.name == "cases-search-capped")
    r = visit.reach(visitor)
    assert r.status_code == 200
    assert f"Cases found: {PER_PAGE}+" in r.text
    assert re.search(r'<button[^>]*name="page"[^>]*value="2"', r.text), "no next-page button"
