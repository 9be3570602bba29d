"""The page /request: the public self-referral form. No JavaScript, nothing loaded from
elsewhere (works in Tor Browser at its Safest level); a failed form comes back filled in
with the message beside the field."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from app.cases.vocab import ContactChannel
from app.config import Settings
from app.deps import AppSettings, DbSession
from app.errors import HavenError
from app.intake import form_token, service
from app.intake.schemas import RequestIn
from app.policy.deps import PUBLIC
from app.users.auth_api import client_address

router = APIRouter(tags=["pages"], include_in_schema=False)

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


def _render(
    request: Request,
    settings: Settings,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    token = form_token.issue(request.app.state.keyring, request.app.state.clock.now())
    context: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "csrf_token": token,
        "channels": [c.value for c in ContactChannel],
    }
    response: Response = request.app.state.templates.TemplateResponse(
        request, "intake/request.html", context, status_code=status
    )
    response.set_cookie(
        form_token.cookie_name(settings),
        token,
        max_age=int(form_token.MAX_AGE.total_seconds()),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )
    return response


@router.get("/request", dependencies=PUBLIC)
def request_form(request: Request, settings: AppSettings) -> Response:
    """The empty form."""
    return _render(request, settings, values={}, errors={})


def _payload(values: dict[str, str]) -> dict[str, Any]:
    contacts = [
        {"channel": values.get(f"{p}_channel") or "other", "value": values[f"{p}_value"]}
        for p in ("contact", "contact2")
        if values.get(f"{p}_value")
    ]
    payload: dict[str, Any] = {
        "pseudonym": values.get("pseudonym", ""),
        "contacts": contacts,
        "message": values.get("message", ""),
    }
    for name in ("citizenship", "current_country"):
        if values.get(name):
            payload[name] = values[name]
    return payload


def _form_field(loc: tuple[int | str, ...]) -> str:
    """The form field an error of RequestIn belongs to."""
    if loc and loc[0] == "contacts":
        prefix = "contact2" if len(loc) > 1 and loc[1] == 1 else "contact"
        return f"{prefix}_channel" if "channel" in loc else f"{prefix}_value"
    return str(loc[0]) if loc else "form"


def _errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors():
        # The message names the rule; the submitted value is never echoed in it.
        out.setdefault(
            _form_field(tuple(err["loc"])), str(err["msg"]).removeprefix("Value error, ")
        )
    return out


@router.post("/request", dependencies=PUBLIC)
async def request_submit(request: Request, db: DbSession, settings: AppSettings) -> Response:
    """Check the form token, validate, store encrypted; 303 to the thank-you page."""
    form = await request.form()
    values = {k: v[:_FORM_MAX] for k in TEXT_FIELDS if isinstance(v := form.get(k), str)}
    submitted = form.get(form_token.FIELD)
    now = request.app.state.clock.now()
    if not form_token.valid(
        request.app.state.keyring,
        cookie=request.cookies.get(form_token.cookie_name(settings)),
        submitted=submitted if isinstance(submitted, str) else None,
        now=now,
    ):
        errors = {"form": "The form expired. Please check it and send it again."}
        return _render(request, settings, values=values, errors=errors, status=403)
    try:
        data = RequestIn.model_validate(_payload(values))
    except ValidationError as exc:
        return _render(request, settings, values=values, errors=_errors(exc), status=422)
    try:
        service.receive_request(
            db,
            keyring=request.app.state.keyring,
            settings=settings,
            data=data,
            address=client_address(request),
            now=now,
        )
    except HavenError as exc:
        db.rollback()
        errors = {"form": exc.message}
        return _render(request, settings, values=values, errors=errors, status=exc.status)
    return RedirectResponse("/request/sent", status_code=303)


@router.get("/request/sent", dependencies=PUBLIC)
def request_sent(request: Request) -> Response:
    """The thank-you page (it shows nothing about the request)."""
    response: Response = request.app.state.templates.TemplateResponse(
        request, "intake/sent.html", {}
    )
    return response
