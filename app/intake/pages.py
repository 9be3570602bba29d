"""The page /request: the public self-referral form. No JavaScript, nothing loaded from
elsewhere (works in Tor Browser at its Safest level), in the visitor's language; a failed
form comes back filled in with a plain message beside the field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from app.cases.labels import channel_choices
from app.deps import AppSettings, DbSession
from app.errors import HavenError
from app.forms import text_form
from app.i18n import LazyText, lazy
from app.i18n.countries import country_groups
from app.intake import service
from app.intake.form_errors import field_errors
from app.intake.schemas import RequestIn
from app.policy.deps import PUBLIC
from app.security.form_token import FIELD, PreSessionForm
from app.users.auth_api import client_address
from app.web import render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

REQUEST_FORM = PreSessionForm(cookie="haven_request_form", purpose="intake-form-csrf")
TEXT_FIELDS = (
    "pseudonym",
    "contact_channel",
    "contact_value",
    "contact2_channel",
    "contact2_value",
    "message",
    "citizenship",
    "current_country",
)
_FORM_MAX = 6_000  # longest single form value accepted (message max is 5000)
FORM_EXPIRED = lazy("The form expired. Please check it and send it again.")


def _render(
    request: Request,
    *,
    values: dict[str, str],
    errors: dict[str, LazyText],
    status: int = 200,
) -> Response:
    token = REQUEST_FORM.token_for(request)
    context: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "csrf_token": token,
        "channels": channel_choices(),
        "countries": country_groups,
    }
    response = render(request, "intake/request.html", context, status)
    REQUEST_FORM.attach(response, token, request.app.state.settings)
    return response


@router.get("/request", dependencies=PUBLIC)
def request_form(request: Request) -> Response:
    """The empty form."""
    return _render(request, values={}, errors={})


def _payload(values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """RequestIn's input, and which form fields (contact, contact2) its contacts came from."""
    prefixes = [p for p in ("contact", "contact2") if values.get(f"{p}_value")]
    contacts = [
        {"channel": values.get(f"{p}_channel") or "other", "value": values[f"{p}_value"]}
        for p in prefixes
    ]
    payload: dict[str, Any] = {
        "pseudonym": values.get("pseudonym", ""),
        "contacts": contacts,
        "message": values.get("message", ""),
    }
    for name in ("citizenship", "current_country"):
        if values.get(name):
            payload[name] = values[name]
    return payload, prefixes


@router.post("/request", dependencies=PUBLIC)
async def request_submit(request: Request, db: DbSession, settings: AppSettings) -> Response:
    """Check the form token, validate, store encrypted; 303 to the thank-you page."""
    form = await text_form(request)
    values = {k: v[:_FORM_MAX] for k in TEXT_FIELDS if isinstance(v := form.get(k), str)}
    if not REQUEST_FORM.accepts(request, form.get(FIELD)):
        return _render(request, values=values, errors={"form": FORM_EXPIRED}, status=403)
    payload, prefixes = _payload(values)
    try:
        data = RequestIn.model_validate(payload)
    except ValidationError as exc:
        errors = field_errors(exc, values, prefixes)
        return _render(request, values=values, errors=dict(errors), status=422)
    try:
        service.receive_request(
            db,
            keyring=request.app.state.keyring,
            settings=settings,
            data=data,
            address=client_address(request),
            now=request.app.state.clock.now(),
        )
    except HavenError as exc:
        db.rollback()
        errors = {"form": LazyText(exc.message)}
        return _render(request, values=values, errors=errors, status=exc.status)
    return see_other("/request/sent")


@router.get("/request/sent", dependencies=PUBLIC)
def request_sent(request: Request) -> Response:
    """The thank-you page (it shows nothing about the request)."""
    return render(request, "intake/sent.html")
