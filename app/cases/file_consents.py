"""Consents on the case file, one at a time: record one, withdraw one, the others untouched
(the same services as POST /api/v1/cases/{id}/consents and .../withdraw)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.cases import consents
from app.cases.dependencies import CaseWrite
from app.cases.file_pages import back_to
from app.cases.labels import CONSENT_PURPOSES, LEGAL_BASES, choices
from app.cases.page_header import case_header
from app.cases.schemas import ConsentIn
from app.cases.vocab import ConsentPurpose
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.forms import DATE, read_form, validate
from app.i18n import LazyText, lazy
from app.policy.access import CaseAccess
from app.referrals import service as referrals
from app.web import render

router = APIRouter(tags=["pages"], include_in_schema=False)

CONSENT_PARTNER = lazy("Choose the partner this consent is for.")
CONSENT_NO_PARTNER = lazy("A partner is only chosen for consent to share.")
CONSENT_FIELDS = ("purpose", "partner", "legal_basis", "given_on")


def _consent_page(
    request: Request,
    db: Session,
    access: CaseAccess,
    *,
    values: dict[str, str],
    errors: Mapping[str, LazyText | str],
    status: int = 200,
) -> Response:
    context = {
        **case_header(db, access, now=_now(request)),
        "tab": "file",
        "values": values,
        "errors": dict(errors),
        "purposes": choices(CONSENT_PURPOSES),
        "bases": choices(LEGAL_BASES),
        "partners": [(str(p.id), p.name) for p in referrals.list_partners(db)],
    }
    return render(request, "cases/file/consent.html", context, status)


@router.get("/cases/{case_id}/consents/new")
def consent_form(request: Request, db: DbSession, access: CaseWrite) -> Response:
    """The form to record one consent."""
    today = _now(request).date().isoformat()
    values = {"purpose": "store", "legal_basis": "consent", "given_on": today}
    return _consent_page(request, db, access, values=values, errors={})


@router.post("/cases/{case_id}/consents")
async def record_consent(request: Request, db: DbSession, access: CaseWrite) -> Response:
    """Record one consent beside the others (the API's POST .../consents)."""
    values = await read_form(request, CONSENT_FIELDS)
    body: dict[str, Any] = {
        "purpose": values.get("purpose", ""),
        "legal_basis": values.get("legal_basis", ""),
        "given_at": _given_at(values.get("given_on", "")),
    }
    if values.get("partner"):
        body["partner"] = values["partner"]
    parsed, errors = validate(
        ConsentIn,
        body,
        field_of=_consent_field,
        messages={"given_on": {"datetime_parsing": DATE, "datetime_from_date_parsing": DATE}},
    )
    purposes = {p.value for p in ConsentPurpose}
    if parsed is None and "partner" in errors and body["purpose"] in purposes:
        # The schema's own check (a partner for sharing, and only for it) says it generally.
        share = body["purpose"] == ConsentPurpose.SHARE_WITH_PARTNER
        errors["partner"] = CONSENT_PARTNER if share else CONSENT_NO_PARTNER
    if parsed is not None and not errors:
        try:
            consent = parsed.consent()
        except ValueError:
            share = parsed.purpose.value == "share_with_partner"
            errors = {"partner": CONSENT_PARTNER if share else CONSENT_NO_PARTNER}
    if errors or parsed is None:
        return _consent_page(request, db, access, values=values, errors=errors, status=422)
    consents.add(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        consent=consent,
        now=_now(request),
    )
    return back_to(access.case.id, "consents", "consent_recorded")


def _given_at(day: str) -> str:
    """A day typed in the form as the API's time: midday UTC of that day."""
    day = day.strip()
    return f"{day}T12:00:00Z" if len(day) == 10 else day


def _consent_field(loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else "form"
    return {"given_at": "given_on"}.get(name, name if name in CONSENT_FIELDS else "partner")


@router.get("/cases/{case_id}/consents/{consent_id}/withdraw")
def withdraw_form(
    consent_id: uuid.UUID, request: Request, db: DbSession, access: CaseWrite
) -> Response:
    """Ask before withdrawing: a withdrawal cannot be undone (a new consent is recorded
    instead), and one to share blocks the partner's referrals not yet sent."""
    consent = consents.one(
        db, keyring=_keyring(request), actor=access.actor, case=access.case, consent_id=consent_id
    )
    partner = None
    if consent.partner is not None:
        names = {p.id: p.name for p in referrals.list_partners(db)}
        partner = names.get(consent.partner)
    context = {
        **case_header(db, access, now=_now(request)),
        "tab": "file",
        "consent": consent,
        "partner": partner,
        "sharing": consent.purpose is ConsentPurpose.SHARE_WITH_PARTNER,
    }
    return render(request, "cases/file/consent_withdraw.html", context)


@router.post("/cases/{case_id}/consents/{consent_id}/withdraw")
def withdraw_consent(
    consent_id: uuid.UUID, request: Request, db: DbSession, access: CaseWrite
) -> Response:
    """Withdraw one consent now (the API's POST .../withdraw); the others stay."""
    consents.withdraw(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        consent_id=consent_id,
        now=_now(request),
    )
    return back_to(access.case.id, "consents", "consent_withdrawn")
