"""Partner and referral routes: HTTP in, service calls, JSON (or the packet file) out."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.policy.scope import CaseAccess, ReferralAccess, readable_case, readable_referral
from app.referrals import service
from app.referrals.schemas import PartnerConfirmIn, PartnerIn, ReferralIn, ReferralStatusIn

router = APIRouter(prefix="/api/v1", tags=["referrals"])


@router.get("/partners")
def list_partners(
    db: DbSession, actor: Actor = require(Permission.PARTNER_READ)
) -> list[dict[str, Any]]:
    """Partner organisations: name, services, countries, public key and its fingerprint."""
    return [service.partner_view(p) for p in service.list_partners(db)]


@router.post("/partners", status_code=201)
def create_partner(
    body: PartnerIn,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.PARTNER_WRITE),
) -> dict[str, Any]:
    """A new partner; `public_key` as printed by `haven partner keygen` (422 otherwise)."""
    partner = service.create_partner(
        db,
        actor=actor,
        name=body.name,
        services=[s.value for s in body.services],
        countries=body.countries,
        public_key=body.public_key,
        now=_now(request),
    )
    return service.partner_view(partner)


@router.post("/partners/{partner_id}/confirm")
def confirm_partner(
    partner_id: uuid.UUID,
    body: PartnerConfirmIn,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.PARTNER_CONFIRM),
) -> dict[str, Any]:
    """A coordinator vouches for the partner's key: `key_id` as the partner read it out over
    another channel (422 naming `key_id` if it differs). Referrals go only to confirmed
    partners; one a coordinator registered is confirmed already."""
    partner = service.confirm_partner(
        db, actor=actor, partner_id=partner_id, key_id=body.key_id, now=_now(request)
    )
    return service.partner_view(partner)


@router.post("/cases/{case_id}/referrals", status_code=201)
def create_referral(
    body: ReferralIn,
    request: Request,
    db: DbSession,
    access: CaseAccess = readable_case(Permission.REFERRAL_WRITE),
) -> dict[str, Any]:
    """A draft referral; 409 `share_consent_required` without an active consent to share
    with exactly that partner."""
    ref = service.create_referral(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        partner_id=body.partner_id,
        fields=body.fields,
        note=body.note,
        now=_now(request),
    )
    return service.describe(db, keyring=_keyring(request), case=access.case, ref=ref)


@router.get("/cases/{case_id}/referrals")
def list_referrals(
    request: Request,
    db: DbSession,
    access: CaseAccess = readable_case(Permission.REFERRAL_READ),
) -> list[dict[str, Any]]:
    """The case's referrals with status, chosen fields and note."""
    return service.list_referrals(
        db, keyring=_keyring(request), actor=access.actor, case=access.case
    )


@router.patch("/referrals/{referral_id}")
def update_referral(
    body: ReferralStatusIn,
    request: Request,
    db: DbSession,
    access: ReferralAccess = readable_referral(Permission.REFERRAL_WRITE),
) -> dict[str, Any]:
    """Change the status; `sent` seals the packet to the partner's key. 409 for a move the
    status machine does not allow, or a send without (or after withdrawn) consent."""
    service.change_status(
        db,
        keyring=_keyring(request),
        actor=access.actor,
        case=access.case,
        ref=access.referral,
        status=body.status,
        now=_now(request),
    )
    return service.describe(db, keyring=_keyring(request), case=access.case, ref=access.referral)


@router.get(
    "/referrals/{referral_id}/packet",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def referral_packet(
    request: Request,
    db: DbSession,
    access: ReferralAccess = readable_referral(Permission.REFERRAL_READ),
) -> Response:
    """The packet file (encrypted to the partner's key) to hand to the partner, who opens
    it with `haven referral open PACKET --key FILE`."""
    data = service.read_packet(
        db, keyring=_keyring(request), actor=access.actor, case=access.case, ref=access.referral
    )
    name = service.packet_filename(access.case, access.referral)
    return Response(
        data,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
