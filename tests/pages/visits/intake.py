"""The intake interview (`/cases/new`) and the case lists and search (`/cases`,
`/cases/search`): every state that renders differently."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from app.cases import service as case_service
from app.cases.list_pages import PER_PAGE
from app.policy.permissions import Role
from app.users.models import User
from app.users.service import team_ids_of
from tests.factories import code_for
from tests.pages.registry import PageVisit, Visitor

# Synthetic people only.
PERSON = {
    "legal_name": "Oleg Primerov Testovich",
    "date_of_birth": "1998-03-14",
    "contact1_channel": "signal",
    "contact1_value": "oleg_primer.07",
}


def cases_for(v: Visitor, user: User, count: int, **values: object) -> None:
    """count cases in the user's team, assigned to them (a caseworker's) or not."""
    team = team_ids_of(v.db, user.id)[0]
    keyring = v.client.app.state.keyring  # type: ignore[attr-defined]
    for _ in range(count):
        case = case_service.create_case(
            v.db,
            keyring=keyring,
            actor=None,
            team_id=team,
            values=case_service.validate_fields(
                {"current_country": "GE", "situation": "deserted", "needs": ["legal"]}
                | dict(values)
            ),
            now=v.clock.now(),
        )
        case.assigned_to = user.id if user.role == Role.CASEWORKER.value else None
    v.db.flush()


def sign_in_again(v: Visitor, user: User) -> httpx.Response:
    """The sign-in form and the code step, as the person does it; the last step's answer."""
    assert v.password_step(user).headers["location"] == "/login/totp"
    page = v.client.get("/login/totp")
    data = {"code": code_for(user, v.clock), "csrf_token": v.csrf(page.text)}
    return v.client.post("/login/totp", data=data, follow_redirects=False)


def _new(v: Visitor) -> httpx.Response:
    v.signed_in(Role.CASEWORKER)
    return v.client.get("/cases/new")


def _post_new(v: Visitor, data: dict[str, str]) -> httpx.Response:
    page = _new(v)
    return v.client.post("/cases/new", data=data | {"csrf_token": v.csrf(page.text)})


def _new_errors(v: Visitor) -> httpx.Response:
    bad = {
        "legal_name": "x" * 300,
        "date_of_birth": "2999-01-01",
        "contact1_channel": "phone",
        "contact1_value": "not a number",
        "languages": "Russian!",
    }
    return _post_new(v, bad)


def _new_duplicates(v: Visitor) -> httpx.Response:
    return _post_new(v, PERSON | {"action": "check"})


def _new_duplicates_missing(v: Visitor) -> httpx.Response:
    return _post_new(v, {"legal_name": "Олег", "action": "check"})


def _kept(v: Visitor) -> str:
    """An interview posted after the session lapsed, then signed in again: its restore URL."""
    user = v.signed_in(Role.CASEWORKER)
    page = v.client.get("/cases/new")
    v.clock.advance(timedelta(hours=3))
    data = PERSON | {"csrf_token": v.csrf(page.text), "intake_notes": "Left his unit at night."}
    kept = v.client.post("/cases/new", data=data, follow_redirects=False)
    assert kept.headers["location"] == "/login?done=interview_kept", kept.text[:300]
    assert sign_in_again(v, user).headers["location"].startswith("/cases/new?draft=")
    return "/cases/new"


def _restored(v: Visitor) -> httpx.Response:
    _kept(v)
    page = v.client.get("/cases/new")
    draft = page.text.split("/cases/new?draft=")[1].split('"')[0]
    return v.client.get(f"/cases/new?draft={draft}")


def _kept_list(v: Visitor) -> httpx.Response:
    _kept(v)
    return v.client.get("/cases/new")


def _not_restored(v: Visitor) -> httpx.Response:
    v.signed_in(Role.CASEWORKER)
    return v.client.get(f"/cases/new?draft={uuid.uuid4()}")


def _login_after_keep(v: Visitor) -> httpx.Response:
    v.signed_in(Role.CASEWORKER)
    page = v.client.get("/cases/new")
    v.clock.advance(timedelta(hours=3))
    data = PERSON | {"csrf_token": v.csrf(page.text)}
    return v.client.post("/cases/new", data=data)


