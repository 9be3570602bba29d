"""The reports pages: the summary with counts and charts, the empty summary, and the filter
form with its errors."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.policy.permissions import Role
from app.users.models import Team, TeamMembership
from tests.factories import make_case
from tests.pages.registry import PageVisit, Visitor

# A small synthetic population: some categories busy enough to be shown, some hidden.
_POPULATION = (
    (
        {"citizenship": "RU", "situation": "deserted", "current_country": "GE", "needs": ["legal"]},
        9,
    ),
    (
        {
            "citizenship": "RU",
            "situation": "evading_mobilisation",
            "current_country": "KZ",
            "needs": ["visa", "legal"],
        },
        7,
    ),
    (
        {
            "citizenship": "BY",
            "situation": "refused_service",
            "current_country": "LT",
            "needs": ["asylum"],
        },
        2,
    ),
)


def _place_names(v: Visitor) -> None:
    """Teams named after places, as networks name them (the factories' "Team …" is an
    English word the page test would take for untranslated text)."""
    for i, team in enumerate(v.db.scalars(select(Team)).all()):
        team.name = f"{('Tbilisi', 'Vilnius', 'Astana')[i % 3]} {team.id.hex[:4]}"
    v.db.flush()


def _with_cases(v: Visitor) -> httpx.Response:
    user = v.signed_in(Role.COORDINATOR)
    membership = select(TeamMembership.team_id).where(TeamMembership.user_id == user.id)
    _fill(v, v.db.get_one(Team, v.db.scalars(membership).first()))
    _place_names(v)
    return v.client.get("/reports")


def _fill(v: Visitor, team: Team) -> None:
    keyring = v.client.app.state.keyring  # type: ignore[attr-defined]
    for values, n in _POPULATION:
        for _ in range(n):
            make_case(v.db, keyring=keyring, team=team, values=values, now=v.clock.now())


def _empty(v: Visitor) -> httpx.Response:
    v.signed_in(Role.AUDITOR)
    _place_names(v)
    return v.client.get("/reports?since=2020-01&until=2020-03")


def _wrong_filters(v: Visitor) -> httpx.Response:
    v.signed_in(Role.AUDITOR)
    _place_names(v)
    return v.client.get("/reports?since=2026-13&until=last+week")


PAGES = (
    PageVisit("reports", "GET", "/reports", _with_cases),
    PageVisit("reports-empty", "GET", "/reports", _empty),
    PageVisit("reports-wrong-filters", "GET", "/reports", _wrong_filters, 422),
)

NOT_PAGES = {
    "/reports/export.csv": "a CSV download of the page's tables (tests/reports/test_pages.py)",
}
