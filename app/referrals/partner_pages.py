"""The partners page: partner organisations with their public keys, the fingerprint shown in
groups to read aloud, a coordinator's confirmation of it, and the form that adds a partner.

Referrals go only to a partner whose key a coordinator vouched for: by entering the key
themselves, or by comparing its fingerprint with the partner over another channel (a phone
call, a meeting) and confirming it here. The page calls the API's own services."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.cases.labels import NEEDS
from app.cases.vocab import Need
from app.deps import DbSession
from app.deps import request_now as _now
from app.errors import InvalidInput
from app.forms import read_form, read_lists, validate
from app.i18n import LazyText, lazy
from app.i18n.countries import country_groups, country_name
from app.policy.deps import Actor, require
from app.policy.permissions import Permission
from app.referrals import service
from app.referrals.errors import PartnerExists
from app.referrals.schemas import PartnerConfirmIn, PartnerIn, PartnerOut
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

ADD_FIELDS = ("name", "country", "public_key")
KEY_FORMAT = lazy("Paste the key exactly as “haven partner keygen” printed it.")
NAME_TAKEN = lazy("A partner with this name exists already.")
FINGERPRINT_FORMAT = lazy("Write the 16 letters and digits of the fingerprint (spaces allowed).")
FINGERPRINT_DIFFERS = lazy(
    "This is not the fingerprint of the key we hold. Do not send anything to this partner; "
    "ask how they sent you their key."
)


def grouped(key_id: str) -> str:
    """A fingerprint in groups of four, to read aloud: `3f2a 9c41 07be d5e8`."""
    return " ".join(key_id[i : i + 4] for i in range(0, len(key_id), 4))


def _page(
    request: Request,
    db: DbSession,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, LazyText] | None = None,
    status: int = 200,
) -> Response:
    partners = [
        PartnerOut.model_validate(service.partner_view(p)) for p in service.list_partners(db)
    ]
    context: dict[str, Any] = {
        "partners": partners,
        "values": values or {"services": []},
        "errors": errors or {},
        "can_add": actor.can(Permission.PARTNER_WRITE),
        "can_confirm": actor.can(Permission.PARTNER_CONFIRM),
        "needs": [(n.value, NEEDS[n]) for n in Need],
        "countries": country_groups,
        "country_name": country_name,
        "grouped": grouped,
    }
    return render(request, "referrals/partners.html", context, status)


@router.get("/partners")
def partners(
    request: Request, db: DbSession, actor: Actor = require(Permission.PARTNER_READ)
) -> Response:
    """Every partner with its key's fingerprint and whether it is confirmed."""
    return _page(request, db, actor)


@router.post("/partners")
async def add_partner(
    request: Request, db: DbSession, actor: Actor = require(Permission.PARTNER_WRITE)
) -> Response:
    """Add a partner; the form comes back filled in, each error beside its field."""
    values: dict[str, Any] = await read_form(request, ADD_FIELDS)
    values["services"] = (await read_lists(request, ["services"]))["services"]
    payload: dict[str, Any] = {
        "name": values.get("name", ""),
        "services": values["services"],
        "countries": [values["country"]] if values.get("country") else [],
        "public_key": values.get("public_key", ""),
    }
    parsed, errors = validate(
        PartnerIn,
        payload,
        field_of=lambda loc: "country" if loc and loc[0] == "countries" else str(loc[0]),
        messages={"public_key": {"value_error": KEY_FORMAT, "string_too_long": KEY_FORMAT}},
    )
    if parsed is None:
        return _page(request, db, actor, values=values, errors=errors, status=422)
    try:
        service.create_partner(
            db,
            actor=actor,
            name=parsed.name,
            services=[s.value for s in parsed.services],
            countries=parsed.countries,
            public_key=parsed.public_key,
            now=_now(request),
        )
    except PartnerExists:
        errors = {"name": NAME_TAKEN}
        return _page(request, db, actor, values=values, errors=errors, status=409)
    return see_other("/partners", done="partner_added")


@router.post("/partners/{partner_id}/confirm")
async def confirm_partner(
    partner_id: uuid.UUID,
    request: Request,
    db: DbSession,
    actor: Actor = require(Permission.PARTNER_CONFIRM),
) -> Response:
    """Confirm the fingerprint the partner read out; refused when it is not this key's."""
    typed = (await read_form(request, ["key_id"])).get("key_id", "")
    field = f"key_id-{partner_id}"
    values: dict[str, Any] = {"services": [], field: typed}
    parsed, _ = validate(PartnerConfirmIn, {"key_id": typed})
    if parsed is None:
        errors = {field: FINGERPRINT_FORMAT}
        return _page(request, db, actor, values=values, errors=errors, status=422)
    try:
        service.confirm_partner(
            db, actor=actor, partner_id=partner_id, key_id=parsed.key_id, now=_now(request)
        )
    except InvalidInput:
        errors = {field: FINGERPRINT_DIFFERS}
        return _page(request, db, actor, values=values, errors=errors, status=422)
    return see_other("/partners", done="partner_confirmed")