def _nothing_kept(v: Visitor) -> httpx.Response:
    return v.client.post("/cases/new", data=PERSON | {"csrf_token": "from-a-lost-session"})


def _mine(v: Visitor) -> httpx.Response:
    user = v.signed_in(Role.CASEWORKER)
    cases_for(v, user, 3, risk_level="high")
    return v.client.get("/cases?mine=true")


def _mine_empty(v: Visitor) -> httpx.Response:
    v.signed_in(Role.CASEWORKER)
    return v.client.get("/cases?mine=true")


def _team_filtered(v: Visitor) -> httpx.Response:
    user = v.signed_in(Role.COORDINATOR)
    cases_for(v, user, 30)
    return v.client.get("/cases?stage=intake&country=GE&need=legal&sort=-risk&page=2")


def _bad_filter(v: Visitor) -> httpx.Response:
    v.signed_in(Role.COORDINATOR)
    return v.client.get("/cases?stage=nowhere&country=XX")


def _capped(v: Visitor) -> httpx.Response:
    """More cases than the list counts (the cap set to 3): "N+" and paging without a last
    page, here a full middle page with a page before it and one after."""
    v.setting(list_count_cap=3)
    user = v.signed_in(Role.CASEWORKER)
    cases_for(v, user, 2 * PER_PAGE + 1)
    return v.client.get("/cases?mine=true&page=2")


def _search(v: Visitor) -> httpx.Response:
    user = v.signed_in(Role.COORDINATOR)
    cases_for(v, user, 2, legal_name="Oleg Primerov")
    page = v.client.get("/cases")
    return v.client.post(
        "/cases/search", data={"name": "Primerov", "csrf_token": v.csrf(page.text)}
    )


def _search_capped(v: Visitor) -> httpx.Response:
    """A name shared by more cases than a page holds: the search confirms one page and one
    more, so it says "at least" and offers the next page."""
    user = v.signed_in(Role.COORDINATOR)
    cases_for(v, user, PER_PAGE + 2, legal_name="Oleg Primerov")
    page = v.client.get("/cases")
    return v.client.post(
        "/cases/search", data={"name": "Primerov", "csrf_token": v.csrf(page.text)}
    )


def _search_errors(v: Visitor) -> httpx.Response:
    v.signed_in(Role.COORDINATOR)
    page = v.client.get("/cases")
    data = {"name": "J", "phone": "phone", "csrf_token": v.csrf(page.text)}
    return v.client.post("/cases/search", data=data)


PAGES: tuple[PageVisit, ...] = (
    PageVisit("intake-new", "GET", "/cases/new", _new),
    PageVisit("intake-errors", "POST", "/cases/new", _new_errors, 422),
    PageVisit("intake-duplicates", "POST", "/cases/new", _new_duplicates),
    PageVisit("intake-duplicates-missing", "POST", "/cases/new", _new_duplicates_missing),
    PageVisit("intake-kept-sign-in", "POST", "/cases/new", _login_after_keep),
    PageVisit("intake-nothing-kept", "POST", "/cases/new", _nothing_kept, 401),
    PageVisit("intake-kept-list", "GET", "/cases/new", _kept_list),
    PageVisit("intake-restored", "GET", "/cases/new", _restored),
    PageVisit("intake-not-restored", "GET", "/cases/new", _not_restored, 404),
    PageVisit("cases-mine", "GET", "/cases", _mine),
    PageVisit("cases-mine-empty", "GET", "/cases", _mine_empty),
    PageVisit("cases-team-filtered", "GET", "/cases", _team_filtered),
    PageVisit("cases-capped", "GET", "/cases", _capped),
    PageVisit("cases-bad-filter", "GET", "/cases", _bad_filter, 422),
    PageVisit("cases-search", "POST", "/cases/search", _search),
    PageVisit("cases-search-capped", "POST", "/cases/search", _search_capped),
    PageVisit("cases-search-errors", "POST", "/cases/search", _search_errors, 422),
)
