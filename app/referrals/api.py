"""Partner and referral routes: HTTP in, service calls, JSON (or the packet file) out."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.deps import DbSession
from app.deps import request_keyring as _keyring
from app.deps import request_now as _now
from app.openapi import errors
from app.pagination import Page, PageQuery, page_of
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.referrals import service
from app.referrals.dependencies import CaseReferrals, ReferralCreate, ReferralRead, ReferralWrite
from app.referrals.models import Partner
from app.referrals.schemas import (
    PartnerConfirmIn,
    PartnerIn,
    PartnerOut,
    ReferralIn,
    ReferralOut,
    ReferralStatusIn,
)

router = APIRouter(prefix="/api/v1", tags=["referrals"])


def _partner(partner: Partner) -> PartnerOut:
    return PartnerOut.model_validate(service.partner_view(partner))


@router.get("/partners", response_model=Page[PartnerOut])
def list_partners(
    q: Annotated[PageQuery, Query()],
    db: DbSession,
    actor: Actor = require(Permission.PARTNER_READ),
) -> Page[PartnerOut]:
    """Partner organisations: name, services, countries, public key and its fingerprint."""
    return page_of([_partner(p) for p in service.list_partners(db)], q)


@router.post("/partners", status_code=201, response_model=PartnerOut, responses=errors(409))
def create_partner(
    body: PartnerIn,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.PARTNER_WRITE),
) -> PartnerOut:
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
    return _partner(partner)


@router.post(
    "/partners/{partner_id:uuid}/confirm", response_model=PartnerOut, responses=errors(404)
)
def confirm_partner(
    partner_id: uuid.UUID,
    body: PartnerConfirmIn,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.PARTNER_CONFIRM),
) -> PartnerOut:
    """A coordinator vouches for the partner's key: `key_id` as the partner read it out over
    another channel (422 naming `key_id` if it differs). Referrals go only to confirmed
    partners; one a coordinator registered is confirmed already."""
    partner = service.confirm_partner(
        db, actor=actor, partner_id=partner_id, key_id=body.key_id, now=_now(request)
    )
    return _partner(partner)


@router.post(
    "/cases/{case_id:uuid}/referrals",
    status_code=201,
    response_model=ReferralOut,
    responses=errors(409),
)
def create_referral(
    body: ReferralIn, request: Request, db: DbSession, access: ReferralCreate
) -> ReferralOut:
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
    return ReferralOut.model_validate(
        service.describe(db, keyring=_keyring(request), case=access.case, ref=ref)
    )


@router.get("/cases/{case_id:uuid}/referrals", response_model=Page[ReferralOut])
def list_referrals(
    q: Annotated[PageQuery, Query()], request: Request, db: DbSession, access: CaseReferrals
) -> Page[ReferralOut]:
    """The case's referrals with status, chosen fields and note."""
    found = service.list_referrals(
        db, keyring=_keyring(request), actor=access.actor, case=access.case
    )
    return page_of([ReferralOut.model_validate(r) for r in found], q)


@router.patch("/referrals/{referral_id:uuid}", response_model=ReferralOut, responses=errors(409))
def update_referral(
    body: ReferralStatusIn, request: Request, db: DbSession, access: ReferralWrite
) -> ReferralOut:
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
    return ReferralOut.model_validate(
        service.describe(db, keyring=_keyring(request), case=access.case, ref=access.referral)
    )


@router.get(
    "/referrals/{referral_id:uuid}/packet",
    response_class=Response,
    responses={
        200: {
            "description": "The packet, encrypted to the partner's key, as an attachment.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **errors(409),
    },
)
def referral_packet(request: Request, db: DbSession, access: ReferralRead) -> Response:
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
