"""The case file's pages (app/cases/file_pages.py, file_acts.py), in every state that renders
differently: the file as coordinator and caseworker, under break-glass, each section's form,
its errors and a stale save, the consent form, the timeline, erasure, export, break-glass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.cases import consents, erasure
from app.cases.models import BreakGlassGrant, Case
from app.cases.values import Consent
from app.policy.permissions import Role
from app.users.models import User
from app.users.service import teams_of
from tests.factories import (
    PASSWORD,
    actor_of,
    code_for,
    make_case,
    make_partner,
    make_team,
    make_user,
)
from tests.pages.registry import PageVisit, Visitor

# An invented person (no real one is meant).
PERSON: dict[str, Any] = {
    "legal_name": "Oleg Ivanovich Primerov",
    "aliases": ["Oleg Primerov"],
    "date_of_birth": "1998-03-14",
    "citizenship": "US",
    "languages": ["en"],
    "current_country": "US",
    "current_city": "Tbilisi",
    "contacts": [{"channel": "signal", "value": "oleg_primer.07"}],
    "situation": "deserted",
    "service_status": "mobilised",
    "unit": "Unit 00000 (invented)",
    "criminal_case": {"article": "337", "status": "opened"},
    "wanted": {"status": "national"},
    "documents_held": [{"type": "foreign_passport", "expires_on": "2029-05-01"}],
    "needs": ["legal", "documents"],
    "risk_level": "high",
    "vetting": {"status": "verified", "by": "Anna K."},
    "protection": {
        "lawyer": "Mira Sokol",
        "hearings": [{"on": "2027-01-20", "place": "Tbilisi"}],
        "deadlines": [{"on": "2027-01-10", "what": "Submit the papers"}],
    },
    "movement": {
        "plan": "Meet at the station",
        # The form shows times to the minute (datetime-local), as people set them.
        "destroy_after": (datetime.now(UTC) + timedelta(days=20))
        .replace(second=0, microsecond=0)
        .isoformat(),
    },
    "intake_notes": "Left his unit in the autumn; needs a lawyer.",
}


def keyring_of(v: Visitor) -> Any:
    """The app's keyring (the test's)."""
    return v.client.app.state.keyring  # type: ignore[attr-defined]


def team_case(
    v: Visitor, role: Role = Role.COORDINATOR, values: dict[str, Any] | None = None
) -> tuple[User, Case]:
    """A signed-in person and a case of their team (assigned to them if a caseworker)."""
    user = v.signed_in(role)
    team = teams_of(v.db, user.id)[0]
    case = make_case(
        v.db,
        keyring=keyring_of(v),
        team=team,
        assigned_to=user if role is Role.CASEWORKER else None,
        values=PERSON if values is None else values,
        now=v.clock.now(),
    )
    return user, case


def reauth(v: Visitor, user: User) -> None:
    """Prove password and code again (a later code than the sign-in's)."""
    v.clock.advance(timedelta(seconds=31))
    page = v.client.get("/account/reauth?next=/")
    data = {"password": PASSWORD, "code": code_for(user, v.clock), "next": "/"}
    r = v.client.post("/account/reauth", data=data | {"csrf_token": v.csrf(page.text)})
    assert r.status_code in (200, 303), r.text[:300]


def url(case: Case, tail: str = "") -> str:
    """A path of the case's pages."""
    return f"/cases/{case.id}{tail}"


def _file(v: Visitor) -> httpx.Response:
    _, case = team_case(v)
    return v.client.get(url(case))


def _file_caseworker(v: Visitor) -> httpx.Response:
    _, case = team_case(v, Role.CASEWORKER)
    return v.client.get(url(case))


def _file_empty(v: Visitor) -> httpx.Response:
    _, case = team_case(v, values={})
    return v.client.get(url(case))


def _file_glass(v: Visitor) -> httpx.Response:
    user = v.signed_in(Role.CASEWORKER)
    case = make_case(v.db, keyring=keyring_of(v), team=make_team(v.db), values=PERSON)
    v.db.add(
        BreakGlassGrant(
            actor_id=user.id,
            case_id=case.id,
            created_at=v.clock.now(),
            expires_at=v.clock.now() + timedelta(hours=1),
        )
    )
    v.db.flush()
    return v.client.get(url(case))


def _stage_refused(v: Visitor) -> httpx.Response:
    _, case = team_case(v, values={"intake_notes": "First talk."})
    page = v.client.get(url(case))
    return v.client.post(
        url(case, "/stage"), data={"to": "documentation", "csrf_token": v.csrf(page.text)}
    )


def _assign_error(v: Visitor) -> httpx.Response:
    _, case = team_case(v)
    page = v.client.get(url(case))
    return v.client.post(
        url(case, "/assign"), data={"user_id": "", "csrf_token": v.csrf(page.text)}
    )


def _edit(section: str) -> Any:
    def reach(v: Visitor) -> httpx.Response:
        _, case = team_case(v)
        return v.client.get(url(case, f"/edit/{section}"))

    return reach


def _edit_errors(v: Visitor) -> httpx.Response:
    _, case = team_case(v)
    page = v.client.get(url(case, "/edit/reach"))
    data = {
        "csrf_token": v.csrf(page.text),
        "version": str(case.version),
        "current_country": "XX",
        "current_city": "Tbilisi",
        "contacts.0.channel": "phone",
        "contacts.0.value": "not a number",
    }
    return v.client.post(url(case, "/edit/reach"), data=data)


def _edit_person_errors(v: Visitor) -> httpx.Response:
    _, case = team_case(v)
    page = v.client.get(url(case, "/edit/person"))
    data = {
        "csrf_token": v.csrf(page.text),
        "version": str(case.version),
        "legal_name": "x" * 201,
        "date_of_birth": "14.03.1998",
        "languages": "russian",
    }
    return v.client.post(url(case, "/edit/person"), data=data)


def _edit_stale(v: Visitor) -> httpx.Response:
    _, case = team_case(v)
    page = v.client.get(url(case, "/edit/notes"))
    token = v.csrf(page.text)
    read = str(case.version)
    first = {"csrf_token": token, "version": read, "intake_notes": "First edit."}
    assert (
        v.client.post(url(case, "/edit/notes"), data=first, follow_redirects=False).status_code
        == 303
    )
    second = {"csrf_token": token, "version": read, "intake_notes": "Second edit."}
    return v.client.post(url(case, "/edit/notes"), data=second)


def _consent_new(v: Visitor) -> httpx.Response:
    _, case = team_case(v, Role.CASEWORKER)
    return v.client.get(url(case, "/consents/new"))


def _consent_errors(v: Visitor) -> httpx.Response:
    _, case = team_case(v, Role.CASEWORKER)
    page = v.client.get(url(case, "/consents/new"))
    data = {
        "csrf_token": v.csrf(page.text),
        "purpose": "share_with_partner",
        "legal_basis": "consent",
        "given_on": "yesterday",
    }
    return v.client.post(url(case, "/consents"), data=data)


def _with_consents(v: Visitor) -> httpx.Response:
    user, case = team_case(v)
    consent = Consent.model_validate(
        {"purpose": "store", "legal_basis": "consent", "given_at": "2026-11-20T10:00:00Z"}
    )
    actor = actor_of(v.db, user)
    added = consents.add(
        v.db, keyring=keyring_of(v), actor=actor, case=case, consent=consent, now=v.clock.now()
    )
    again = Consent.model_validate(consent.model_dump() | {"purpose": "contact"})
    consents.add(
        v.db, keyring=keyring_of(v), actor=actor, case=case, consent=again, now=v.clock.now()
    )
    consents.withdraw(
        v.db, keyring=keyring_of(v), actor=actor, case=case, consent_id=added.id, now=v.clock.now()
    )
    return v.client.get(url(case))


def _consent_withdraw(v: Visitor) -> httpx.Response:
    """The question before a consent to share is withdrawn (it blocks pending referrals)."""
    user, case = team_case(v)
    partner, _ = make_partner(v.db)
    consent = Consent.model_validate(
        {
            "purpose": "share_with_partner",
            "partner": str(partner.id),
            "legal_basis": "consent",
            "given_at": "2026-11-20T10:00:00Z",
        }
    )
    added = consents.add(
        v.db, keyring=keyring_of(v), actor=actor_of(v.db, user), case=case, consent=consent,
        now=v.clock.now(),
    )  # fmt: skip
    return v.client.get(url(case, f"/consents/{added.id}/withdraw"))


def _history(v: Visitor) -> httpx.Response:
    _, case = team_case(v)
    page = v.client.get(url(case, "/edit/needs"))
    data = {
        "csrf_token": v.csrf(page.text),
        "version": str(case.version),
        "needs": ["legal", "asylum"],
        "risk_level": "critical",
        "vetting.status": "verified",
    }
    assert (
        v.client.post(url(case, "/edit/needs"), data=data, follow_redirects=False).status_code
        == 303
    )
    return v.client.get(url(case, "/history"))


def _erase(v: Visitor) -> httpx.Response:
    user, case = team_case(v)
    reauth(v, user)
    return v.client.get(url(case, "/erase"))


def _erase_approve(v: Visitor) -> httpx.Response:
    user, case = team_case(v)
    first = make_user(v.db, Role.COORDINATOR, teams=teams_of(v.db, user.id))
    erasure.request_or_approve(
        v.db, actor=actor_of(v.db, first), case=case, now=v.clock.now(), blob_store=None
    )
    reauth(v, user)
    return v.client.get(url(case, "/erase"))


def _erase_on_hold(v: Visitor) -> httpx.Response:
    user, case = team_case(v)
    case.legal_hold = True
    v.db.flush()
    reauth(v, user)
    page = v.client.get(url(case, "/erase"))
    return v.client.post(url(case, "/erase"), data={"csrf_token": v.csrf(page.text)})


def _export(v: Visitor) -> httpx.Response:
    user, case = team_case(v)
    reauth(v, user)
    return v.client.get(url(case, "/export"))


def _break_glass(v: Visitor) -> httpx.Response:
    user = v.signed_in(Role.CASEWORKER)
    case = make_case(v.db, keyring=keyring_of(v), team=make_team(v.db), values=PERSON)
    reauth(v, user)
    return v.client.get(url(case, "/break-glass"))


def _break_glass_errors(v: Visitor) -> httpx.Response:
    user = v.signed_in(Role.CASEWORKER)
    case = make_case(v.db, keyring=keyring_of(v), team=make_team(v.db), values=PERSON)
    reauth(v, user)
    page = v.client.get(url(case, "/break-glass"))
    data = {"csrf_token": v.csrf(page.text), "reason": "urgent"}
    return v.client.post(url(case, "/break-glass"), data=data)


FILE = "/cases/{case_id}"
EDIT = "/cases/{case_id}/edit/{section}"
SECTION_KEYS = (
    "person",
    "reach",
    "service",
    "legal",
    "needs",
    "protection",
    "movement",
    "notes",
    "outcome",
)

PAGES: tuple[PageVisit, ...] = (
    PageVisit("case-file", "GET", FILE, _file),
    PageVisit("case-file-caseworker", "GET", FILE, _file_caseworker),
    PageVisit("case-file-empty", "GET", FILE, _file_empty),
    PageVisit("case-file-consents", "GET", FILE, _with_consents),
    PageVisit("case-file-break-glass", "GET", FILE, _file_glass),
    PageVisit("case-file-stage-refused", "POST", "/cases/{case_id}/stage", _stage_refused, 409),
    PageVisit("case-file-assign-error", "POST", "/cases/{case_id}/assign", _assign_error, 422),
    *(PageVisit(f"case-edit-{key}", "GET", EDIT, _edit(key)) for key in SECTION_KEYS),
    PageVisit("case-edit-errors", "POST", EDIT, _edit_errors, 422),
    PageVisit("case-edit-person-errors", "POST", EDIT, _edit_person_errors, 422),
    PageVisit("case-edit-stale", "POST", EDIT, _edit_stale, 409),
    PageVisit("case-consent-new", "GET", "/cases/{case_id}/consents/new", _consent_new),
    PageVisit("case-consent-errors", "POST", "/cases/{case_id}/consents", _consent_errors, 422),
    PageVisit(
        "case-consent-withdraw",
        "GET",
        "/cases/{case_id}/consents/{consent_id}/withdraw",
        _consent_withdraw,
    ),
    PageVisit("case-history", "GET", "/cases/{case_id}/history", _history),
    PageVisit("case-erase", "GET", "/cases/{case_id}/erase", _erase),
    PageVisit("case-erase-approve", "GET", "/cases/{case_id}/erase", _erase_approve),
    PageVisit("case-erase-on-hold", "POST", "/cases/{case_id}/erase", _erase_on_hold, 409),
    PageVisit("case-export", "GET", "/cases/{case_id}/export", _export),
    PageVisit("case-break-glass", "GET", "/cases/{case_id}/break-glass", _break_glass),
    PageVisit(
        "case-break-glass-errors", "POST", "/cases/{case_id}/break-glass", _break_glass_errors, 422
    ),
)
