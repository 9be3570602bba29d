"""The referrals of a case, as pages: the list with status, a new referral (a confirmed
partner, shown with its key's fingerprint, and the case fields ticked one by one, none ticked
for you), sending (the packet sealed to the partner's key), the later status changes and the
packet's download once sent.

Same services as the API (app/referrals/service.py): consent, the fields a role may share,
the status machine and the partner's confirmation are decided there, never here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.cases.page_header import case_header
from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.errors import HavenError, InvalidInput
from app.forms import read_form, read_lists, validate
from app.i18n import LazyText, lazy
from app.policy.access import CaseAccess
from app.referrals import service
from app.referrals.dependencies import CaseReferrals, ReferralCreate, ReferralRead, ReferralWrite
from app.referrals.errors import ShareConsentRequired
from app.referrals.rules import NEXT, ReferralStatus
from app.referrals.schemas import ReferralIn, ReferralStatusIn
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

STATUSES: dict[ReferralStatus, LazyText] = {
    ReferralStatus.DRAFT: lazy("Prepared, not sent"),
    ReferralStatus.SENT: lazy("Sent"),
    ReferralStatus.ACCEPTED: lazy("Accepted by the partner"),
    ReferralStatus.DECLINED: lazy("Declined by the partner"),
    ReferralStatus.COMPLETED: lazy("Completed"),
}
# The button that moves a referral to each status.
MOVES: dict[ReferralStatus, LazyText] = {
    # Haven delivers nothing: sending seals the packet, which the coordinator then delivers.
    ReferralStatus.SENT: lazy("Seal the packet for the partner"),
    ReferralStatus.ACCEPTED: lazy("The partner accepted"),
    ReferralStatus.DECLINED: lazy("The partner declined"),
    ReferralStatus.COMPLETED: lazy("Mark completed"),
}
CHOOSE_PARTNER = lazy("Choose a partner from the list.")
TICK_FIELDS = lazy("Tick at least one thing to share.")
NO_CONSENT = lazy(
    "The person has not agreed to sharing with this partner. Record that consent on the "
    "case file first."
)
NOT_SHAREABLE = lazy("Tick only things from the list.")
# What a refused status change says, by the service's error code.
REFUSALS: dict[str, LazyText] = {
    "share_consent_required": NO_CONSENT,
    "referral_blocked": lazy(
        "The person withdrew consent to sharing with this partner: this referral cannot go out."
    ),
    "partner_unconfirmed": lazy(
        "No coordinator has confirmed this partner's key yet. Compare its fingerprint with the "
        "partner over another channel, then confirm it on the partners page."
    ),
    "referral_status_not_allowed": lazy(
        "The referral cannot move to that status from where it is now."
    ),
}
_MESSAGES = {
    "partner_id": dict.fromkeys(("uuid_parsing", "uuid_type", "missing"), CHOOSE_PARTNER),
    "fields": {"too_short": TICK_FIELDS, "missing": TICK_FIELDS, "value_error": NOT_SHAREABLE},
}


def _field_of(loc: tuple[int | str, ...]) -> str:
    return str(loc[0]) if loc else "form"


def _page(
    request: Request,
    db: Session,
    access: CaseAccess,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, LazyText] | None = None,
    status: int = 200,
) -> Response:
    """The list, and the form of a new referral (ticked fields kept after an error)."""
    referrals = service.list_referrals(
        db, keyring=_keyring(request), actor=access.actor, case=access.case
    )
    rows = [
        r
        | {
            "status_label": STATUSES[ReferralStatus(r["status"])],
            "moves": [(s.value, MOVES[s]) for s in sorted(NEXT[ReferralStatus(r["status"])])],
            "created_at": datetime.fromisoformat(r["created_at"]),
            "sent_at": datetime.fromisoformat(r["sent_at"]) if r["sent_at"] else None,
        }
        for r in referrals
    ]
    agreed = service.consented_partners(db, keyring=_keyring(request), case=access.case)
    partners = [
        service.partner_view(p) | {"consented": p.id in agreed}
        for p in service.confirmed_partners(db)
    ]
    context = case_header(db, access, now=_now(request)) | {
        "tab": "referrals",
        "referrals": rows,
        "partners": partners,
        "shareable": service.shareable_fields(access.actor),
        "values": values or {"fields": []},
        "errors": errors or {},
    }
    return render(request, "referrals/list.html", context, status)


@router.get("/cases/{case_id}/referrals")
def referrals_page(request: Request, db: DbSession, access: CaseReferrals) -> Response:
    """The case's referrals and the form of a new one."""
    return _page(request, db, access)


@router.post("/cases/{case_id}/referrals")
async def create_referral(request: Request, db: DbSession, access: ReferralCreate) -> Response:
    """A draft referral of the ticked fields to a confirmed partner (the API's create)."""
    values: dict[str, Any] = await read_form(request, ("partner_id", "note"))
    values |= await read_lists(request, ("fields",))
    payload: dict[str, Any] = {"partner_id": values.get("partner_id") or None}
    payload["fields"] = values["fields"]
    if values.get("note", "").strip():
        payload["note"] = values["note"]
    parsed, errors = validate(ReferralIn, payload, field_of=_field_of, messages=_MESSAGES)
    if parsed is not None:
        try:
            with db.begin_nested():  # a refusal leaves nothing written
                service.create_referral(
                    db,
                    keyring=_keyring(request),
                    actor=access.actor,
                    case=access.case,
                    partner_id=parsed.partner_id,
                    fields=parsed.fields,
                    note=parsed.note,
                    now=_now(request),
                )
        except ShareConsentRequired:
            errors = {"partner_id": NO_CONSENT}
        except InvalidInput as exc:
            field = str(exc.extra["errors"][0]["field"])
            errors = {field: CHOOSE_PARTNER if field == "partner_id" else NOT_SHAREABLE}
    if errors:
        return _page(request, db, access, values=values, errors=errors, status=422)
    return see_other(f"/cases/{access.case.id}/referrals", done="referral_drafted")


@router.post("/referrals/{referral_id}/status")
async def change_status(request: Request, db: DbSession, access: ReferralWrite) -> Response:
    """Move the referral on; `sent` seals the packet to the partner's key (the API's PATCH)."""
    values = await read_form(request, ("status",))
    parsed, errors = validate(ReferralStatusIn, values)
    case_access = CaseAccess(actor=access.actor, case=access.case)
    if parsed is None:
        return _page(request, db, case_access, errors={"status": errors["status"]}, status=422)
    try:
        with db.begin_nested():
            service.change_status(
                db,
                keyring=_keyring(request),
                actor=access.actor,
                case=access.case,
                ref=access.referral,
                status=parsed.status,
                now=_now(request),
            )
    except HavenError as exc:  # consent withdrawn, key unconfirmed, a move not allowed
        errors = {"status": REFUSALS.get(exc.code, lazy("This change could not be made."))}
        return _page(request, db, case_access, errors=errors, status=exc.status)
    done = "referral_sent" if parsed.status is ReferralStatus.SENT else "referral_updated"
    return see_other(f"/cases/{access.case.id}/referrals", done=done)


@router.get("/referrals/{referral_id}/packet")
def referral_packet(request: Request, db: DbSession, access: ReferralRead) -> Response:
    """The packet file, sealed to the partner's key, as an attachment (the API's download)."""
    data = service.read_packet(
        db, keyring=_keyring(request), actor=access.actor, case=access.case, ref=access.referral
    )
    name = service.packet_filename(access.case, access.referral)
    return Response(
        data,
        media_type="application/json",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )
